//! `leadscore serve`'s notifier: the embedded store's outbox drained (every lead whose state
//! changed, stepped, then its mark cleared if no newer change came meanwhile), the daily run
//! at start and every day, and the parked notifications replayed with back-off (30 s,
//! doubling to 1 h while a destination keeps failing). Parked notifications wait in the
//! embedded store ([`EmbeddedParking`]).

use crate::{Notifier, Outgoing, ParkError, Parked, ParkedPage, Parking};
use async_trait::async_trait;
use leadscore_store::Embedded;
use std::sync::Arc;
use std::time::Duration;

/// Outbox ids read at once.
const DRAIN_PAGE: usize = 64;
/// The wait when the outbox is empty.
const IDLE: Duration = Duration::from_millis(200);
pub const REPLAY_FIRST: Duration = Duration::from_secs(30);
pub const REPLAY_MAX: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(86_400);

/// `leadscore serve`'s hook: destinations from `vars` (parked in the embedded store), the
/// notifier over `store`, its tasks spawned on the current runtime. `base_url`: the server's
/// own URL, unless `LEADSCORE_PUBLIC_URL` is set. Returns what to print: one line per
/// destination.
pub fn start(
    store: &Embedded,
    rules_toml: &str,
    vars: &[(String, String)],
    base_url: &str,
) -> Result<Vec<String>, crate::ConfigError> {
    let destinations = crate::Destinations::embedded(vars, store.clone())?;
    let public = vars
        .iter()
        .find(|(n, _)| n == crate::PUBLIC_URL_VAR)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .unwrap_or(base_url);
    let lines = if destinations.is_empty() {
        vec!["none (set LEADSCORE_WEBHOOK_<NAME> with LEADSCORE_WEBHOOK_SECRET_<NAME>, or LEADSCORE_EVENT_BUS)".to_string()]
    } else {
        destinations.describe()
    };
    let notifier = Notifier::new(Arc::new(store.clone()), rules_toml, destinations, public)?;
    spawn(store.clone(), Arc::new(notifier));
    Ok(lines)
}

/// Spawns the drainer, the daily run and the replay on the current runtime.
pub fn spawn(store: Embedded, notifier: Arc<Notifier>) {
    tokio::spawn(drain(store, notifier.clone()));
    tokio::spawn(daily(notifier.clone()));
    tokio::spawn(replay(notifier, REPLAY_FIRST));
}

/// The outbox, drained for ever.
pub async fn drain(store: Embedded, notifier: Arc<Notifier>) {
    loop {
        let pending = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.pending_handoffs(DRAIN_PAGE)).await
        };
        let pending = match pending {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the hand-off outbox");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox read panicked");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if pending.is_empty() {
            tokio::time::sleep(IDLE).await;
            continue;
        }
        let done = drain_once(&store, &notifier, pending).await;
        if done == 0 {
            // Every step failed (storage trouble): do not spin.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Steps these outbox entries; returns how many were cleared.
pub async fn drain_once(
    store: &Embedded,
    notifier: &Notifier,
    pending: Vec<(leadscore_scoring::LeadId, u64)>,
) -> usize {
    let now = leadscore_store::system_now();
    let mut cleared = 0;
    for chunk in pending.chunks(crate::PARALLEL) {
        let steps = chunk.iter().map(|(id, _)| notifier.step(id, now));
        let mut stepped = Vec::new();
        for ((id, seq), result) in chunk.iter().zip(crate::join_all(steps).await) {
            match result {
                Ok(_) => stepped.push((id.clone(), *seq)),
                Err(e) => tracing::warn!(lead = %id, error = %e, "hand-off failed; retried"),
            }
        }
        // Cleared together: one write, one read of the outbox.
        match store.clear_handoffs(&stepped).await {
            Ok(()) => cleared += stepped.len(),
            Err(e) => {
                tracing::error!(error = %e, leads = stepped.len(), "cannot clear the outbox marks")
            }
        }
    }
    cleared
}

async fn daily(notifier: Arc<Notifier>) {
    loop {
        if let Err(e) = notifier.daily(leadscore_store::system_now()).await {
            tracing::error!(error = %e, "daily hand-off failed; retried tomorrow");
        }
        tokio::time::sleep(DAY).await;
    }
}

/// Replays parked notifications: every `first` while all goes well, doubling up to
/// `REPLAY_MAX` while something parked still cannot be delivered.
pub async fn replay(notifier: Arc<Notifier>, first: Duration) {
    let mut wait = first;
    loop {
        tokio::time::sleep(wait).await;
        match notifier.replay().await {
            Ok(r) if r.remaining > 0 && r.delivered == 0 => {
                wait = (wait * 2).min(REPLAY_MAX);
                tracing::info!(
                    still_parked = r.remaining,
                    next_in_s = wait.as_secs(),
                    "parked notifications still not delivered"
                );
            }
            Ok(r) => {
                if r.delivered > 0 {
                    tracing::info!(
                        replayed = r.delivered,
                        still_parked = r.remaining,
                        "parked notifications delivered"
                    );
                }
                wait = first;
            }
            Err(e) => {
                wait = (wait * 2).min(REPLAY_MAX);
                tracing::error!(error = %e, "cannot read parked notifications");
            }
        }
    }
}

/// The embedded store's parked table: key `<destination>/<notification id>` (parking the
/// same one twice keeps one), value the notification document.
pub struct EmbeddedParking {
    store: Embedded,
}

impl EmbeddedParking {
    pub fn new(store: Embedded) -> EmbeddedParking {
        EmbeddedParking { store }
    }
}

fn store_error(e: impl std::fmt::Display) -> ParkError {
    ParkError(format!("embedded store: {e}"))
}

#[async_trait]
impl Parking for EmbeddedParking {
    fn describe(&self) -> String {
        "the local store (replayed by `leadscore serve`)".to_string()
    }

    async fn park(&self, destination: &str, n: &Outgoing) -> Result<(), ParkError> {
        let (store, key, body) = (
            self.store.clone(),
            format!("{destination}/{}", n.id),
            n.body.clone(),
        );
        tokio::task::spawn_blocking(move || store.park(&key, &body))
            .await
            .map_err(store_error)?
            .map_err(store_error)
    }

    async fn take(&self, limit: usize) -> Result<ParkedPage, ParkError> {
        let store = self.store.clone();
        let rows = tokio::task::spawn_blocking(move || store.parked(limit))
            .await
            .map_err(store_error)?
            .map_err(store_error)?;
        let mut page = ParkedPage::default();
        for (key, body) in rows {
            let destination = key.rsplit_once('/').map(|(d, _)| d.to_string());
            match (destination, Outgoing::from_json(&body)) {
                (Some(destination), Ok(notification)) => page.parked.push(Parked {
                    destination,
                    notification,
                    handle: key,
                }),
                _ => {
                    tracing::warn!(key = %key, "a parked entry is not a notification; left there");
                    page.unreadable += 1;
                }
            }
        }
        Ok(page)
    }

    async fn release(&self, handle: &str) -> Result<(), ParkError> {
        let (store, key) = (self.store.clone(), handle.to_string());
        tokio::task::spawn_blocking(move || store.unpark(&key))
            .await
            .map_err(store_error)?
            .map_err(store_error)
    }
}
