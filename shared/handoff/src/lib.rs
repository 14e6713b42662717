//! leadscore's hand-off core: what a lead's folded state calls for telling the world.
//!
//! Pure like `leadscore-scoring`: no I/O, no clock (`now` is an argument), no AWS or HTTP
//! types. The notifier (shared/notify) loads a lead and its hand-off record, calls
//! [`hand_off`], delivers the notifications and stores what the [`Step`] says to remember.
//!
//! - `config.rs`: the rules file's `[segments.<name>]` and `[accounts]` sections.
//! - `segments.rs`: segment membership of a lead.
//! - `accounts.rs`: corporate domains, buying-group roles, member summaries, accounts.
//! - `notification.rs`: notifications, their ids and wire JSON, and [`Remembered`].

mod accounts;
mod config;
mod notification;
mod segments;

pub use accounts::{
    builtin_personal_domain, roles_of, Account, AccountLead, AccountRules, MemberSummary, Role,
    MAX_ACCOUNT_LEADS, ROLE_KEYWORDS,
};
pub use config::{ConfigError, HandoffConfig};
pub use notification::{
    Kind, Notification, NotifiedMove, Remembered, SegmentEntry, MAX_REMEMBERED_MOVES,
};
pub use segments::{has_any_signal, is_recycled, InvalidSegmentName, SegmentDef, SegmentName};

use leadscore_scoring::{score, Email, LeadId, LeadState, Rules, ScoreBreakdown, Timestamp};
use md5::{Digest as _, Md5};
use notification::{move_id, notification_id};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// One lead's hand-off: what to send, then what to store (the hand-off record).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// In event-time order (ties in the order they happened).
    pub notifications: Vec<Notification>,
    pub remembered: Remembered,
    /// `remembered` as stored: the hand-off record's `body`.
    pub body: Vec<u8>,
    /// The lead's index memberships: `segment:<name>` per segment it is in, `domain:<domain>`
    /// for its account. Empty for an erased or unknown lead.
    pub memberships: BTreeSet<String>,
    /// The lead's summary (None for an erased or unknown lead)...
    pub summary: Option<MemberSummary>,
    /// ...as stored with each index entry (empty when None).
    pub summary_json: Vec<u8>,
    /// Domains whose account should be aggregated again from their members: the lead's
    /// account now and the one it was in before (its figures changed or it left).
    pub accounts: BTreeSet<String>,
}

/// The index name of a segment's members.
pub fn segment_index(name: &str) -> String {
    format!("segment:{name}")
}

/// The index name of an account's members.
pub fn domain_index(domain: &str) -> String {
    format!("domain:{domain}")
}

/// Account aggregation with the configuration's `[accounts]`.
pub fn account_of(domain: &str, members: &[MemberSummary], config: &HandoffConfig) -> Account {
    Account::of(domain, members, config.accounts())
}

/// The per-lead diff. `id`: the lead handed off (the outbox's id); `prev`: its hand-off record
/// read (None: none yet, purged by an erasure, or unreadable); `lead`: the lead as the store
/// reads it now (None: absent or erased); `erased_at`: its erasure marker's time, if any.
///
/// - every move of `stage_history` not notified yet gives one `lead.stage_changed` (a move a
///   re-fold removed is neither notified again nor taken back);
/// - the PQL flag turning on gives one `lead.stage_changed` with `change: "pql"`, once;
/// - each segment entered or left gives `lead.segment_entered` / `lead.segment_left`;
/// - an erasure not yet notified gives one `lead.erased` (lead id and time only). An erased
///   lead leaves its segments and account silently: receivers forget it on `lead.erased`.
///
/// A lead read under another id (a stitched visitor's id resolving to its lead) counts as
/// absent here: the lead is handed off under its own id, so its memberships are listed once.
// The design's seven arguments plus the lead id, which an erased lead (no state, its record
// purged) has nowhere else.
#[allow(clippy::too_many_arguments)]
pub fn hand_off(
    id: &LeadId,
    prev: Option<&Remembered>,
    lead: Option<&LeadState>,
    erased_at: Option<Timestamp>,
    rules: &Rules,
    config: &HandoffConfig,
    now: Timestamp,
    base_url: &str,
) -> Step {
    let lead = lead.filter(|l| l.id == *id);
    let prev = prev.cloned().unwrap_or_default();
    let mut next = prev.clone();
    let mut notifications = Vec::new();
    let mut accounts: BTreeSet<String> = prev.domain.iter().cloned().collect();

    if let Some(erased) = erased_at.filter(|e| prev.erased_at != Some(*e)) {
        notifications.push(erased_notification(id, erased));
        next.erased_at = Some(erased);
    }

    let (memberships, summary) = match lead {
        None => {
            next.segments.clear();
            next.domain = None;
            (BTreeSet::new(), None)
        }
        Some(lead) => {
            let breakdown = score(lead, rules, now);
            let ctx = Context {
                lead,
                breakdown: &breakdown,
                url: format!("{}/leads/{}", base_url.trim_end_matches('/'), lead.id),
                now,
            };
            notifications.extend(stage_moves(&ctx, &prev, &mut next));
            notifications.extend(pql(&ctx, rules, &mut next));
            notifications.extend(segment_changes(&ctx, rules, config, &mut next));
            let domain = lead
                .email
                .as_ref()
                .and_then(|e| config.accounts().corporate_domain(e, rules));
            accounts.extend(domain.iter().cloned());
            next.domain = domain;
            let mut memberships: BTreeSet<String> =
                next.segments.keys().map(|s| segment_index(s)).collect();
            memberships.extend(next.domain.as_deref().map(domain_index));
            let summary = MemberSummary::of(lead, &breakdown, config.accounts());
            (memberships, Some(summary))
        }
    };

    // Stable: moves of one instant stay in history order, a leave before an entry.
    notifications.sort_by_key(|n| n.at);
    let body = next.to_json();
    let summary_json = summary
        .as_ref()
        .map(MemberSummary::to_json)
        .unwrap_or_default();
    Step {
        notifications,
        remembered: next,
        body,
        memberships,
        summary,
        summary_json,
        accounts,
    }
}

fn erased_notification(id: &LeadId, erased: Timestamp) -> Notification {
    Notification {
        id: notification_id(id, Kind::Erased, &[json!(erased.millis())]),
        kind: Kind::Erased,
        lead: id.clone(),
        at: erased,
        timestamp: erased,
        data: json!({ "lead": id, "erased_at": erased }),
    }
}

/// What every notification about a present lead reads.
struct Context<'a> {
    lead: &'a LeadState,
    breakdown: &'a ScoreBreakdown,
    url: String,
    now: Timestamp,
}

impl Context<'_> {
    fn email(&self) -> Option<&str> {
        self.lead.email.as_ref().map(Email::as_str)
    }

    fn score(&self) -> Value {
        json!({
            "total": self.breakdown.total,
            "fit": self.breakdown.fit,
            "engagement": self.breakdown.engagement,
            "grade": self.breakdown.grade,
        })
    }
}

fn stage_moves(ctx: &Context<'_>, prev: &Remembered, next: &mut Remembered) -> Vec<Notification> {
    let lead = ctx.lead;
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (i, t) in lead.stage_history.iter().enumerate() {
        let occurrence = lead.stage_history[..i]
            .iter()
            .filter(|k| k.same_move(t))
            .count();
        let id = move_id(&lead.id, t, occurrence);
        seen.push(NotifiedMove {
            id: id.clone(),
            recorded_at: t.recorded_at,
        });
        if prev.notified(&id, t.recorded_at) {
            continue;
        }
        out.push(Notification {
            id,
            kind: Kind::StageChanged,
            lead: lead.id.clone(),
            at: t.at,
            timestamp: t.recorded_at,
            data: json!({
                "lead": lead.id,
                "email": ctx.email(),
                "change": "stage",
                "from": t.from,
                "to": t.to,
                "at": t.at,
                "cause": t.cause,
                "score": ctx.score(),
                "pql": lead.pql,
                "url": ctx.url,
            }),
        });
    }
    next.remember_moves(seen, MAX_REMEMBERED_MOVES);
    out
}

fn pql(ctx: &Context<'_>, rules: &Rules, next: &mut Remembered) -> Option<Notification> {
    let lead = ctx.lead;
    if !lead.pql || next.pql {
        return None;
    }
    next.pql = true;
    // When it turned on: the first PQL hit still held one by one, else the checkpoint its
    // summary is anchored at (both are the lead's, so retries agree).
    let at = lead
        .hits
        .iter()
        .filter(|h| !h.is_bot() && rules.pql_signals().contains(&h.signal))
        .map(|h| h.at)
        .min()
        .or_else(|| lead.checkpoint.as_ref().map(|c| c.at))
        .unwrap_or(lead.first_seen);
    Some(Notification {
        id: notification_id(&lead.id, Kind::StageChanged, &[json!("pql")]),
        kind: Kind::StageChanged,
        lead: lead.id.clone(),
        at,
        timestamp: ctx.now,
        data: json!({
            "lead": lead.id,
            "email": ctx.email(),
            "change": "pql",
            "stage": lead.stage,
            "at": at,
            "score": ctx.score(),
            "pql": true,
            "url": ctx.url,
        }),
    })
}

fn segment_changes(
    ctx: &Context<'_>,
    rules: &Rules,
    config: &HandoffConfig,
    next: &mut Remembered,
) -> Vec<Notification> {
    let lead = ctx.lead;
    let now_in: Vec<&SegmentDef> = config
        .segments()
        .iter()
        .filter(|s| s.contains(lead, ctx.breakdown))
        .collect();
    let names: BTreeSet<&str> = now_in.iter().map(|s| s.name()).collect();
    let mut out = Vec::new();
    let left: Vec<String> = next
        .segments
        .keys()
        .filter(|k| !names.contains(k.as_str()))
        .cloned()
        .collect();
    for name in left {
        let Some(entry) = next.segments.remove(&name) else {
            continue;
        };
        out.push(segment_notification(
            ctx,
            Kind::SegmentLeft,
            &name,
            notification_id(&lead.id, Kind::SegmentLeft, &[json!(name), json!(entry.id)]),
            Some(entry.entered_at),
        ));
    }
    for def in now_in {
        if next.segments.contains_key(def.name()) {
            continue;
        }
        // The state the entry was decided on: the same lead under the same rules and
        // definition gives the same id on a retry, and a score that only decays cannot
        // enter twice from one state.
        let id = notification_id(
            &lead.id,
            Kind::SegmentEntered,
            &[
                json!(def.name()),
                json!(def.fingerprint()),
                json!(rules.fingerprint()),
                json!(lead.events),
                json!(lead.stage_history.len()),
            ],
        );
        out.push(segment_notification(
            ctx,
            Kind::SegmentEntered,
            def.name(),
            id.clone(),
            None,
        ));
        next.segments.insert(
            def.name().to_string(),
            SegmentEntry {
                entered_at: ctx.now,
                id,
            },
        );
    }
    out
}

fn segment_notification(
    ctx: &Context<'_>,
    kind: Kind,
    segment: &str,
    id: String,
    entered_at: Option<Timestamp>,
) -> Notification {
    let mut data = json!({
        "lead": ctx.lead.id,
        "email": ctx.email(),
        // Mailchimp names a member by this hash in its paths (tags, status): an EventBridge
        // API destination can then follow a segment without code (README "Hand-off").
        "email_md5": ctx.email().map(|e| hex::encode(Md5::digest(e.as_bytes()))),
        "segment": segment,
        "stage": ctx.lead.stage,
        "score": ctx.score(),
        "url": ctx.url,
    });
    if let (Some(at), Some(map)) = (entered_at, data.as_object_mut()) {
        map.insert("entered_at".into(), json!(at));
    }
    Notification {
        id,
        kind,
        lead: ctx.lead.id.clone(),
        at: ctx.now,
        timestamp: ctx.now,
        data,
    }
}
