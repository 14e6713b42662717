//! The one verifier: runs a source's row of `sources.rs` against a request. Every source goes
//! through the same steps, in this order:
//!
//! 1. GET and HEAD are answered 200 where the provider checks the URL with them;
//! 2. anything but POST is refused;
//! 3. the secret must be configured (except where the provider tests the URL before one can
//!    exist: Mandrill's test batch);
//! 4. the media type must be one the source accepts. Credentials that stand alone, the Origin
//!    and a token in the URL, are checked just before it; every other scheme after it, once the
//!    JSON body is parsed if the scheme reads a field of it;
//! 5. the scheme: signature, token or credentials compared in constant time, then the
//!    timestamp within 5 minutes.

use crate::auth::{
    check_authorization, check_base64, check_hex, check_token, header, hmac_sha1, hmac_sha256,
    standard_webhooks, timestamp_header, unauthorized,
};
use crate::sources::{Algorithm, Encoding, Hmac, Part, Place, Scheme, Source};
use crate::util::{
    at, check_fresh, form_pairs, parse_json, query_param, require_media_type, require_post, secret,
    text_at, TOLERANCE_MS,
};
use crate::{AdapterError, Context, Inbound, Received, Reply, Secrets, SignedToken};
use leadscore_scoring::Timestamp;
use serde_json::Value;

/// What a verified delivery proved, for its parser and the edge.
#[derive(Debug, Clone, Default)]
pub(crate) struct Verified {
    /// The signed time, for schemes that sign one.
    pub signed_at: Option<Timestamp>,
    /// A token signed without the body (Mailgun), for the edge to bind to this body.
    pub signed_token: Option<SignedToken>,
}

/// The outcome of a request that passed its source's checks.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// A delivery: parse it.
    Deliver(Verified),
    /// The provider checking the URL: this is the whole answer.
    Answer(Received),
}

/// Runs `source`'s checks (see the module's comment) on `inbound`.
pub(crate) fn verify(
    source: &Source,
    inbound: &Inbound<'_>,
    ctx: &Context<'_>,
) -> Result<Verdict, AdapterError> {
    if source.url_check && is_url_check(inbound) {
        return Ok(Verdict::Answer(url_check_reply()));
    }
    require_post(inbound)?;
    let scheme = &source.scheme;
    let secret = credential(source, ctx)?;
    if scheme.before_media() {
        let verdict = check(source.name, scheme, secret, inbound, None, ctx)?;
        require_media_type(inbound, source.media)?;
        return Ok(verdict);
    }
    require_media_type(inbound, source.media)?;
    let body = if scheme.reads_body() {
        Some(parse_json(inbound.body)?)
    } else {
        None
    };
    check(source.name, scheme, secret, inbound, body.as_ref(), ctx)
}

/// The configured secret, required now unless the scheme can do without one for a while.
fn credential<'a>(source: &Source, ctx: &Context<'a>) -> Result<Option<&'a str>, AdapterError> {
    match &source.scheme {
        Scheme::Origin if ctx.secrets.allowed_origins.is_empty() => {
            Err(AdapterError::NotConfigured {
                name: source.name.into(),
                variable: "LEADSCORE_ALLOWED_ORIGINS".into(),
            })
        }
        Scheme::Origin => Ok(None),
        Scheme::Hmac(Hmac {
            test_batch: Some(_),
            ..
        }) => Ok(ctx
            .secrets
            .get(source.name)
            .map(str::trim)
            .filter(|k| !k.is_empty())),
        _ => secret(ctx.secrets, source.name).map(Some),
    }
}

/// The secret, once it is needed.
fn required<'a>(secret: Option<&'a str>, name: &str) -> Result<&'a str, AdapterError> {
    secret.ok_or_else(|| AdapterError::NotConfigured {
        name: name.to_string(),
        variable: Secrets::variable(name),
    })
}

impl Scheme {
    /// Checked before the media type: the Origin, and tokens carried in the URL only.
    fn before_media(&self) -> bool {
        match self {
            Scheme::Origin => true,
            Scheme::SharedToken { places, .. } => {
                places.iter().all(|p| matches!(p, Place::Query(_)))
            }
            _ => false,
        }
    }

    /// Reads fields of the JSON body (which is then parsed before the scheme is checked).
    fn reads_body(&self) -> bool {
        let in_body = |p: &Place| matches!(p, Place::Body(_));
        match self {
            #[cfg(feature = "email")]
            Scheme::Sns => true,
            Scheme::SharedToken { places, .. } => places.iter().any(in_body),
            Scheme::Hmac(h) => {
                in_body(&h.signature.place)
                    || h.timestamp.as_ref().is_some_and(in_body)
                    || h.signed
                        .iter()
                        .any(|p| matches!(p, Part::Token(t) if in_body(t)))
            }
            Scheme::Either {
                then, otherwise, ..
            } => then.reads_body() || otherwise.reads_body(),
            _ => false,
        }
    }
}

fn check(
    name: &str,
    scheme: &Scheme,
    secret: Option<&str>,
    inbound: &Inbound<'_>,
    body: Option<&Value>,
    ctx: &Context<'_>,
) -> Result<Verdict, AdapterError> {
    let mut verified = Verified::default();
    match scheme {
        Scheme::Origin => check_origin(inbound, ctx)?,
        Scheme::Hmac(h) => return check_hmac(name, h, secret, inbound, body),
        Scheme::StandardWebhooks => {
            let (_, signed_at) = standard_webhooks(inbound, required(secret, name)?)?;
            verified.signed_at = Some(signed_at);
        }
        #[cfg(feature = "email")]
        Scheme::Ecdsa {
            signature,
            timestamp,
        } => {
            let signed_at = crate::auth::ecdsa_p256(
                inbound,
                required(secret, name)?,
                &signature.to_ascii_lowercase(),
                &timestamp.to_ascii_lowercase(),
                &Secrets::variable(name),
            )?;
            verified.signed_at = Some(signed_at);
        }
        #[cfg(feature = "email")]
        Scheme::Sns => {
            crate::sns::verify(body.unwrap_or(&Value::Null), required(secret, name)?, ctx)?
        }
        Scheme::SharedToken { places, label } => {
            let given = places.iter().find_map(|p| find(*p, inbound, body));
            check_token(given.as_deref(), required(secret, name)?, label)?;
        }
        Scheme::Authorization => check_authorization(inbound, required(secret, name)?)?,
        Scheme::Either {
            header,
            then,
            otherwise,
        } => {
            let chosen = if inbound.header(header).is_some() {
                then
            } else {
                otherwise
            };
            return check(name, chosen, secret, inbound, body, ctx);
        }
    }
    Ok(Verdict::Deliver(verified))
}

fn check_hmac(
    name: &str,
    h: &Hmac,
    secret: Option<&str>,
    inbound: &Inbound<'_>,
    body: Option<&Value>,
) -> Result<Verdict, AdapterError> {
    let sorted_fields = h.test_batch.is_some() || h.signed.contains(&Part::SortedFormFields);
    let mut fields = if sorted_fields {
        form_pairs(inbound.body)
    } else {
        Vec::new()
    };
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    let batch = match &h.test_batch {
        Some(t) => Some((
            t,
            fields
                .iter()
                .find(|(k, _)| k == t.field)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| AdapterError::Malformed(format!("no `{}` field", t.field)))?,
        )),
        None => None,
    };
    // A signature in a header is looked for first; one in the body comes after the fields it
    // signs (Mailgun's `signature` object: timestamp, token, signature).
    let early = match h.signature.place {
        Place::Header(_) => Some(signature(h, inbound, body)?),
        _ => None,
    };
    let timestamp = match h.timestamp {
        Some(place) => Some(require(place, inbound, body)?),
        None => None,
    };
    let mut signed = Vec::new();
    let mut token = None;
    for part in h.signed {
        match part {
            Part::Text(t) => signed.extend_from_slice(t.as_bytes()),
            Part::Body => signed.extend_from_slice(inbound.body),
            Part::Timestamp => {
                signed.extend_from_slice(timestamp.as_deref().unwrap_or_default().as_bytes())
            }
            Part::Method => signed.extend_from_slice(inbound.method.as_bytes()),
            Part::Url { decoded } => {
                signed.extend_from_slice(decode(inbound.url, decoded).as_bytes())
            }
            Part::SortedFormFields => {
                for (k, v) in &fields {
                    signed.extend_from_slice(k.as_bytes());
                    signed.extend_from_slice(v.as_bytes());
                }
            }
            Part::Token(place) => {
                let t = require(*place, inbound, body)?;
                signed.extend_from_slice(t.as_bytes());
                token = Some(t);
            }
        }
    }
    let given = match early {
        Some(g) => g,
        None => signature(h, inbound, body)?,
    };
    let label = signature_label(h.signature.place);
    let matches = |key: &str| {
        let expected = match h.algorithm {
            Algorithm::Sha1 => hmac_sha1(key.as_bytes(), &[&signed]),
            Algorithm::Sha256 => hmac_sha256(key.as_bytes(), &[&signed]),
        };
        match h.signature.encoding {
            Encoding::Hex => check_hex(&given, &expected, label),
            Encoding::Base64 => check_base64(&given, &expected, label),
        }
    };
    if let Some((test, value)) = batch {
        if value.trim() == test.empty {
            // The provider testing the URL, possibly before its key is configured here.
            return match (matches(test.key), secret.map(&matches)) {
                (Ok(()), _) | (_, Some(Ok(()))) => Ok(Verdict::Answer(url_check_reply())),
                (_, Some(Err(e))) | (Err(e), None) => Err(e),
            };
        }
    }
    matches(required(secret, name)?)?;
    let mut verified = Verified::default();
    if let (Some(place), Some(raw)) = (h.timestamp, timestamp) {
        let signed_at = timestamp_header(&raw, &place_name(place))?;
        check_fresh(signed_at, inbound.now)?;
        verified.signed_at = Some(signed_at);
    }
    verified.signed_token = token.map(|token| SignedToken {
        token,
        expires_at: verified
            .signed_at
            .unwrap_or(inbound.now)
            .plus_millis(TOLERANCE_MS),
    });
    Ok(Verdict::Deliver(verified))
}

/// The signature, its prefix removed.
fn signature(
    h: &Hmac,
    inbound: &Inbound<'_>,
    body: Option<&Value>,
) -> Result<String, AdapterError> {
    let value = require(h.signature.place, inbound, body)?;
    match h.signature.prefix {
        None => Ok(value),
        Some(prefix) => value
            .strip_prefix(prefix)
            .map(str::to_string)
            .ok_or_else(|| {
                let label = signature_label(h.signature.place);
                unauthorized(format!("{label} must start with {prefix}"))
            }),
    }
}

/// How messages name a signature: its header as documented, or its key in the body.
fn signature_label(place: Place) -> &'static str {
    match place {
        Place::Header(n) | Place::Query(n) => n,
        Place::Body(path) => path.last().copied().unwrap_or_default(),
    }
}

/// How messages name a timestamp: its header in lower case, or its path in the body.
fn place_name(place: Place) -> String {
    match place {
        Place::Header(n) => n.to_ascii_lowercase(),
        Place::Query(n) => n.to_string(),
        Place::Body(path) => path.join("."),
    }
}

/// A value a signed scheme requires, or 401 naming what is missing.
fn require(
    place: Place,
    inbound: &Inbound<'_>,
    body: Option<&Value>,
) -> Result<String, AdapterError> {
    match place {
        Place::Header(n) => header(inbound, &n.to_ascii_lowercase()).map(str::to_string),
        Place::Query(n) => query_param(inbound.url, n)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| unauthorized(format!("missing `{n}` query parameter"))),
        Place::Body(path) => {
            let body = body.unwrap_or(&Value::Null);
            if let Some((_, parent)) = path.split_last().filter(|(_, p)| !p.is_empty()) {
                if !at(body, parent).is_some_and(Value::is_object) {
                    return Err(unauthorized(format!(
                        "no `{}` object in the body",
                        parent.join(".")
                    )));
                }
            }
            text_at(body, path).ok_or_else(|| unauthorized(format!("no `{}`", path.join("."))))
        }
    }
}

/// A value as sent, if the request carries it (shared tokens: the first place present wins).
fn find(place: Place, inbound: &Inbound<'_>, body: Option<&Value>) -> Option<String> {
    match place {
        Place::Header(n) => inbound.header(n).map(str::to_string),
        Place::Query(n) => query_param(inbound.url, n),
        Place::Body(path) => body.and_then(|b| text_at(b, path)),
    }
}

/// The URL with these percent-escapes decoded, upper and lower case.
fn decode(url: &str, escapes: &[(&str, &str)]) -> String {
    let mut out = url.to_string();
    for (enc, dec) in escapes {
        out = out
            .replace(enc, dec)
            .replace(&enc.to_ascii_lowercase(), dec);
    }
    out
}

/// A plain HTML form: only listed Origins are accepted (rate limiting per IP is the edge's).
fn check_origin(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<(), AdapterError> {
    let origin = request_origin(inbound)
        .ok_or_else(|| AdapterError::OriginNotAllowed("no Origin or Referer header".into()))?;
    if ctx
        .secrets
        .allowed_origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(&origin))
    {
        Ok(())
    } else {
        Err(AdapterError::OriginNotAllowed(origin))
    }
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

fn is_url_check(inbound: &Inbound<'_>) -> bool {
    inbound.method.eq_ignore_ascii_case("GET") || inbound.method.eq_ignore_ascii_case("HEAD")
}

fn url_check_reply() -> Received {
    Received {
        reply: Some(Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: b"OK".to_vec(),
        }),
        ..Received::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hubspot_escapes_are_decoded_in_either_case() {
        let escapes = &[("%3A", ":"), ("%2C", ",")];
        assert_eq!(
            decode("https://x.io/webhooks/forms/hubspot?a=b%3Ac%2cd", escapes),
            "https://x.io/webhooks/forms/hubspot?a=b:c,d"
        );
    }
}
