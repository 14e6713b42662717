//! The per-lead step and the daily run: load the lead, its erasure marker and its hand-off
//! record; the pure diff (`leadscore_handoff::hand_off`); deliver (parking failures); write
//! the new record with its compare-and-set version (on a conflict read again and redo,
//! bounded); aggregate the accounts the lead is or was in.

use crate::{ConfigError, Delivered, Destinations, Outgoing, ParkError, Replayed};
use leadscore_handoff::{account_of, domain_index, HandoffConfig, MemberSummary, Remembered};
use leadscore_scoring::{LeadId, OverShipped, Rules, Stage, Timestamp};
use leadscore_store::{HandoffRecord, LeadKey, LeadStore, StoreError, MAX_PAGE};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The base of the `url` in notifications (`<base>/leads/<id>`).
pub const PUBLIC_URL_VAR: &str = "LEADSCORE_PUBLIC_URL";
/// Reads and redoes of one lead's step when another writer keeps winning the record.
const CAS_TRIES: u32 = 4;
/// Leads stepped at once by the daily run and a stream batch.
pub const PARALLEL: usize = 8;
/// Parked notifications read per replay pass.
pub const REPLAY_PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Park(#[from] ParkError),
    #[error("the hand-off record kept changing under this step; retry")]
    Contention,
}

/// What one lead's step did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub notifications: usize,
    pub delivered: usize,
    pub parked: usize,
    /// The hand-off record was written (something changed).
    pub written: bool,
}

/// What the daily run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DailyReport {
    pub leads: usize,
    pub notifications: usize,
    /// Leads whose step failed (logged; the next run or stream record retries them).
    pub failed: usize,
    pub accounts: usize,
    pub replayed: Replayed,
}

/// A step's result and what its account upkeep needs.
#[derive(Debug, Default)]
struct StepDone {
    report: StepReport,
    accounts: BTreeSet<String>,
    memberships: BTreeSet<String>,
    summary: Option<MemberSummary>,
}

pub struct Notifier {
    store: Arc<dyn LeadStore>,
    rules: Arc<Rules>,
    config: Arc<HandoffConfig>,
    destinations: Arc<Destinations>,
    base_url: String,
}

impl Notifier {
    /// A notifier over `store`, with the rules file's text (scoring rules, `[segments.*]`,
    /// `[accounts]`), where notifications go, and the public URL of the API.
    pub fn new(
        store: Arc<dyn LeadStore>,
        rules_toml: &str,
        destinations: Destinations,
        base_url: &str,
    ) -> Result<Notifier, ConfigError> {
        let error = |e: &dyn std::fmt::Display| ConfigError(e.to_string());
        // The shipped file as compiled at build time (no TOML read at start); a user's file
        // parsed once, its sections over the shipped ones.
        let shipped = leadscore_edge::shipped_rules().map_err(|e| error(&e))?;
        let files = OverShipped::rules_file(shipped, rules_toml).map_err(|e| error(&e))?;
        let config = HandoffConfig::from_sections(&files.shipped.sections, files.own_sections())
            .map_err(|e| error(&e))?;
        Ok(Notifier {
            store,
            rules: Arc::new(files.own.unwrap_or(files.shipped).rules),
            config: Arc::new(config),
            destinations: Arc::new(destinations),
            base_url: base_url.trim_end_matches('/').to_string(),
        })
    }

    pub fn destinations(&self) -> &Destinations {
        &self.destinations
    }

    /// Hands one lead off (the stream's and the outbox's unit of work), accounts included.
    pub async fn step(&self, id: &LeadId, now: Timestamp) -> Result<StepReport, NotifyError> {
        let done = self.step_lead(id, now).await?;
        for domain in &done.accounts {
            // This lead's own entry as just written: the index may lag (DynamoDB's GSI).
            let own = done
                .memberships
                .contains(&domain_index(domain))
                .then_some(done.summary.as_ref())
                .flatten();
            self.refresh_account(domain, Some((id, own))).await?;
        }
        Ok(done.report)
    }

    /// The step without the account upkeep: the report and the domains to aggregate again.
    async fn step_lead(&self, id: &LeadId, now: Timestamp) -> Result<StepDone, NotifyError> {
        for attempt in 1..=CAS_TRIES {
            // The marker first: an erasure begun after it was read refuses the put below.
            let erased = self.store.erased_at(id).await?;
            let lead = self
                .store
                .get(&LeadKey::Id(id.clone()), &self.rules, now)
                .await?
                .map(|stored| stored.state);
            let record = self.store.handoff(id).await?;
            if lead.is_none() && erased.is_none() && record.is_none() {
                // An id the table knows nothing about as a lead (a visitor's alias...).
                return Ok(StepDone::default());
            }
            let prev = record.as_ref().and_then(|r| match Remembered::from_json(&r.body) {
                Ok(prev) => Some(prev),
                Err(e) => {
                    // Starting over re-sends with the same ids: receivers drop duplicates.
                    tracing::warn!(lead = %id, error = %e, "unreadable hand-off record; starting over");
                    None
                }
            });
            let step = leadscore_handoff::hand_off(
                id,
                prev.as_ref(),
                lead.as_ref(),
                erased,
                &self.rules,
                &self.config,
                now,
                &self.base_url,
            );
            let unchanged = record.as_ref().is_some_and(|r| {
                r.body == step.body
                    && r.memberships == step.memberships
                    && r.summary == step.summary_json
            });
            if unchanged && step.notifications.is_empty() {
                return Ok(StepDone::default());
            }
            let outgoing: Vec<Outgoing> = step.notifications.iter().map(outgoing).collect();
            let Delivered { delivered, parked } = self.destinations.deliver(&outgoing).await?;
            let next = HandoffRecord {
                version: record.as_ref().map_or(0, |r| r.version),
                body: step.body.clone(),
                memberships: step.memberships.clone(),
                summary: step.summary_json.clone(),
                erased_seen: erased,
            };
            let report = StepReport {
                notifications: outgoing.len(),
                delivered,
                parked,
                written: true,
            };
            if self.store.put_handoff(id, &next).await? {
                tracing::info!(lead = %id, notifications = outgoing.len(), delivered, parked,
                    ids = ?outgoing.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), "lead handed off");
                return Ok(StepDone {
                    report,
                    accounts: step.accounts,
                    memberships: step.memberships,
                    summary: step.summary,
                });
            }
            if erased.is_some() {
                // Refused for an erased lead: nothing of it is to be remembered.
                tracing::info!(lead = %id, notifications = outgoing.len(), "erased lead handed off");
                return Ok(StepDone {
                    report: StepReport {
                        written: false,
                        ..report
                    },
                    accounts: step.accounts,
                    ..StepDone::default()
                });
            }
            tracing::debug!(lead = %id, attempt, "hand-off record changed meanwhile; again");
        }
        Err(NotifyError::Contention)
    }

    /// Aggregates one account from its members (all pages) and writes it, or deletes it
    /// when no member is left. `own`: a lead just written and its summary (or None if it
    /// left), which replaces what the (eventually consistent) index says of it.
    async fn refresh_account(
        &self,
        domain: &str,
        own: Option<(&LeadId, Option<&MemberSummary>)>,
    ) -> Result<(), StoreError> {
        let index = domain_index(domain);
        let mut members = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self
                .store
                .members(&index, cursor.as_deref(), MAX_PAGE)
                .await?;
            for (lead, bytes) in page {
                if own.is_some_and(|(id, _)| *id == lead) {
                    continue;
                }
                match MemberSummary::from_json(&bytes) {
                    Ok(summary) => members.push(summary),
                    Err(e) => {
                        tracing::warn!(lead = %lead, error = %e, "unreadable member summary; left out")
                    }
                }
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if let Some((_, Some(summary))) = own {
            members.push(summary.clone());
        }
        if members.is_empty() {
            self.store.delete_account(domain).await?;
            tracing::info!(members = 0, "account deleted");
        } else {
            let account = account_of(domain, &members, &self.config);
            self.store
                .put_account(domain, account.score, &account.to_json())
                .await?;
            tracing::debug!(
                members = members.len(),
                score = account.score,
                "account aggregated"
            );
        }
        Ok(())
    }

    /// Every lead of every stage listing through the step with `now` (time-only segment
    /// changes, decayed figures, anything a lost stream record missed), every account
    /// aggregated again (those of erased leads included), then a replay of what is parked.
    pub async fn daily(&self, now: Timestamp) -> Result<DailyReport, NotifyError> {
        let mut ids = BTreeSet::new();
        for stage in Stage::ALL {
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store
                    .list_by_stage(stage, None, MAX_PAGE, cursor.as_deref(), &self.rules, now)
                    .await?;
                ids.extend(page.leads.into_iter().map(|l| l.state.id));
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        let mut report = DailyReport {
            leads: ids.len(),
            ..DailyReport::default()
        };
        let mut domains = BTreeSet::new();
        let ids: Vec<LeadId> = ids.into_iter().collect();
        for chunk in ids.chunks(PARALLEL) {
            let steps = chunk.iter().map(|id| self.step_lead(id, now));
            for (id, result) in chunk.iter().zip(crate::join_all(steps).await) {
                match result {
                    Ok(done) => {
                        report.notifications += done.report.notifications;
                        domains.extend(done.accounts);
                    }
                    Err(e) => {
                        tracing::warn!(lead = %id, error = %e, "daily hand-off failed for a lead");
                        report.failed += 1;
                    }
                }
            }
        }
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self
                .store
                .accounts_by_score(cursor.as_deref(), MAX_PAGE)
                .await?;
            domains.extend(page.into_iter().map(|(domain, _)| domain));
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        for domain in &domains {
            self.refresh_account(domain, None).await?;
        }
        report.accounts = domains.len();
        report.replayed = self.replay().await?;
        tracing::info!(
            leads = report.leads,
            notifications = report.notifications,
            failed = report.failed,
            accounts = report.accounts,
            replayed = report.replayed.delivered,
            still_parked = report.replayed.remaining,
            "daily hand-off done"
        );
        Ok(report)
    }

    /// One replay pass over the parked notifications.
    pub async fn replay(&self) -> Result<Replayed, ParkError> {
        self.destinations.replay(REPLAY_PAGE).await
    }
}

/// A hand-off notification as the sinks carry it.
pub fn outgoing(n: &leadscore_handoff::Notification) -> Outgoing {
    let body = serde_json::to_vec(&n.to_json()).unwrap_or_default();
    Outgoing {
        id: n.id.clone(),
        kind: n.kind.as_str().to_string(),
        at: n.timestamp,
        body: body.into(),
    }
}
