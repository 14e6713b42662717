//! The only outbound HTTP the edge makes: fetching an SNS signing certificate and confirming
//! an SNS subscription, at URLs the SES adapter has already checked to be AWS's own, and
//! asking a human-verification provider about an html form's token (its fixed siteverify URL).

use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
pub trait Fetch: Send + Sync {
    /// GETs `url` and returns the body of a 2xx answer.
    async fn get(&self, url: &str) -> Result<Vec<u8>, String>;

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url` and returns the body of a
    /// 2xx answer.
    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Vec<u8>, String>;
}

/// reqwest with rustls and a short timeout: a slow AWS endpoint must not hold a webhook.
pub struct HttpFetch {
    client: reqwest::Client,
}

impl Default for HttpFetch {
    fn default() -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        HttpFetch { client }
    }
}

#[async_trait]
impl Fetch for HttpFetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        body_of(url, self.client.get(url).send().await).await
    }

    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        body_of(url, self.client.post(url).form(form).send().await).await
    }
}

/// The body of a successful answer; any failure or non-2xx status as a message.
async fn body_of(
    url: &str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<Vec<u8>, String> {
    let response = sent.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    Ok(bytes.to_vec())
}
