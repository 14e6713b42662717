//! Form sources: html, typeform, webflow, tally, hubspot, jotform, segment, one module each
//! (json, on every channel, is in `generic.rs`). Each of the form tools describes a
//! [`Submission`] for [`form_events`], so they all read fields the same way; their schemes
//! are rows of `sources/forms.rs`.

pub(crate) mod html;
pub(crate) mod hubspot;
pub(crate) mod jotform;
pub(crate) mod segment;
pub(crate) mod tally;
pub(crate) mod typeform;
pub(crate) mod webflow;

use crate::fields::{read_fields, Field};
use crate::mapping::Mapping;
use crate::parse::{body_str, event_id};
use crate::util::{form_pairs, normalize};
use crate::{AdapterError, Inbound, Received};
use leadscore_scoring::{
    AnonymousId, Attributes, BantSource, BantUpdate, Email, Event, Identity, Signal, Timestamp,
};

/// Fields of a urlencoded or multipart body.
pub(crate) fn form_body(
    inbound: &Inbound<'_>,
    media: &str,
) -> Result<Vec<(String, String)>, AdapterError> {
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

/// A form submission as every form adapter sees it.
#[derive(Debug, Clone)]
pub(crate) struct Submission {
    pub source: &'static str,
    pub provider_id: String,
    pub occurred_at: Timestamp,
    pub form: Option<String>,
    pub fields: Vec<Field>,
    pub email: Option<Email>,
    pub anonymous_id: Option<AnonymousId>,
}

/// Turns a submission into `form_submitted` plus the signals it raises. A submission that
/// identifies nobody (no usable email or anonymous id) is counted as ignored.
pub(crate) fn form_events(sub: Submission, mapping: &Mapping) -> Result<Received, AdapterError> {
    let mut r = read_fields(&sub.fields, mapping);
    if let Some(form) = &sub.form {
        r.signals.extend(Mapping::phrase_signals(
            &mapping.form_signals,
            &normalize(form),
        ));
    }
    let email = sub.email.clone().or(r.email);
    let anonymous_id = sub.anonymous_id.clone().or(r.anonymous_id);
    let Some(identity) = Identity::new(email, anonymous_id) else {
        return Ok(Received {
            ignored: 1,
            ..Received::default()
        });
    };
    let attributes = Attributes {
        source: Some(sub.source.to_string()),
        form: sub.form.clone(),
        ..r.attributes
    };
    r.signals.remove(&Signal::FormSubmitted);
    let mut events = vec![Event {
        profile: r.profile,
        attributes: attributes.clone(),
        bant: BantUpdate {
            source: BantSource::Form,
            ..r.bant
        },
        ..Event::new(
            event_id(sub.source, &sub.provider_id, None)?,
            Signal::FormSubmitted,
            sub.occurred_at,
            identity.clone(),
        )
    }];
    for signal in r.signals {
        events.push(Event {
            attributes: attributes.clone(),
            ..Event::new(
                event_id(sub.source, &sub.provider_id, Some(signal.as_str()))?,
                signal,
                sub.occurred_at,
                identity.clone(),
            )
        });
    }
    Ok(Received {
        events,
        ..Received::default()
    })
}

pub(crate) fn ignored_one() -> Received {
    Received {
        ignored: 1,
        ..Received::default()
    }
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
}
