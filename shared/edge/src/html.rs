//! What the edge checks of an html form before the adapter reads it: the one source nobody
//! signs. The per-client-IP limit ([`crate::limiter`]) slows a flood from one address, and,
//! when `LEADSCORE_CAPTCHA_PROVIDER` is set, the widget's token must pass the provider's
//! siteverify ([`crate::captcha`]). The adapter then checks the Origin and the honeypot.
//! Nothing here writes: a refused form stores nothing.

use crate::{ApiError, App};
use lambda_http::Request;
use leadscore_providers::Channel;
use leadscore_scoring::Timestamp;
use std::net::IpAddr;

/// Admits a `POST /webhooks/forms/html` (and lets every other webhook through untouched).
pub(crate) async fn admit(
    app: &App,
    req: &Request,
    channel: Channel,
    source: &str,
    client_ip: Option<IpAddr>,
    now: Timestamp,
) -> Result<(), ApiError> {
    if channel != Channel::Forms || source != "html" || req.method() != "POST" {
        return Ok(());
    }
    if let Some(ip) = client_ip {
        app.limiter
            .check(ip, now.millis())
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    }
    let Some(captcha) = &app.captcha else {
        return Ok(());
    };
    let content_type = crate::header(req, "content-type").unwrap_or_default();
    let token = form_field(content_type, req.body().as_ref(), captcha.provider.field)?;
    captcha
        .verify(app.fetch.as_ref(), token.as_deref(), client_ip)
        .await
}

/// The first value of field `name` in an html form's body (urlencoded or multipart).
fn form_field(content_type: &str, body: &[u8], name: &str) -> Result<Option<String>, ApiError> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/x-www-form-urlencoded" => Ok(urlencoded_field(body, name)),
        "multipart/form-data" => Ok(multipart_field(content_type, body, name)),
        _ => Err(ApiError::UnsupportedMediaType(format!(
            "html forms are application/x-www-form-urlencoded or multipart/form-data, not {:?}",
            media
        ))),
    }
}

fn urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    let decode = |s: &[u8]| {
        let plus: Vec<u8> = s
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        percent_encoding::percent_decode(&plus)
            .decode_utf8_lossy()
            .into_owned()
    };
    body.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        (decode(key) == name).then(|| decode(value))
    })
}

/// The text of the part named `name`; `None` when there is none (or no boundary). The
/// adapter parses the whole body afterwards and refuses a malformed one with its own 400.
fn multipart_field(content_type: &str, body: &[u8], name: &str) -> Option<String> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())?;
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    for part in text.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let (head, value) = part.split_once("\r\n\r\n")?;
        let named = head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .flat_map(|l| l.split(';'))
            .filter_map(|p| p.trim().strip_prefix("name="))
            .any(|n| n.trim_matches('"') == name);
        if named {
            return Some(value.strip_suffix("\r\n").unwrap_or(value).to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELD: &str = "cf-turnstile-response";

    #[test]
    fn finds_the_token_in_either_form_encoding() {
        let form = b"email=ada%40example.com&cf-turnstile-response=0.a%2Bb+c&x";
        assert_eq!(
            form_field("application/x-www-form-urlencoded", form, FIELD).unwrap(),
            Some("0.a+b c".into())
        );
        assert_eq!(urlencoded_field(b"email=a&x", FIELD), None);
        let multipart = "--b1\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmo@example.com\r\n--b1\r\nContent-Disposition: form-data; name=\"cf-turnstile-response\"\r\n\r\n0.token\r\n--b1--\r\n";
        assert_eq!(
            form_field(
                "multipart/form-data; boundary=\"b1\"",
                multipart.as_bytes(),
                FIELD
            )
            .unwrap(),
            Some("0.token".into())
        );
        assert_eq!(
            multipart_field("multipart/form-data; boundary=b1", b"--b1\r\nbroken", FIELD),
            None
        );
        assert_eq!(
            multipart_field("multipart/form-data", multipart.as_bytes(), FIELD),
            None
        );
        assert!(matches!(
            form_field("application/json", b"{}", FIELD),
            Err(ApiError::UnsupportedMediaType(_))
        ));
    }
}
