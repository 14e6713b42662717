//! Form sources: html, typeform, webflow, tally, hubspot, jotform. Each one checks its
//! provider's scheme, then describes the submission as fields for `fields::form_events`.

use crate::auth::{
    check_base64, check_hex, check_token, header, hmac_sha256, timestamp_header, unauthorized,
};
use crate::fields::{form_events, Field, Submission};
use crate::util::{
    at, body_str, check_fresh, digest, form_pairs, normalize, parse_json, query_param,
    require_media_type, require_post, rfc3339, secret, text_at, unix_millis, JSON,
};
use crate::{AdapterError, Context, Inbound, Received};
use serde_json::Value;

const FORM_OR_MULTIPART: &[&str] = &["application/x-www-form-urlencoded", "multipart/form-data"];
/// The tokens human-verification widgets add to a form (Turnstile, hCaptcha, reCAPTCHA;
/// hCaptcha fills the last one too). The edge verifies them; they are not the visitor's answers.
const CAPTCHA_FIELDS: &[&str] = &[
    "cf-turnstile-response",
    "h-captcha-response",
    "g-recaptcha-response",
];

/// Fields of a urlencoded or multipart body.
fn form_body(inbound: &Inbound<'_>, media: &str) -> Result<Vec<(String, String)>, AdapterError> {
    body_str(inbound.body)?;
    if media == "multipart/form-data" {
        multipart(
            inbound.body,
            inbound.header("content-type").unwrap_or_default(),
        )
    } else {
        Ok(form_pairs(inbound.body))
    }
}

/// A plain HTML form: nothing can sign it, so only listed Origins are accepted, and a filled
/// honeypot field drops the submission. Rate limiting per IP is the edge's.
pub(crate) fn html(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    require_post(inbound)?;
    if ctx.secrets.allowed_origins.is_empty() {
        return Err(AdapterError::NotConfigured {
            name: "html".into(),
            variable: "LEADSCORE_ALLOWED_ORIGINS".into(),
        });
    }
    let origin = request_origin(inbound)
        .ok_or_else(|| AdapterError::OriginNotAllowed("no Origin or Referer header".into()))?;
    if !ctx
        .secrets
        .allowed_origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(&origin))
    {
        return Err(AdapterError::OriginNotAllowed(origin));
    }
    let media = require_media_type(inbound, FORM_OR_MULTIPART)?;
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

/// `scheme://host[:port]` of the Origin header, or of the Referer when a browser sent none.
fn request_origin(inbound: &Inbound<'_>) -> Option<String> {
    if let Some(origin) = inbound.header("origin").map(str::trim) {
        if !origin.is_empty() && origin != "null" {
            return Some(origin.trim_end_matches('/').to_string());
        }
    }
    let referer = url::Url::parse(inbound.header("referer")?).ok()?;
    let origin = referer.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, body)>`.
pub(crate) fn typeform(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    require_post(inbound)?;
    let key = secret(ctx.secrets, "typeform")?;
    require_media_type(inbound, JSON)?;
    let sig = header(inbound, "typeform-signature")?;
    let sig = sig
        .strip_prefix("sha256=")
        .ok_or_else(|| unauthorized("Typeform-Signature must start with sha256="))?;
    check_base64(
        sig,
        &hmac_sha256(key.as_bytes(), &[inbound.body]),
        "Typeform-Signature",
    )?;

    let body = parse_json(inbound.body)?;
    let event_id = text_at(&body, &["event_id"])
        .ok_or_else(|| AdapterError::Malformed("no `event_id`".into()))?;
    if text_at(&body, &["event_type"]).as_deref() != Some("form_response") {
        return Ok(ignored_one());
    }
    let response = at(&body, &["form_response"])
        .filter(|r| r.is_object())
        .ok_or_else(|| AdapterError::Malformed("no `form_response` object".into()))?;
    let titles: Vec<(String, String)> = at(response, &["definition", "fields"])
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| Some((text_at(f, &["id"])?, text_at(f, &["title"])?)))
                .collect()
        })
        .unwrap_or_default();
    let mut fields = Vec::new();
    for answer in at(response, &["answers"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = text_at(answer, &["type"]).unwrap_or_default();
        let (value, choice) = match kind.as_str() {
            "choice" => (
                at(answer, &["choice", "label"])
                    .or_else(|| at(answer, &["choice", "other"]))
                    .cloned(),
                true,
            ),
            "choices" => {
                let mut labels: Vec<Value> = at(answer, &["choices", "labels"])
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                labels.extend(at(answer, &["choices", "other"]).cloned());
                (Some(Value::Array(labels)), true)
            }
            "payment" => (None, false),
            other => (answer.get(other).cloned(), false),
        };
        let Some(value) = value else { continue };
        let field_id = text_at(answer, &["field", "id"]).unwrap_or_default();
        let mut names: Vec<String> = titles
            .iter()
            .filter(|(id, _)| *id == field_id)
            .map(|(_, t)| t.clone())
            .collect();
        names.extend(text_at(answer, &["field", "ref"]));
        if names.is_empty() {
            names.push(field_id);
        }
        fields.push(Field {
            names,
            value,
            choice,
            email_typed: kind == "email",
        });
    }
    if let Some(Value::Object(hidden)) = at(response, &["hidden"]) {
        fields.extend(hidden.iter().map(|(k, v)| Field::new(k.clone(), v.clone())));
    }
    form_events(
        Submission {
            source: "typeform",
            provider_id: event_id,
            occurred_at: at(response, &["submitted_at"])
                .and_then(rfc3339)
                .unwrap_or(inbound.now),
            form: text_at(response, &["definition", "title"]),
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}

fn ignored_one() -> Received {
    Received {
        ignored: 1,
        ..Received::default()
    }
}

/// Webflow: `x-webflow-signature` = hex HMAC-SHA256(secret, `timestamp:body`), timestamp in ms.
pub(crate) fn webflow(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    require_post(inbound)?;
    let key = secret(ctx.secrets, "webflow")?;
    require_media_type(inbound, JSON)?;
    let sig = header(inbound, "x-webflow-signature")?;
    let ts = header(inbound, "x-webflow-timestamp")?;
    let expected = hmac_sha256(key.as_bytes(), &[ts.as_bytes(), b":", inbound.body]);
    check_hex(sig, &expected, "x-webflow-signature")?;
    check_fresh(timestamp_header(ts, "x-webflow-timestamp")?, inbound.now)?;

    let body = parse_json(inbound.body)?;
    if text_at(&body, &["triggerType"]).as_deref() != Some("form_submission") {
        return Ok(ignored_one());
    }
    let payload = at(&body, &["payload"])
        .filter(|p| p.is_object())
        .ok_or_else(|| AdapterError::Malformed("no `payload` object".into()))?;
    let id = text_at(payload, &["id"])
        .ok_or_else(|| AdapterError::Malformed("no `payload.id`".into()))?;
    let fields = match at(payload, &["data"]) {
        Some(Value::Object(data)) => data
            .iter()
            .map(|(k, v)| Field::new(k.clone(), v.clone()))
            .collect(),
        _ => return Err(AdapterError::Malformed("no `payload.data` object".into())),
    };
    form_events(
        Submission {
            source: "webflow",
            provider_id: id,
            occurred_at: at(payload, &["submittedAt"])
                .and_then(rfc3339)
                .unwrap_or(inbound.now),
            form: text_at(payload, &["name"]),
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}

/// Tally: `Tally-Signature` = base64 HMAC-SHA256(secret, body).
pub(crate) fn tally(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    require_post(inbound)?;
    let key = secret(ctx.secrets, "tally")?;
    require_media_type(inbound, JSON)?;
    let sig = header(inbound, "tally-signature")?;
    check_base64(
        sig,
        &hmac_sha256(key.as_bytes(), &[inbound.body]),
        "Tally-Signature",
    )?;

    let body = parse_json(inbound.body)?;
    let id = text_at(&body, &["eventId"])
        .ok_or_else(|| AdapterError::Malformed("no `eventId`".into()))?;
    if text_at(&body, &["eventType"]).as_deref() != Some("FORM_RESPONSE") {
        return Ok(ignored_one());
    }
    let raw_fields = at(&body, &["data", "fields"])
        .and_then(Value::as_array)
        .ok_or_else(|| AdapterError::Malformed("no `data.fields` array".into()))?;
    let mut fields = Vec::new();
    for f in raw_fields {
        let kind = text_at(f, &["type"]).unwrap_or_default();
        let Some(mut value) = f.get("value").cloned() else {
            continue;
        };
        // Choice answers are option ids: show their text.
        if let Some(options) = f.get("options").and_then(Value::as_array) {
            let text_of = |id: &Value| {
                options
                    .iter()
                    .find(|o| o.get("id") == Some(id))
                    .and_then(|o| o.get("text").cloned())
                    .unwrap_or_else(|| id.clone())
            };
            value = match value {
                Value::Array(ids) => Value::Array(ids.iter().map(text_of).collect()),
                single => text_of(&single),
            };
        }
        let mut names: Vec<String> = text_at(f, &["label"]).into_iter().collect();
        names.extend(text_at(f, &["key"]));
        fields.push(Field {
            names,
            value,
            choice: matches!(
                kind.as_str(),
                "MULTIPLE_CHOICE" | "DROPDOWN" | "CHECKBOXES" | "MULTI_SELECT" | "RANKING"
            ),
            email_typed: kind == "INPUT_EMAIL",
        });
    }
    form_events(
        Submission {
            source: "tally",
            provider_id: id,
            occurred_at: at(&body, &["createdAt"])
                .and_then(rfc3339)
                .unwrap_or(inbound.now),
            form: text_at(&body, &["data", "formName"]),
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}

/// HubSpot v3: base64 HMAC-SHA256(secret, method + URI + body + timestamp), timestamp in ms.
pub(crate) fn hubspot(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    require_post(inbound)?;
    let key = secret(ctx.secrets, "hubspot")?;
    require_media_type(inbound, JSON)?;
    let sig = header(inbound, "x-hubspot-signature-v3")?;
    let ts = header(inbound, "x-hubspot-request-timestamp")?;
    let uri = hubspot_uri(inbound.url);
    let expected = hmac_sha256(
        key.as_bytes(),
        &[
            inbound.method.as_bytes(),
            uri.as_bytes(),
            inbound.body,
            ts.as_bytes(),
        ],
    );
    check_base64(sig, &expected, "X-HubSpot-Signature-v3")?;
    check_fresh(
        timestamp_header(ts, "x-hubspot-request-timestamp")?,
        inbound.now,
    )?;

    let body = parse_json(inbound.body)?;
    match &body {
        // The webhooks API: subscription events that name a contact by id only.
        Value::Array(items) => Ok(Received {
            ignored: u32::try_from(items.len()).unwrap_or(u32::MAX),
            ..Received::default()
        }),
        Value::Object(_) => hubspot_contact(&body, inbound, ctx),
        _ => Err(AdapterError::Malformed(
            "expected a contact object or an array of events".into(),
        )),
    }
}

/// HubSpot decodes these characters before signing the URI (per its v3 documentation).
fn hubspot_uri(url: &str) -> String {
    let mut out = url.to_string();
    for (enc, dec) in [
        ("%3A", ":"),
        ("%2F", "/"),
        ("%3F", "?"),
        ("%40", "@"),
        ("%21", "!"),
        ("%24", "$"),
        ("%27", "'"),
        ("%28", "("),
        ("%29", ")"),
        ("%2A", "*"),
        ("%2C", ","),
        ("%3B", ";"),
    ] {
        out = out
            .replace(enc, dec)
            .replace(&enc.to_ascii_lowercase(), dec);
    }
    out
}

/// A workflow's "Send a webhook" action: the whole contact, properties as plain values or as
/// `{"value": ...}` objects (the v1 contact format).
fn hubspot_contact(
    body: &Value,
    inbound: &Inbound<'_>,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let Some(Value::Object(properties)) = body.get("properties") else {
        return Err(AdapterError::Malformed("no `properties` object".into()));
    };
    let mut form = None;
    let mut fields = Vec::new();
    for (name, v) in properties {
        let value = match v {
            Value::Object(o) => o.get("value").cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        if name == "recent_conversion_event_name" {
            form = crate::fields::value_text(&value);
        } else if !name.starts_with("hs_") && !HUBSPOT_SYSTEM.contains(&name.as_str()) {
            fields.push(Field::new(name.clone(), value));
        }
    }
    let occurred_at = ["occurredAt", "updatedAt"]
        .iter()
        .find_map(|k| body.get(*k).and_then(unix_millis))
        .or_else(|| {
            properties
                .get("lastmodifieddate")
                .and_then(|v| unix_millis(v.get("value").unwrap_or(v)))
        })
        .unwrap_or(inbound.now);
    // No event id in a workflow call: the same body is the same delivery.
    let body_text = String::from_utf8_lossy(inbound.body);
    form_events(
        Submission {
            source: "hubspot",
            provider_id: format!("h{}", digest(&[&body_text])),
            occurred_at,
            form,
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}

const HUBSPOT_SYSTEM: &[&str] = &[
    "createdate",
    "lastmodifieddate",
    "lifecyclestage",
    "associatedcompanyid",
    "num_conversion_events",
    "num_unique_conversion_events",
    "first_conversion_event_name",
    "first_conversion_date",
    "recent_conversion_date",
    "ip_city",
    "ip_country",
    "ip_state",
];

/// Jotform signs nothing: the secret goes in the webhook URL as `?token=<secret>`.
pub(crate) fn jotform(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    require_post(inbound)?;
    let key = secret(ctx.secrets, "jotform")?;
    check_token(
        query_param(inbound.url, "token").as_deref(),
        key,
        "`token` query parameter",
    )?;
    let media = require_media_type(inbound, FORM_OR_MULTIPART)?;
    let pairs = form_body(inbound, &media)?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let submission = get("submissionID")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| AdapterError::Malformed("no `submissionID` field".into()))?;
    let raw =
        get("rawRequest").ok_or_else(|| AdapterError::Malformed("no `rawRequest` field".into()))?;
    let answers: Value = serde_json::from_str(raw)
        .map_err(|e| AdapterError::Malformed(format!("`rawRequest` is not JSON: {e}")))?;
    let Value::Object(answers) = answers else {
        return Err(AdapterError::Malformed(
            "`rawRequest` is not a JSON object".into(),
        ));
    };
    let mut fields = Vec::new();
    for (key, value) in &answers {
        // Answers are keyed `q<N>_<name>`; other keys are Jotform's own bookkeeping.
        let Some(name) = jotform_name(key) else {
            continue;
        };
        match value {
            Value::Object(o) if o.contains_key("first") || o.contains_key("last") => {
                for part in ["first", "last"] {
                    if let Some(v) = o.get(part) {
                        fields.push(Field::new(format!("{part} name"), v.clone()));
                    }
                }
            }
            other => fields.push(Field::new(name, other.clone())),
        }
    }
    form_events(
        Submission {
            source: "jotform",
            provider_id: submission.to_string(),
            occurred_at: inbound.now,
            form: get("formTitle").map(str::to_string),
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}

fn jotform_name(key: &str) -> Option<String> {
    let rest = key.strip_prefix('q')?;
    let (num, name) = rest.split_once('_')?;
    (!num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) && !name.is_empty())
        .then(|| name.to_string())
}

/// The text fields of a `multipart/form-data` body (file parts are skipped).
pub(crate) fn multipart(
    body: &[u8],
    content_type: &str,
) -> Result<Vec<(String, String)>, AdapterError> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or_else(|| AdapterError::Malformed("multipart body without a boundary".into()))?;
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    let mut closed = false;
    for part in text.split(&delimiter).skip(1) {
        if part.starts_with("--") {
            closed = true;
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            return Err(AdapterError::Malformed(
                "a multipart part has no header end".into(),
            ));
        };
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or_default();
        if disposition.contains("filename=") {
            continue;
        }
        let Some(name) = disposition
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("name="))
            .next()
        else {
            return Err(AdapterError::Malformed(
                "a multipart part has no name".into(),
            ));
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        fields.push((name.trim_matches('"').to_string(), value.to_string()));
    }
    if !closed {
        return Err(AdapterError::Malformed(format!(
            "multipart body does not end with --{boundary}--"
        )));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_reads_text_parts_and_refuses_truncated_bodies() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"formID\"\r\n\r\n123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nfile\r\n--XyZ\r\nContent-Disposition: form-data; name=\"rawRequest\"\r\n\r\n{\"q3_email\":\"a@b.co\"}\r\n--XyZ--\r\n";
        let fields = multipart(body.as_bytes(), "multipart/form-data; boundary=XyZ").unwrap();
        assert_eq!(
            fields,
            vec![
                ("formID".to_string(), "123".to_string()),
                (
                    "rawRequest".to_string(),
                    "{\"q3_email\":\"a@b.co\"}".to_string()
                )
            ]
        );
        assert!(multipart(&body.as_bytes()[..60], "multipart/form-data; boundary=XyZ").is_err());
        assert!(multipart(body.as_bytes(), "multipart/form-data").is_err());
    }

    #[test]
    fn jotform_keys_lose_their_question_number() {
        assert_eq!(jotform_name("q3_email").as_deref(), Some("email"));
        assert_eq!(jotform_name("q12_jobTitle").as_deref(), Some("jobTitle"));
        assert_eq!(jotform_name("slug"), None);
        assert_eq!(jotform_name("q_x"), None);
    }

    #[test]
    fn hubspot_uri_decodes_like_hubspot() {
        assert_eq!(
            hubspot_uri("https://x.io/webhooks/forms/hubspot?a=b%3Ac%2Cd"),
            "https://x.io/webhooks/forms/hubspot?a=b:c,d"
        );
    }
}
