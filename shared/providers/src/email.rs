//! Email sources: sendgrid, mailgun, mandrill, postmark, brevo, mailchimp (ses is in sns.rs).
//! Each one maps its provider's events to [`EmailItem`]s; `email_events` judges bots and builds
//! the events, the same way for all.

use crate::auth::{
    check_authorization, check_base64, check_hex, check_token, hmac_sha1, hmac_sha256,
    timestamp_header, unauthorized,
};
use crate::fields::{read_fields, Field};
use crate::mapping::Mapping;
use crate::util::TOLERANCE_MS;
use crate::util::{
    at, check_fresh, digest, event_id, form_pairs, parse_json, plain_datetime, query_param,
    require_media_type, require_post, rfc3339, secret, text_at, unix_millis, unix_seconds, FORM,
    JSON,
};
use crate::{AdapterError, Context, Inbound, Received, Reply, SignedToken};
use leadscore_scoring::{
    Attributes, BotVerdict, Email, Event, Identity, Profile, Signal, Timestamp,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// One provider event that maps to a signal.
#[derive(Debug, Clone)]
pub(crate) struct EmailItem {
    pub provider_id: String,
    pub signal: Signal,
    pub occurred_at: Timestamp,
    pub email: Option<Email>,
    pub url: Option<String>,
    pub campaign: Option<String>,
    pub message_id: Option<String>,
    /// `Some("")` when the provider sent an empty user agent (a bot sign); `None` when the
    /// provider sends none at all.
    pub user_agent: Option<String>,
    /// The provider's own machine/robot flag, as a reason.
    pub robot: Option<String>,
    /// When the message was sent or delivered, if the payload says.
    pub sent_at: Option<Timestamp>,
    pub profile: Profile,
}

impl EmailItem {
    pub(crate) fn new(provider_id: String, signal: Signal, occurred_at: Timestamp) -> Self {
        EmailItem {
            provider_id,
            signal,
            occurred_at,
            email: None,
            url: None,
            campaign: None,
            message_id: None,
            user_agent: None,
            robot: None,
            sent_at: None,
            profile: Profile::default(),
        }
    }
}

/// What one provider event amounts to.
pub(crate) enum Mapped {
    Item(Box<EmailItem>),
    /// A delivery receipt: dates the message for the "seconds after delivery" rule.
    Delivered {
        message_id: String,
        at: Timestamp,
    },
    Ignored,
}

fn item(i: EmailItem) -> Mapped {
    Mapped::Item(Box::new(i))
}

/// Judges bots, then builds the events of one request.
pub(crate) fn email_events(
    source: &'static str,
    mapped: Vec<Mapped>,
    mapping: &Mapping,
) -> Result<Received, AdapterError> {
    let mut received = Received::default();
    let mut delivered: BTreeMap<String, Timestamp> = BTreeMap::new();
    let mut items = Vec::new();
    for m in mapped {
        match m {
            Mapped::Item(i) => items.push(*i),
            Mapped::Delivered { message_id, at } => {
                received.ignored += 1;
                delivered
                    .entry(message_id)
                    .and_modify(|t| *t = (*t).min(at))
                    .or_insert(at);
            }
            Mapped::Ignored => received.ignored += 1,
        }
    }
    let verdicts = bot_verdicts(&items, &delivered, mapping);
    for (item, bot) in items.into_iter().zip(verdicts) {
        let Some(email) = item.email else {
            received.ignored += 1;
            continue;
        };
        let identity = Identity {
            email: Some(email),
            anonymous_id: None,
        };
        received.events.push(Event {
            profile: item.profile,
            attributes: Attributes {
                source: Some(source.to_string()),
                url: item.url,
                campaign: item.campaign,
                message_id: item.message_id,
                ..Attributes::default()
            },
            bot,
            ..Event::new(
                event_id(source, &item.provider_id, None)?,
                item.signal,
                item.occurred_at,
                identity,
            )
        });
    }
    Ok(received)
}

fn bot(reason: String) -> Option<BotVerdict> {
    Some(BotVerdict {
        is_bot: true,
        reason,
    })
}

/// The verdict on each item (opens and clicks only), in order.
fn bot_verdicts(
    items: &[EmailItem],
    delivered: &BTreeMap<String, Timestamp>,
    mapping: &Mapping,
) -> Vec<Option<BotVerdict>> {
    let rules = &mapping.bots;
    let mut verdicts: Vec<Option<BotVerdict>> = items
        .iter()
        .map(|i| {
            if !matches!(i.signal, Signal::EmailOpened | Signal::EmailClicked) {
                return None;
            }
            if let Some(flag) = &i.robot {
                return bot(format!("provider flag: {flag}"));
            }
            if let Some(url) = &i.url {
                if rules
                    .honeypot_urls
                    .iter()
                    .any(|h| url.starts_with(h.as_str()))
                {
                    return bot("honeypot link".into());
                }
            }
            if let Some(ua) = &i.user_agent {
                let lower = ua.to_lowercase();
                if lower.trim().is_empty() {
                    return bot("empty user agent".into());
                }
                if let Some(s) = rules
                    .scanner_user_agents
                    .iter()
                    .find(|s| lower.contains(s.as_str()))
                {
                    return bot(format!("scanner user agent ({s})"));
                }
            }
            let sent = i.sent_at.or_else(|| {
                i.message_id
                    .as_ref()
                    .and_then(|m| delivered.get(m).copied())
            });
            if let Some(sent) = sent {
                let after = i.occurred_at.millis().saturating_sub(sent.millis());
                if (0..=i64::from(rules.seconds_after_delivery) * 1000).contains(&after) {
                    return bot(format!(
                        "{} {:.1} s after delivery",
                        verb(i.signal),
                        after as f64 / 1000.0
                    ));
                }
            }
            None
        })
        .collect();

    // Several different links of one message clicked within `burst_seconds`: a scanner
    // following every link. Clusters chain clicks no more than the window apart.
    let window = i64::from(rules.burst_seconds) * 1000;
    let mut by_message: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (n, i) in items.iter().enumerate() {
        if let (Signal::EmailClicked, Some(m)) = (i.signal, &i.message_id) {
            by_message.entry(m.as_str()).or_default().push(n);
        }
    }
    for mut clicks in by_message.into_values() {
        clicks.sort_by_key(|n| items[*n].occurred_at);
        let mut start = 0;
        while start < clicks.len() {
            let mut end = start + 1;
            while end < clicks.len()
                && items[clicks[end]]
                    .occurred_at
                    .millis()
                    .saturating_sub(items[clicks[end - 1]].occurred_at.millis())
                    <= window
            {
                end += 1;
            }
            let cluster = &clicks[start..end];
            let mut links: Vec<&Option<String>> = cluster.iter().map(|n| &items[*n].url).collect();
            links.sort();
            links.dedup();
            if links.len() >= 2 {
                let span = items[cluster[cluster.len() - 1]]
                    .occurred_at
                    .millis()
                    .saturating_sub(items[cluster[0]].occurred_at.millis());
                let reason = format!(
                    "burst: {} links of one message in {:.1} s",
                    links.len(),
                    span as f64 / 1000.0
                );
                for n in cluster {
                    if verdicts[*n].is_none() {
                        verdicts[*n] = bot(reason.clone());
                    }
                }
            }
            start = end;
        }
    }
    verdicts
}

fn verb(signal: Signal) -> &'static str {
    if signal == Signal::EmailClicked {
        "clicked"
    } else {
        "opened"
    }
}

fn parse_email(v: Option<String>) -> Option<Email> {
    v.and_then(|e| Email::parse(&e).ok())
}

/// A string or the first of an array of strings (SendGrid's `category`, tags).
fn first_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Array(items) => items.iter().find_map(|i| first_of(Some(i))),
        _ => None,
    }
}

fn user_agent(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).map(|ua| ua.as_str().unwrap_or_default().to_string())
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

fn is_url_check(inbound: &Inbound<'_>) -> bool {
    inbound.method.eq_ignore_ascii_case("GET") || inbound.method.eq_ignore_ascii_case("HEAD")
}

// ---- SendGrid ----

/// SendGrid Event Webhook: a signed JSON array (ECDSA, see `auth::sendgrid`).
pub(crate) fn sendgrid(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    require_post(inbound)?;
    let key = secret(ctx.secrets, "sendgrid")?;
    require_media_type(inbound, JSON)?;
    crate::auth::sendgrid(inbound, key)?;
    let body = parse_json(inbound.body)?;
    let Value::Array(events) = body else {
        return Err(AdapterError::Malformed(
            "expected a JSON array of events".into(),
        ));
    };
    let mut mapped = Vec::with_capacity(events.len());
    for (n, e) in events.iter().enumerate() {
        mapped.push(sendgrid_event(n, e, inbound.now)?);
    }
    email_events("sendgrid", mapped, ctx.mapping)
}

fn sendgrid_event(n: usize, e: &Value, now: Timestamp) -> Result<Mapped, AdapterError> {
    let kind = text_at(e, &["event"])
        .ok_or_else(|| AdapterError::Malformed(format!("event {n}: no `event`")))?;
    let at_time = e.get("timestamp").and_then(unix_seconds).unwrap_or(now);
    let message_id = text_at(e, &["sg_message_id"]);
    let signal = match kind.as_str() {
        "open" => Signal::EmailOpened,
        "click" => Signal::EmailClicked,
        "bounce" if text_at(e, &["type"]).as_deref() != Some("blocked") => Signal::Bounced,
        "spamreport" => Signal::SpamComplaint,
        "unsubscribe" | "group_unsubscribe" => Signal::Unsubscribed,
        "delivered" => {
            return Ok(match message_id {
                Some(message_id) => Mapped::Delivered {
                    message_id,
                    at: at_time,
                },
                None => Mapped::Ignored,
            })
        }
        _ => return Ok(Mapped::Ignored),
    };
    let id =
        text_at(e, &["sg_event_id"]).unwrap_or_else(|| format!("h{}", digest(&[&e.to_string()])));
    let machine_open = e.get("sg_machine_open") == Some(&Value::Bool(true));
    Ok(item(EmailItem {
        email: parse_email(text_at(e, &["email"])),
        url: text_at(e, &["url"]),
        campaign: first_of(e.get("category"))
            .or_else(|| text_at(e, &["marketing_campaign_name"]))
            .or_else(|| text_at(e, &["singlesend_name"])),
        message_id,
        user_agent: user_agent(e, &["useragent"]),
        robot: machine_open.then(|| "sg_machine_open (machine open)".to_string()),
        ..EmailItem::new(id, signal, at_time)
    }))
}

// ---- Mailgun ----

/// Mailgun: the signature is in the body: hex HMAC-SHA256(signing key, timestamp + token).
/// It covers neither the event nor the recipient, so the token is handed to the edge
/// (`Received::signed_token`), which remembers it with the body it came with.
pub(crate) fn mailgun(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    let (body, token) = mailgun_verified(inbound, ctx)?;
    let mut received = mailgun_events(&body, inbound, ctx)?;
    received.signed_token = Some(token);
    Ok(received)
}

/// The body of a request whose signature checks out, and its signed token.
fn mailgun_verified(
    inbound: &Inbound<'_>,
    ctx: &Context<'_>,
) -> Result<(serde_json::Value, SignedToken), AdapterError> {
    require_post(inbound)?;
    let key = secret(ctx.secrets, "mailgun")?;
    require_media_type(inbound, JSON)?;
    let body = parse_json(inbound.body)?;
    let sig = body
        .get("signature")
        .filter(|s| s.is_object())
        .ok_or_else(|| unauthorized("no `signature` object in the body"))?;
    let ts =
        text_at(sig, &["timestamp"]).ok_or_else(|| unauthorized("no `signature.timestamp`"))?;
    let token = text_at(sig, &["token"]).ok_or_else(|| unauthorized("no `signature.token`"))?;
    let given =
        text_at(sig, &["signature"]).ok_or_else(|| unauthorized("no `signature.signature`"))?;
    let expected = hmac_sha256(key.as_bytes(), &[ts.as_bytes(), token.as_bytes()]);
    check_hex(&given, &expected, "signature")?;
    let signed_at = timestamp_header(&ts, "signature.timestamp")?;
    check_fresh(signed_at, inbound.now)?;
    let expires_at = signed_at.plus_millis(TOLERANCE_MS);
    Ok((body, SignedToken { token, expires_at }))
}

fn mailgun_events(
    body: &serde_json::Value,
    inbound: &Inbound<'_>,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let e = body
        .get("event-data")
        .filter(|d| d.is_object())
        .ok_or_else(|| AdapterError::Malformed("no `event-data` object".into()))?;
    let kind = text_at(e, &["event"])
        .ok_or_else(|| AdapterError::Malformed("no `event-data.event`".into()))?;
    let at_time = e
        .get("timestamp")
        .and_then(unix_seconds)
        .unwrap_or(inbound.now);
    let message_id = text_at(e, &["message", "headers", "message-id"]);
    let signal = match kind.as_str() {
        "clicked" => Signal::EmailClicked,
        "opened" => Signal::EmailOpened,
        "unsubscribed" => Signal::Unsubscribed,
        "complained" => Signal::SpamComplaint,
        "failed" if text_at(e, &["severity"]).as_deref() == Some("permanent") => Signal::Bounced,
        "delivered" => {
            let mapped = match message_id {
                Some(message_id) => Mapped::Delivered {
                    message_id,
                    at: at_time,
                },
                None => Mapped::Ignored,
            };
            return email_events("mailgun", vec![mapped], ctx.mapping);
        }
        _ => return email_events("mailgun", vec![Mapped::Ignored], ctx.mapping),
    };
    let id =
        text_at(e, &["id"]).ok_or_else(|| AdapterError::Malformed("no `event-data.id`".into()))?;
    // client-type "robot" and a non-empty `bot` are Mailgun's own flags (unverified in a
    // primary source: read tolerantly).
    let robot = match (
        text_at(e, &["client-info", "client-type"]),
        text_at(e, &["client-info", "bot"]),
    ) {
        (_, Some(b)) => Some(format!("client-info.bot {b}")),
        (Some(t), _) if t == "robot" => Some("client-type robot".to_string()),
        _ => None,
    };
    let item_ = EmailItem {
        email: parse_email(text_at(e, &["recipient"])),
        url: text_at(e, &["url"]),
        campaign: first_of(e.get("tags")).or_else(|| text_at(e, &["user-variables", "campaign"])),
        message_id,
        user_agent: user_agent(e, &["client-info", "user-agent"]),
        robot,
        ..EmailItem::new(id, signal, at_time)
    };
    email_events("mailgun", vec![item(item_)], ctx.mapping)
}

// ---- Mandrill ----

/// The key Mandrill signs its "test the URL" empty batch with, before any real key exists.
const MANDRILL_TEST_KEY: &str = "test-webhook";

/// Mandrill (Mailchimp Transactional): form field `mandrill_events`; `X-Mandrill-Signature` =
/// base64 HMAC-SHA1(key, webhook URL + each field's key and value sorted by key).
pub(crate) fn mandrill(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    if is_url_check(inbound) {
        return Ok(url_check_reply());
    }
    require_post(inbound)?;
    let configured = ctx
        .secrets
        .get("mandrill")
        .map(str::trim)
        .filter(|k| !k.is_empty());
    require_media_type(inbound, FORM)?;
    let mut pairs = form_pairs(inbound.body);
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let raw_events = pairs
        .iter()
        .find(|(k, _)| k == "mandrill_events")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| AdapterError::Malformed("no `mandrill_events` field".into()))?;
    let mut signed = inbound.url.as_bytes().to_vec();
    for (k, v) in &pairs {
        signed.extend_from_slice(k.as_bytes());
        signed.extend_from_slice(v.as_bytes());
    }
    let given = crate::auth::header(inbound, "x-mandrill-signature")?;
    let verify = |key: &str| {
        check_base64(
            given,
            &hmac_sha1(key.as_bytes(), &[&signed]),
            "X-Mandrill-Signature",
        )
    };
    if raw_events.trim() == "[]" {
        // The URL test Mandrill sends when the webhook is saved (before its key is known).
        let test = verify(MANDRILL_TEST_KEY);
        let real = configured.map(&verify);
        return match (test, real) {
            (Ok(()), _) | (_, Some(Ok(()))) => Ok(url_check_reply()),
            (_, Some(Err(e))) | (Err(e), None) => Err(e),
        };
    }
    let key = secret(ctx.secrets, "mandrill")?;
    verify(key)?;
    let events: Value = serde_json::from_str(raw_events)
        .map_err(|e| AdapterError::Malformed(format!("`mandrill_events` is not JSON: {e}")))?;
    let Value::Array(events) = events else {
        return Err(AdapterError::Malformed(
            "`mandrill_events` is not a JSON array".into(),
        ));
    };
    let mapped = events
        .iter()
        .enumerate()
        .map(|(n, e)| mandrill_event(n, e, inbound.now))
        .collect::<Result<Vec<_>, _>>()?;
    email_events("mandrill", mapped, ctx.mapping)
}

fn mandrill_event(n: usize, e: &Value, now: Timestamp) -> Result<Mapped, AdapterError> {
    if !e.is_object() {
        return Err(AdapterError::Malformed(format!(
            "event {n} is not an object"
        )));
    }
    // Sync events (whitelist/blacklist) carry `type` instead of `event`.
    let Some(kind) = text_at(e, &["event"]) else {
        return Ok(Mapped::Ignored);
    };
    let signal = match kind.as_str() {
        "open" => Signal::EmailOpened,
        "click" => Signal::EmailClicked,
        "spam" => Signal::SpamComplaint,
        "unsub" => Signal::Unsubscribed,
        "hard_bounce" => Signal::Bounced,
        _ => return Ok(Mapped::Ignored),
    };
    let ts = e.get("ts").and_then(unix_seconds).unwrap_or(now);
    let msg_id = text_at(e, &["msg", "_id"]).or_else(|| text_at(e, &["_id"]));
    let url = text_at(e, &["url"]);
    // No unique event id: (message, event, time, link) identifies one.
    let id = format!(
        "h{}",
        digest(&[
            msg_id.as_deref().unwrap_or_default(),
            &kind,
            &ts.millis().to_string(),
            url.as_deref().unwrap_or_default(),
        ])
    );
    let robot = (text_at(e, &["user_agent_parsed", "type"]).as_deref() == Some("robot"))
        .then(|| "user_agent_parsed.type robot".to_string());
    Ok(item(EmailItem {
        email: parse_email(text_at(e, &["msg", "email"])),
        url,
        campaign: first_of(at(e, &["msg", "tags"]))
            .or_else(|| text_at(e, &["msg", "metadata", "campaign"])),
        message_id: msg_id,
        user_agent: user_agent(e, &["user_agent"]),
        robot,
        sent_at: at(e, &["msg", "ts"]).and_then(unix_seconds),
        ..EmailItem::new(id, signal, ts)
    }))
}

// ---- Postmark ----

/// Postmark: HTTP Basic credentials put in the webhook URL (`https://user:pass@...`); the
/// secret is `user:pass`.
pub(crate) fn postmark(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    require_post(inbound)?;
    let key = secret(ctx.secrets, "postmark")?;
    require_media_type(inbound, JSON)?;
    check_authorization(inbound, key)?;
    let e = parse_json(inbound.body)?;
    let kind = text_at(&e, &["RecordType"])
        .ok_or_else(|| AdapterError::Malformed("no `RecordType`".into()))?;
    let (signal, time_key, email_key) = match kind.as_str() {
        "Click" => (Signal::EmailClicked, "ReceivedAt", "Recipient"),
        "Open" => (Signal::EmailOpened, "ReceivedAt", "Recipient"),
        "Bounce"
            if matches!(
                text_at(&e, &["Type"]).as_deref(),
                Some("HardBounce" | "BadEmailAddress")
            ) =>
        {
            (Signal::Bounced, "BouncedAt", "Email")
        }
        "SpamComplaint" => (Signal::SpamComplaint, "BouncedAt", "Email"),
        "SubscriptionChange"
            if e.get("SuppressSending") == Some(&Value::Bool(true))
                && text_at(&e, &["SuppressionReason"]).as_deref() == Some("ManualSuppression") =>
        {
            (Signal::Unsubscribed, "ChangedAt", "Recipient")
        }
        _ => return email_events("postmark", vec![Mapped::Ignored], ctx.mapping),
    };
    let occurred_at = e.get(time_key).and_then(rfc3339).unwrap_or(inbound.now);
    let message_id = text_at(&e, &["MessageID"]);
    let url = text_at(&e, &["OriginalLink"]);
    let id = format!(
        "h{}",
        digest(&[
            message_id.as_deref().unwrap_or_default(),
            &kind,
            url.as_deref().unwrap_or_default(),
            &text_at(&e, &[time_key]).unwrap_or_default(),
            &text_at(&e, &["ID"]).unwrap_or_default(),
        ])
    );
    let item_ = EmailItem {
        email: parse_email(text_at(&e, &[email_key]).or_else(|| text_at(&e, &["Email"]))),
        url,
        campaign: text_at(&e, &["Tag"]),
        message_id,
        user_agent: matches!(signal, Signal::EmailClicked | Signal::EmailOpened)
            .then(|| user_agent(&e, &["UserAgent"]))
            .flatten(),
        ..EmailItem::new(id, signal, occurred_at)
    };
    email_events("postmark", vec![item(item_)], ctx.mapping)
}

// ---- Brevo ----

/// Brevo: HTTP Basic credentials (secret `user:pass`) or a Bearer token.
pub(crate) fn brevo(inbound: &Inbound<'_>, ctx: &Context<'_>) -> Result<Received, AdapterError> {
    require_post(inbound)?;
    let key = secret(ctx.secrets, "brevo")?;
    require_media_type(inbound, JSON)?;
    check_authorization(inbound, key)?;
    let body = parse_json(inbound.body)?;
    let events = match body {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(AdapterError::Malformed(
                "expected a JSON object or array".into(),
            ))
        }
    };
    let mapped = events
        .iter()
        .enumerate()
        .map(|(n, e)| brevo_event(n, e, inbound.now))
        .collect::<Result<Vec<_>, _>>()?;
    email_events("brevo", mapped, ctx.mapping)
}

fn brevo_event(n: usize, e: &Value, now: Timestamp) -> Result<Mapped, AdapterError> {
    let kind = text_at(e, &["event"])
        .ok_or_else(|| AdapterError::Malformed(format!("event {n}: no `event`")))?;
    let mut robot = None;
    let signal = match kind.as_str() {
        "click" => Signal::EmailClicked,
        "opened" | "unique_opened" => Signal::EmailOpened,
        "proxy_open" | "unique_proxy_open" => {
            robot = Some(format!("{kind} (Apple Mail Privacy Protection)"));
            Signal::EmailOpened
        }
        "hard_bounce" => Signal::Bounced,
        "spam" | "complaint" => Signal::SpamComplaint,
        "unsubscribed" | "unsubscribe" => Signal::Unsubscribed,
        "list_addition" | "listAddition" => Signal::NewsletterSubscribed,
        _ => return Ok(Mapped::Ignored),
    };
    let occurred_at = e
        .get("ts_epoch")
        .and_then(unix_millis)
        .or_else(|| e.get("ts_event").and_then(unix_seconds))
        .or_else(|| e.get("ts").and_then(unix_seconds))
        .or_else(|| {
            e.get("date")
                .and_then(Value::as_str)
                .and_then(plain_datetime)
        })
        .unwrap_or(now);
    let message_id = text_at(e, &["message-id"]);
    let url = text_at(e, &["link"]).or_else(|| text_at(e, &["URL"]));
    let email = text_at(e, &["email"]);
    // `id` is the account's webhook id, not the event's: derive one.
    let id = format!(
        "h{}",
        digest(&[
            message_id
                .as_deref()
                .or(text_at(e, &["camp_id"]).as_deref())
                .unwrap_or_default(),
            &kind,
            &occurred_at.millis().to_string(),
            url.as_deref().unwrap_or_default(),
            email.as_deref().unwrap_or_default(),
        ])
    );
    Ok(item(EmailItem {
        email: parse_email(email),
        url,
        campaign: first_of(e.get("tags"))
            .or_else(|| text_at(e, &["campaign name"]))
            .or_else(|| text_at(e, &["camp_id"])),
        message_id,
        robot,
        ..EmailItem::new(id, signal, occurred_at)
    }))
}

// ---- Mailchimp (audience webhooks) ----

/// Mailchimp audience webhooks sign nothing: the secret goes in the URL as `?token=<secret>`.
/// They carry list changes only (no opens or clicks: those come through Mandrill).
pub(crate) fn mailchimp(
    inbound: &Inbound<'_>,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    if is_url_check(inbound) {
        return Ok(url_check_reply());
    }
    require_post(inbound)?;
    let key = secret(ctx.secrets, "mailchimp")?;
    check_token(
        query_param(inbound.url, "token").as_deref(),
        key,
        "`token` query parameter",
    )?;
    require_media_type(inbound, FORM)?;
    crate::util::body_str(inbound.body)?;
    let pairs = form_pairs(inbound.body);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let kind = get("type").ok_or_else(|| AdapterError::Malformed("no `type` field".into()))?;
    let fired_at = get("fired_at");
    let signal = match kind.as_str() {
        "subscribe" => Signal::NewsletterSubscribed,
        "unsubscribe" => Signal::Unsubscribed,
        "cleaned" if get("data[reason]").as_deref() == Some("abuse") => Signal::SpamComplaint,
        "cleaned" => Signal::Bounced,
        // profile, upemail, campaign: no behaviour of the person.
        _ => return email_events("mailchimp", vec![Mapped::Ignored], ctx.mapping),
    };
    let email = get("data[email]");
    let merges: Vec<Field> = pairs
        .iter()
        .filter_map(|(k, v)| {
            let tag = k.strip_prefix("data[merges][")?.strip_suffix(']')?;
            (tag != "EMAIL").then(|| Field::new(tag, Value::String(v.clone())))
        })
        .collect();
    let profile = read_fields(&merges, ctx.mapping).profile;
    let id = format!(
        "h{}",
        digest(&[
            &kind,
            fired_at.as_deref().unwrap_or_default(),
            get("data[id]")
                .or(email.clone())
                .as_deref()
                .unwrap_or_default(),
            get("data[list_id]").as_deref().unwrap_or_default(),
        ])
    );
    let item_ = EmailItem {
        email: parse_email(email),
        profile,
        ..EmailItem::new(
            id,
            signal,
            fired_at
                .as_deref()
                .and_then(plain_datetime)
                .unwrap_or(inbound.now),
        )
    };
    email_events("mailchimp", vec![item(item_)], ctx.mapping)
}
