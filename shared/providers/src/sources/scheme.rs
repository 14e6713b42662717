//! The words the rows of the table are written with: schemes, where values travel, what is
//! signed, media types, and a few presets shared by several providers.
//!
//! The verifier understands every word in every build, whichever channels' rows it has, so a
//! build without some channels leaves words only their rows use (hence the `allow` below);
//! only the public-key schemes, whose crates come with `email`, are left out.
#![cfg_attr(
    not(all(feature = "forms", feature = "chatbot", feature = "email")),
    allow(dead_code)
)]

/// How a source proves a request comes from its provider.
#[derive(Debug)]
pub(crate) enum Scheme {
    /// Nothing can sign a plain HTML form: its Origin (or Referer) must be one of
    /// `LEADSCORE_ALLOWED_ORIGINS`, which stands in for the secret.
    Origin,
    /// A MAC of some of the request's bytes under the secret.
    Hmac(Hmac),
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (a list of
    /// `v1,<base64>`) over `{id}.{timestamp}.{body}`, key = base64 after `whsec_`, 5 minutes.
    StandardWebhooks,
    /// ECDSA P-256 / SHA-256 over `timestamp + body`, the signature in base64 DER, the secret
    /// being the provider's base64 public key; 5 minutes. (email: SendGrid)
    #[cfg(feature = "email")]
    Ecdsa {
        signature: &'static str,
        timestamp: &'static str,
    },
    /// SNS's RSA signature over its envelope, under a certificate served by an SNS host; the
    /// secret lists the topics allowed (see `sns.rs`). (email: SES)
    #[cfg(feature = "email")]
    Sns,
    /// The secret itself, sent as is and compared in constant time: the first of `places` the
    /// request carries is the one checked. `label` names it in messages.
    SharedToken {
        places: &'static [Place],
        label: &'static str,
    },
    /// `Authorization: Basic` (secret `user:password`) or `Authorization: Bearer <secret>`.
    Authorization,
    /// `then` when the request has the `header`, else `otherwise` (Segment signs, RudderStack
    /// sends a token to the same route).
    Either {
        header: &'static str,
        then: &'static Scheme,
        otherwise: &'static Scheme,
    },
}

/// An HMAC scheme.
#[derive(Debug)]
pub(crate) struct Hmac {
    pub algorithm: Algorithm,
    pub signature: Signature,
    /// The signed bytes, concatenated in this order.
    pub signed: &'static [Part],
    /// Where the signed time is (unix seconds, or milliseconds above 10^11); refused more than
    /// 5 minutes away from the time of receipt.
    pub timestamp: Option<Place>,
    /// An empty batch the provider signs with a published key to test the URL, before the
    /// real key can be configured.
    pub test_batch: Option<TestBatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha1,
    Sha256,
}

/// Where the signature is and how it is written.
#[derive(Debug)]
pub(crate) struct Signature {
    pub place: Place,
    /// Text before the MAC (`sha256=`), required.
    pub prefix: Option<&'static str>,
    pub encoding: Encoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Hex,
    Base64,
}

/// Where a value travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A header, named as the provider documents it (looked up in any case).
    Header(&'static str),
    /// A query parameter of the called URL.
    Query(&'static str),
    /// A string or number at this path of the JSON body.
    Body(&'static [&'static str]),
}

/// A piece of the signed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Text(&'static str),
    /// The raw body.
    Body,
    /// The timestamp as sent.
    Timestamp,
    /// The HTTP method.
    Method,
    /// The full URL called, with these percent-escapes decoded (either case).
    Url {
        decoded: &'static [(&'static str, &'static str)],
    },
    /// Every form field's name then value, sorted by name.
    SortedFormFields,
    /// A one-time token. The signature covers it but not the body, so the token is handed to
    /// the edge (`Received::signed_token`), which binds it to the body it came with.
    Token(Place),
}

/// The provider's URL test: this form field holding `empty`, signed with `key`.
#[derive(Debug)]
pub(crate) struct TestBatch {
    pub field: &'static str,
    pub empty: &'static str,
    pub key: &'static str,
}

pub(crate) const JSON: &[&str] = &["application/json"];
pub(crate) const FORM: &[&str] = &["application/x-www-form-urlencoded"];

/// A shared token in the URL's `token` query parameter (for providers that sign nothing).
pub(crate) const TOKEN_IN_URL: Scheme = Scheme::SharedToken {
    places: &[Place::Query("token")],
    label: "`token` query parameter",
};

/// An HMAC whose signature (and timestamp, if any) travel in headers.
pub(crate) const fn hmac_in_header(
    algorithm: Algorithm,
    header: &'static str,
    prefix: Option<&'static str>,
    encoding: Encoding,
    signed: &'static [Part],
    timestamp: Option<&'static str>,
) -> Scheme {
    Scheme::Hmac(Hmac {
        algorithm,
        signature: Signature {
            place: Place::Header(header),
            prefix,
            encoding,
        },
        signed,
        timestamp: match timestamp {
            Some(h) => Some(Place::Header(h)),
            None => None,
        },
        test_batch: None,
    })
}
