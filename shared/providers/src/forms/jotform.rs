//! Jotform. It signs nothing: the secret goes in the webhook URL as `?token=<secret>`. The
//! answers are the `rawRequest` field's JSON, keyed `q<N>_<name>`.

use super::{form_body, form_events, Submission};
use crate::fields::Field;
use crate::util::media_type;
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use serde_json::Value;

/// A multipart (or urlencoded) submission.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let media = media_type(inbound).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jotform_keys_lose_their_question_number() {
        assert_eq!(jotform_name("q3_email").as_deref(), Some("email"));
        assert_eq!(jotform_name("q12_jobTitle").as_deref(), Some("jobTitle"));
        assert_eq!(jotform_name("slug"), None);
        assert_eq!(jotform_name("q_x"), None);
    }
}
