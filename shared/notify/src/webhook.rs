//! Outbound webhooks signed per Standard Webhooks (<https://www.standardwebhooks.com>):
//! `webhook-id`, `webhook-timestamp` (unix seconds of the attempt), `webhook-signature:
//! v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` where the key is the base64 part
//! of the receiver's `whsec_...` secret. Receivers are data: `LEADSCORE_WEBHOOK_<NAME>=<url>`,
//! `LEADSCORE_WEBHOOK_SECRET_<NAME>=whsec_...`, optional `LEADSCORE_WEBHOOK_TYPES_<NAME>`.

use crate::{ConfigError, Failure, Outgoing, Sink, KINDS};
use async_trait::async_trait;
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const WEBHOOK_VAR_PREFIX: &str = "LEADSCORE_WEBHOOK_";
pub const WEBHOOK_SECRET_PREFIX: &str = "LEADSCORE_WEBHOOK_SECRET_";
pub const WEBHOOK_TYPES_PREFIX: &str = "LEADSCORE_WEBHOOK_TYPES_";

/// A signing key: the bytes of a `whsec_<base64>` secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// `whsec_` followed by base64 of at least 16 bytes (the spec's 24 to 64 recommended).
    pub fn parse(secret: &str) -> Result<SigningKey, String> {
        let encoded = secret
            .trim()
            .strip_prefix("whsec_")
            .ok_or("must be `whsec_` followed by base64")?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "the part after `whsec_` is not base64")?;
        if key.len() < 16 {
            return Err(format!(
                "the key is {} bytes; at least 16 (24 to 64 recommended)",
                key.len()
            ));
        }
        Ok(SigningKey(key))
    }

    /// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts any key");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// One receiver, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Lower-case `<NAME>` of its variables.
    pub name: String,
    pub url: url::Url,
    pub key: SigningKey,
    /// Only these types; `None`: every type.
    pub types: Option<BTreeSet<String>>,
}

/// The receivers configured in `vars` (the process environment), by name. An empty URL is
/// no receiver (the template passes empty parameters); a secret or a type filter without a
/// URL, a URL without a secret, a bad URL, secret or type stop the start with a message
/// naming the variable.
pub fn webhooks_from_vars(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<WebhookConfig>, ConfigError> {
    let mut urls = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    let mut types = BTreeMap::new();
    for (name, value) in vars {
        let value = value.trim().to_string();
        if value.is_empty() {
            continue;
        }
        if let Some(n) = name.strip_prefix(WEBHOOK_SECRET_PREFIX) {
            secrets.insert(n.to_string(), value);
        } else if let Some(n) = name.strip_prefix(WEBHOOK_TYPES_PREFIX) {
            types.insert(n.to_string(), value);
        } else if let Some(n) = name.strip_prefix(WEBHOOK_VAR_PREFIX) {
            urls.insert(n.to_string(), value);
        }
    }
    let err = |m: String| ConfigError(m);
    for n in secrets.keys().chain(types.keys()) {
        if !urls.contains_key(n) {
            let which = if secrets.contains_key(n) {
                WEBHOOK_SECRET_PREFIX
            } else {
                WEBHOOK_TYPES_PREFIX
            };
            return Err(err(format!(
                "{which}{n} is set but {WEBHOOK_VAR_PREFIX}{n} (the receiver's URL) is not"
            )));
        }
    }
    let mut out = Vec::new();
    for (n, raw_url) in urls {
        let var = format!("{WEBHOOK_VAR_PREFIX}{n}");
        if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(err(format!(
                "{var}: a receiver's name is letters, digits and `_`"
            )));
        }
        let url = url::Url::parse(&raw_url).map_err(|e| err(format!("{var}: not a URL ({e})")))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(err(format!("{var}: an http(s) URL with a host, please")));
        }
        let secret = secrets.get(&n).ok_or_else(|| {
            err(format!(
                "{var} has no secret: set {WEBHOOK_SECRET_PREFIX}{n}=whsec_<base64> (every \
                 notification is signed; the receiver verifies with the same secret)"
            ))
        })?;
        let key = SigningKey::parse(secret)
            .map_err(|e| err(format!("{WEBHOOK_SECRET_PREFIX}{n}: {e}")))?;
        let filter = match types.get(&n) {
            None => None,
            Some(list) => {
                let mut set = BTreeSet::new();
                for t in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if !KINDS.contains(&t) {
                        return Err(err(format!(
                            "{WEBHOOK_TYPES_PREFIX}{n}: unknown type {t:?} (types: {})",
                            KINDS.join(", ")
                        )));
                    }
                    set.insert(t.to_string());
                }
                Some(set)
            }
        };
        out.push(WebhookConfig {
            name: n.to_ascii_lowercase(),
            url,
            key,
            types: filter,
        });
    }
    Ok(out)
}

/// How a receiver's answer is taken: 2xx delivered; 408 and 429 (and 5xx, anything else)
/// retried; other 4xx refused for good.
pub fn classify(status: u16) -> Result<(), Failure> {
    match status {
        200..=299 => Ok(()),
        408 | 429 => Err(Failure::Retryable(format!("HTTP {status}"))),
        400..=499 => Err(Failure::Permanent(format!("HTTP {status}"))),
        _ => Err(Failure::Retryable(format!("HTTP {status}"))),
    }
}

/// One receiver.
pub struct WebhookSink {
    config: WebhookConfig,
    destination: String,
    client: reqwest::Client,
}

impl WebhookSink {
    pub fn new(config: WebhookConfig) -> WebhookSink {
        let client = reqwest::Client::builder()
            // A receiver's redirect is not followed: the signature is for its URL.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("leadscore-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        WebhookSink {
            destination: format!("webhook:{}", config.name),
            config,
            client,
        }
    }

    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.destination
    }

    fn wants(&self, kind: &str) -> bool {
        self.config.types.as_ref().is_none_or(|t| t.contains(kind))
    }

    async fn deliver(&self, n: &Outgoing, timeout: Duration) -> Result<(), Failure> {
        let timestamp = unix_now();
        let signature = self.config.key.sign(&n.id, timestamp, &n.body);
        let sent = self
            .client
            .post(self.config.url.clone())
            .timeout(timeout)
            .header("content-type", "application/json")
            .header("webhook-id", &n.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(n.body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) => classify(response.status().as_u16()),
            // Connection refused, reset, timeout, TLS: the receiver may come back.
            Err(e) => Err(Failure::Retryable(describe(&e))),
        }
    }
}

/// A reqwest error without the URL (it could carry a token in its query).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_string(),
    }
}
