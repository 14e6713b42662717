//! The only outbound HTTP the edge makes: fetching an SNS signing certificate and confirming
//! an SNS subscription, at URLs the SES adapter has already checked to be AWS's own, and
//! asking a human-verification provider about an html form's token (its fixed siteverify URL).
//! A function without those (chatbot-message) links no HTTP client ([`NoFetch`]).

use async_trait::async_trait;
use std::sync::Arc;

#[async_trait]
pub trait Fetch: Send + Sync {
    /// GETs `url` and returns the body of a 2xx answer.
    async fn get(&self, url: &str) -> Result<Vec<u8>, String>;

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url` and returns the body of a
    /// 2xx answer.
    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Vec<u8>, String>;
}

/// The client of a build: reqwest with the feature `fetch`, none without.
pub(crate) fn default_fetch() -> Arc<dyn Fetch> {
    #[cfg(feature = "fetch")]
    return Arc::new(HttpFetch::default());
    #[cfg(not(feature = "fetch"))]
    return Arc::new(NoFetch);
}

/// No outbound HTTP: every call fails (the sources of this build never ask).
pub struct NoFetch;

#[async_trait]
impl Fetch for NoFetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        Err(format!(
            "{url}: this function makes no outbound HTTP requests"
        ))
    }

    async fn post_form(&self, url: &str, _form: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        self.get(url).await
    }
}

/// reqwest with rustls and a short timeout: a slow AWS endpoint must not hold a webhook.
/// The client (its TLS roots and connection pool) is built on the first request, not at
/// start: most invocations never make one.
#[cfg(feature = "fetch")]
#[derive(Default)]
pub struct HttpFetch {
    client: std::sync::OnceLock<reqwest::Client>,
}

#[cfg(feature = "fetch")]
impl HttpFetch {
    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()
                .unwrap_or_default()
        })
    }
}

#[cfg(feature = "fetch")]
#[async_trait]
impl Fetch for HttpFetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        body_of(url, self.client().get(url).send().await).await
    }

    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        body_of(url, self.client().post(url).form(form).send().await).await
    }
}

/// The body of a successful answer; any failure or non-2xx status as a message.
#[cfg(feature = "fetch")]
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
