//! Optional human verification of html forms: the token a Cloudflare Turnstile, hCaptcha or
//! reCAPTCHA widget puts in the form is checked with the provider's siteverify API (through
//! the app's [`Fetch`], so tests need no network) before anything is read or stored.
//!
//! A provider is a row of [`PROVIDERS`]: its name in `LEADSCORE_CAPTCHA_PROVIDER`, the form
//! field its widget fills and its siteverify URL. All three take the same form POST
//! (`secret`, `response`, `remoteip`) and answer `{"success": bool, "error-codes": [..]}`.

use crate::{ApiError, ConfigError, Fetch};
use std::net::IpAddr;

/// Which provider verifies html forms; unset or empty: no human verification.
pub const CAPTCHA_PROVIDER_VAR: &str = "LEADSCORE_CAPTCHA_PROVIDER";
/// The provider's secret key. Not `LEADSCORE_SECRET_*`: those name webhook sources.
pub const CAPTCHA_SECRET_VAR: &str = "LEADSCORE_CAPTCHA_SECRET";

pub(crate) struct Provider {
    pub(crate) name: &'static str,
    /// The form field the widget fills with its token.
    pub(crate) field: &'static str,
    pub(crate) verify_url: &'static str,
}

pub(crate) const PROVIDERS: &[Provider] = &[
    Provider {
        name: "turnstile",
        field: "cf-turnstile-response",
        verify_url: "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    },
    Provider {
        name: "hcaptcha",
        field: "h-captcha-response",
        verify_url: "https://api.hcaptcha.com/siteverify",
    },
    Provider {
        name: "recaptcha",
        field: "g-recaptcha-response",
        verify_url: "https://www.google.com/recaptcha/api/siteverify",
    },
];

/// Error codes that mean our secret is wrong, not the visitor's token: every form would be
/// refused, so they answer 500 and the cause goes to the log.
const SECRET_ERRORS: &[&str] = &[
    "missing-input-secret",
    "invalid-input-secret",
    "sitekey-secret-mismatch",
];

/// The configured verification: a provider and its secret (never shown by Debug or logs).
pub(crate) struct Captcha {
    pub(crate) provider: &'static Provider,
    secret: String,
}

impl Captcha {
    /// From the two variables: both set, or neither (no verification). Anything else stops
    /// the start.
    pub(crate) fn from_vars(
        provider: Option<&str>,
        secret: Option<&str>,
    ) -> Result<Option<Captcha>, ConfigError> {
        let provider = provider.map(str::trim).filter(|p| !p.is_empty());
        let secret = secret.map(str::trim).filter(|s| !s.is_empty());
        let names = || {
            PROVIDERS
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match (provider, secret) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(ConfigError(format!(
                "{CAPTCHA_SECRET_VAR} is set but {CAPTCHA_PROVIDER_VAR} is not: name the \
                 provider that verifies html forms ({})",
                names()
            ))),
            (Some(name), secret) => {
                let provider = PROVIDERS
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "{CAPTCHA_PROVIDER_VAR}={name:?} is not a provider leadscore \
                             verifies: {}",
                            names()
                        ))
                    })?;
                let secret = secret.ok_or_else(|| {
                    ConfigError(format!(
                        "{CAPTCHA_PROVIDER_VAR}={} needs {CAPTCHA_SECRET_VAR}: the secret key \
                         of the site's widget",
                        provider.name
                    ))
                })?;
                Ok(Some(Captcha {
                    provider,
                    secret: secret.to_string(),
                }))
            }
        }
    }

    /// Asks the provider about `token`. A missing token or one the provider refuses is 403;
    /// a provider that cannot be reached (or answers nonsense) is 503, so the visitor may
    /// retry.
    pub(crate) async fn verify(
        &self,
        fetch: &dyn Fetch,
        token: Option<&str>,
        client_ip: Option<IpAddr>,
    ) -> Result<(), ApiError> {
        let provider = self.provider;
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Forbidden(format!(
                    "human verification is required: the form has no {} field ({} widget)",
                    provider.field, provider.name
                ))
            })?;
        let ip = client_ip.map(|ip| ip.to_string());
        let mut form = vec![("secret", self.secret.as_str()), ("response", token)];
        if let Some(ip) = &ip {
            form.push(("remoteip", ip.as_str()));
        }
        let answer = fetch
            .post_form(provider.verify_url, &form)
            .await
            .map_err(|e| ApiError::Unavailable(format!("{} siteverify: {e}", provider.name)))?;
        let answer: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| {
            ApiError::Unavailable(format!(
                "{} siteverify answered no JSON: {e}",
                provider.name
            ))
        })?;
        let codes: Vec<&str> = answer["error-codes"]
            .as_array()
            .map(|codes| codes.iter().filter_map(|c| c.as_str()).collect())
            .unwrap_or_default();
        match answer["success"].as_bool() {
            Some(true) => Ok(()),
            // Turnstile's own failure: "the request can be retried".
            Some(false) if codes.contains(&"internal-error") => Err(ApiError::Unavailable(
                format!("{} siteverify: internal-error", provider.name),
            )),
            Some(false) if codes.iter().any(|c| SECRET_ERRORS.contains(c)) => {
                Err(ApiError::Internal(format!(
                    "{} refused {CAPTCHA_SECRET_VAR}: {}",
                    provider.name,
                    codes.join(", ")
                )))
            }
            Some(false) => Err(ApiError::Forbidden(format!(
                "human verification failed ({}): {}",
                provider.name,
                if codes.is_empty() {
                    "the token was refused".to_string()
                } else {
                    codes.join(", ")
                }
            ))),
            None => Err(ApiError::Unavailable(format!(
                "{} siteverify answered without `success`",
                provider.name
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_variables_or_neither() {
        assert!(Captcha::from_vars(None, None).unwrap().is_none());
        assert!(Captcha::from_vars(Some(" "), Some("")).unwrap().is_none());
        let c = Captcha::from_vars(Some("Turnstile"), Some("0x4AAA")).unwrap();
        assert_eq!(c.unwrap().provider.field, "cf-turnstile-response");
        for (provider, secret, says) in [
            (None, Some("0x4AAA"), "LEADSCORE_CAPTCHA_PROVIDER is not"),
            (Some("hcaptcha"), None, "needs LEADSCORE_CAPTCHA_SECRET"),
            (
                Some("friendly"),
                Some("x"),
                "turnstile, hcaptcha, recaptcha",
            ),
        ] {
            let err = Captcha::from_vars(provider, secret).err().unwrap().0;
            assert!(err.contains(says), "{provider:?}: {err}");
        }
    }
}
