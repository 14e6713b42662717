//! `POST /webhooks/{forms|chatbot|email}/{source}` (and the GET/HEAD URL checks of email
//! providers): verify with the provider's scheme, read into events, apply each through the
//! store, answer with the counts or the reply the provider expects.
//!
//! Verification and parsing happen before any write, so a refused request writes nothing. A
//! batch that meets a storage failure half-way answers 503: the provider retries the whole
//! batch and the events already applied come back as duplicates.

use crate::{client_ip, header, json_response, ApiError, App, MAX_WEBHOOK_BODY};
use lambda_http::{Body, Request, RequestExt, Response};
use leadscore_providers::{AdapterError, Channel, Context, Inbound};
use leadscore_scoring::Timestamp;
use leadscore_store::{Delivery, DeliveryCheck, StoreError};
use serde_json::json;
use sha2::{Digest, Sha256};

pub(crate) async fn receive(
    app: &App,
    req: &Request,
    channel: Channel,
    source: &str,
) -> Result<Response<Body>, ApiError> {
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_WEBHOOK_BODY {
        return Err(ApiError::TooLarge {
            limit: MAX_WEBHOOK_BODY,
        });
    }
    let now = app.now();
    let ip = client_ip(req);
    // The one source nobody signs: per-IP limit and, when configured, human verification.
    crate::html::admit(app, req, channel, source, ip, now).await?;
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(n, v)| {
            Some((
                n.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let url = public_url(req);
    let method = req.method().as_str().to_string();

    let mut fetched = false;
    let received = loop {
        let certificates = app
            .certificates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let ctx = Context {
            secrets: &app.secrets,
            mapping: &app.mapping,
            sns_certificates: &certificates,
        };
        let inbound = Inbound {
            method: &method,
            url: &url,
            headers: &headers,
            body,
            client_ip: ip,
            now,
        };
        match leadscore_providers::receive(channel, source, &inbound, &ctx) {
            Err(AdapterError::NeedCertificate(cert_url)) if !fetched => {
                let pem = app.fetch.get(&cert_url).await.map_err(|e| {
                    ApiError::Unavailable(format!("SNS certificate {cert_url}: {e}"))
                })?;
                app.certificates
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(cert_url, pem);
                fetched = true;
            }
            other => break other?,
        }
    };

    if let Some(confirm) = &received.confirm_subscription {
        app.fetch
            .get(confirm)
            .await
            .map_err(|e| ApiError::Unavailable(format!("SNS subscription confirmation: {e}")))?;
        tracing::info!(source, "SNS subscription confirmed");
    }

    // A signature that does not cover the body (Mailgun) is bound to the body here.
    let delivery = received
        .signed_token
        .as_ref()
        .map(|t| bound_delivery(source, &t.token, t.expires_at, body));
    if let Some(d) = &delivery {
        if app.store.check_delivery(d, now).await? == DeliveryCheck::Conflict {
            return Err(ApiError::Unauthorized(
                "this signature's token already came with another body: a replayed signature"
                    .into(),
            ));
        }
    }

    let (mut accepted, mut duplicates, mut ignored) = (0u32, 0u32, received.ignored);
    // Grouped by lead: one read and one publish per lead, leads in parallel.
    let results = app
        .store
        .apply_batch(&received.events, &app.rules, now)
        .await;
    for (event, result) in received.events.iter().zip(results) {
        match result {
            Ok(applied) if applied.duplicate => duplicates += 1,
            Ok(applied) if applied.dropped => {
                // An erased person's old event, redelivered: not brought back.
                ignored += 1;
                tracing::info!(source, lead = %applied.lead_id, "event of an erased lead dropped");
            }
            Ok(applied) => {
                accepted += 1;
                tracing::info!(
                    source,
                    lead = %applied.lead_id,
                    signal = %event.signal,
                    bot = event.is_bot(),
                    stage = applied.state.as_ref().map(|s| s.stage.as_str()),
                    moved = applied.transitions.len(),
                    "event applied"
                );
            }
            // Sales decisions do not come through webhooks (the adapters refuse them); should
            // one slip through, it is counted, not applied.
            Err(StoreError::InvalidTransition(_) | StoreError::NotFound) => ignored += 1,
            Err(e) => return Err(e.into()),
        }
    }

    if let Some(d) = &delivery {
        // Recorded once the events are in, so a 503 above leaves nothing and its retry lands.
        if app.store.record_delivery(d, now).await? == DeliveryCheck::Conflict {
            // Another body took the token between the check and now (a race a captured
            // signature would need to win within milliseconds): its events are in; say so.
            tracing::warn!(source, "signed token recorded with another body meanwhile");
        }
    }

    if let Some(reply) = received.reply {
        return Ok(Response::builder()
            .status(reply.status)
            .header("content-type", reply.content_type)
            .body(Body::from(reply.body))
            .unwrap_or_else(|_| Response::new(Body::Empty)));
    }
    Ok(json_response(
        200,
        &json!({ "accepted": accepted, "duplicates": duplicates, "ignored": ignored }),
    ))
}

/// The token of `source` bound to `body` until `expires_at`, as the store remembers it: both
/// as SHA-256 digests (a fixed-size key, nothing of the request kept).
fn bound_delivery(source: &str, token: &str, expires_at: Timestamp, body: &[u8]) -> Delivery {
    let key = Sha256::new()
        .chain_update(source.as_bytes())
        .chain_update([0u8])
        .chain_update(token.as_bytes())
        .finalize();
    Delivery {
        key: hex::encode(key),
        digest: hex::encode(Sha256::digest(body)),
        expires_at,
    }
}

/// The URL the provider called, as it signed it: `https://{domainName}{rawPath}?{rawQuery}`.
/// The local server is plain HTTP; a proxy can say otherwise with X-Forwarded-Proto.
fn public_url(req: &Request) -> String {
    let (domain, local) = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => (
            ctx.domain_name.clone(),
            ctx.apiid.as_deref() == Some("local"),
        ),
        _ => (None, false),
    };
    let host = domain
        .or_else(|| header(req, "host").map(str::to_string))
        .unwrap_or_else(|| "localhost".to_string());
    let scheme = header(req, "x-forwarded-proto")
        .map(str::to_string)
        .unwrap_or_else(|| if local { "http" } else { "https" }.to_string());
    let path = req.raw_http_path();
    let path = if path.is_empty() {
        req.uri().path()
    } else {
        path
    };
    match req.uri().query() {
        Some(q) if !q.is_empty() => format!("{scheme}://{host}{path}?{q}"),
        _ => format!("{scheme}://{host}{path}"),
    }
}
