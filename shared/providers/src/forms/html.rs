//! A plain HTML form. Nothing can sign it: the verifier accepts only listed Origins
//! (`Scheme::Origin`); here a filled honeypot field drops the submission. Rate limiting per IP
//! is the edge's.

use super::{form_body, form_events, Submission};
use crate::fields::Field;
use crate::parse::digest;
use crate::util::{media_type, normalize};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use serde_json::Value;

/// The tokens human-verification widgets add to a form (Turnstile, hCaptcha, reCAPTCHA;
/// hCaptcha fills the last one too). The edge verifies them; they are not the visitor's answers.
const CAPTCHA_FIELDS: &[&str] = &[
    "cf-turnstile-response",
    "h-captcha-response",
    "g-recaptcha-response",
];

/// The form's fields; a submission is identified by its body and its minute.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let media = media_type(inbound).unwrap_or_default();
    let pairs = form_body(inbound, &media)?;
    if pairs.is_empty() {
        return Err(AdapterError::Malformed("the form has no fields".into()));
    }
    let honeypot = pairs
        .iter()
        .any(|(k, v)| !v.trim().is_empty() && ctx.mapping.honeypot_fields.contains(&normalize(k)));
    if honeypot {
        return Ok(Received {
            ignored: 1,
            ..Received::default()
        });
    }
    let mut form = None;
    let mut fields = Vec::new();
    for (k, v) in pairs {
        if matches!(k.as_str(), "form_name" | "_form" | "form") {
            form = Some(v);
        } else if !k.starts_with('_') && !CAPTCHA_FIELDS.contains(&k.as_str()) {
            // `_next`, `_subject`...: instructions to form backends, not answers.
            fields.push(Field::new(k, Value::String(v)));
        }
    }
    // No provider id: the same body within the same minute is the same submission (a double
    // click, a browser retry), dated at the start of that minute.
    let minute = inbound.now.unix_seconds().div_euclid(60);
    let minute_start = leadscore_scoring::Timestamp::from_unix_seconds(minute * 60);
    let minute = minute.to_string();
    let body = String::from_utf8_lossy(inbound.body);
    form_events(
        Submission {
            source: "html",
            provider_id: digest(&[&body, &minute]),
            occurred_at: minute_start,
            form,
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}
