//! Every configured destination, delivered independently: each destination takes a lead's
//! notifications in order, destinations concurrently; what fails after its retries is parked
//! for that destination only. A destination whose retries ran out is *down* for a while:
//! notifications meanwhile are parked without trying, so one dead receiver costs every other
//! lead nothing (the replay delivers them when it is back).

use crate::eventbridge::EventBridgeSink;
use crate::park::{NoParking, ParkError, Parking, SqsParking, DEAD_LETTER_QUEUE_VAR};
use crate::retry::{deliver_with_retries, Backoff, Outcome};
use crate::webhook::{webhooks_from_vars, WebhookSink};
use crate::{join_all, ConfigError, Outgoing, Sink};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How long a destination whose retries ran out is skipped (its notifications parked).
pub const DOWN_FOR: Duration = Duration::from_secs(30);

/// What delivering a lead's notifications did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub delivered: usize,
    pub parked: usize,
}

/// What a replay pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub delivered: usize,
    /// Still parked: their destination failed again, is down, or is no longer configured.
    pub remaining: usize,
}

pub struct Destinations {
    sinks: Vec<Arc<dyn Sink>>,
    parking: Arc<dyn Parking>,
    policy: Backoff,
    down_for: Duration,
    down: Mutex<HashMap<String, Instant>>,
}

impl Destinations {
    pub fn new(sinks: Vec<Arc<dyn Sink>>, parking: Arc<dyn Parking>) -> Destinations {
        Destinations {
            sinks,
            parking,
            policy: Backoff::default(),
            down_for: DOWN_FOR,
            down: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_backoff(mut self, policy: Backoff) -> Self {
        self.policy = policy;
        self
    }

    pub fn with_down_for(mut self, down_for: Duration) -> Self {
        self.down_for = down_for;
        self
    }

    /// The sinks configured in `vars` (`LEADSCORE_EVENT_BUS`, `LEADSCORE_WEBHOOK_*`), without
    /// the park.
    pub fn sinks_from_vars(vars: &[(String, String)]) -> Result<Vec<Arc<dyn Sink>>, ConfigError> {
        let mut sinks: Vec<Arc<dyn Sink>> = Vec::new();
        if let Some(bus) = EventBridgeSink::from_vars(vars) {
            sinks.push(Arc::new(bus));
        }
        for config in webhooks_from_vars(vars.iter().cloned())? {
            sinks.push(Arc::new(WebhookSink::new(config)));
        }
        Ok(sinks)
    }

    /// The deployed destinations: sinks from `vars`, parked in the SQS queue of
    /// `LEADSCORE_DEAD_LETTER_QUEUE_URL` (unset: failures are retried with the lead).
    pub fn from_vars(vars: &[(String, String)]) -> Result<Destinations, ConfigError> {
        let parking: Arc<dyn Parking> = match vars
            .iter()
            .find(|(n, _)| n == DEAD_LETTER_QUEUE_VAR)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
        {
            Some(url) => Arc::new(SqsParking::new(url)),
            None => Arc::new(NoParking),
        };
        Ok(Destinations::new(
            Destinations::sinks_from_vars(vars)?,
            parking,
        ))
    }

    /// Local destinations: sinks from `vars`, parked in the embedded store.
    #[cfg(feature = "local")]
    pub fn embedded(
        vars: &[(String, String)],
        store: leadscore_store::Embedded,
    ) -> Result<Destinations, ConfigError> {
        Ok(Destinations::new(
            Destinations::sinks_from_vars(vars)?,
            Arc::new(crate::EmbeddedParking::new(store)),
        ))
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// One line per destination and the park (for `serve`'s banner and cold-start logs).
    pub fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.sinks.iter().map(|s| s.name().to_string()).collect();
        lines.push(format!(
            "failed deliveries parked in {}",
            self.parking.describe()
        ));
        lines
    }

    pub fn names(&self) -> Vec<String> {
        self.sinks.iter().map(|s| s.name().to_string()).collect()
    }

    pub fn parking(&self) -> &Arc<dyn Parking> {
        &self.parking
    }

    fn is_down(&self, name: &str) -> bool {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        match down.get(name) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                down.remove(name);
                false
            }
            None => false,
        }
    }

    fn mark(&self, name: &str, up: bool) {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        if up {
            down.remove(name);
        } else {
            down.insert(name.to_string(), Instant::now() + self.down_for);
        }
    }

    /// Delivers a lead's notifications to every destination that wants them; parks each
    /// one a destination did not take. Err only when parking failed (nothing is lost: the
    /// caller does not remember the step, so it runs again).
    pub async fn deliver(&self, notifications: &[Outgoing]) -> Result<Delivered, ParkError> {
        if notifications.is_empty() || self.sinks.is_empty() {
            return Ok(Delivered::default());
        }
        let runs = self
            .sinks
            .iter()
            .map(|sink| self.deliver_to(sink.as_ref(), notifications));
        let mut total = Delivered::default();
        for result in join_all(runs).await {
            let d = result?;
            total.delivered += d.delivered;
            total.parked += d.parked;
        }
        Ok(total)
    }

    async fn deliver_to(
        &self,
        sink: &dyn Sink,
        notifications: &[Outgoing],
    ) -> Result<Delivered, ParkError> {
        let mut out = Delivered::default();
        for n in notifications.iter().filter(|n| sink.wants(&n.kind)) {
            let outcome = if self.is_down(sink.name()) {
                None
            } else {
                let deadline = Instant::now() + self.policy.window;
                Some(deliver_with_retries(sink, n, &self.policy, deadline).await)
            };
            match outcome {
                Some(Outcome::Delivered { tries }) => {
                    self.mark(sink.name(), true);
                    tracing::info!(destination = sink.name(), notification = %n.id,
                        kind = %n.kind, tries, "notification delivered");
                    out.delivered += 1;
                }
                failed => {
                    match &failed {
                        Some(Outcome::Failed { failure, tries }) => {
                            if !failure.is_permanent() {
                                self.mark(sink.name(), false);
                            }
                            tracing::warn!(destination = sink.name(), notification = %n.id,
                                kind = %n.kind, tries, error = %failure, "notification parked");
                        }
                        _ => tracing::info!(destination = sink.name(), notification = %n.id,
                            kind = %n.kind, "destination down: notification parked"),
                    }
                    self.parking.park(sink.name(), n).await?;
                    out.parked += 1;
                }
            }
        }
        Ok(out)
    }

    /// One replay pass over up to `limit` parked notifications: each is delivered again
    /// (one attempt window) to its destination and released on success. A destination that
    /// fails again is skipped for the rest of the pass.
    pub async fn replay(&self, limit: usize) -> Result<Replayed, ParkError> {
        let page = self.parking.take(limit).await?;
        let mut out = Replayed {
            remaining: page.unreadable,
            ..Replayed::default()
        };
        if page.parked.is_empty() {
            return Ok(out);
        }
        // Per destination, in the order read; destinations concurrently.
        let mut by_destination: Vec<(String, Vec<crate::park::Parked>)> = Vec::new();
        for p in page.parked {
            match by_destination.iter_mut().find(|(d, _)| *d == p.destination) {
                Some((_, list)) => list.push(p),
                None => by_destination.push((p.destination.clone(), vec![p])),
            }
        }
        let runs = by_destination
            .into_iter()
            .map(|(destination, parked)| self.replay_to(destination, parked));
        for r in join_all(runs).await {
            let r = r?;
            out.delivered += r.delivered;
            out.remaining += r.remaining;
        }
        Ok(out)
    }

    async fn replay_to(
        &self,
        destination: String,
        parked: Vec<crate::park::Parked>,
    ) -> Result<Replayed, ParkError> {
        let mut out = Replayed::default();
        let Some(sink) = self.sinks.iter().find(|s| s.name() == destination) else {
            tracing::warn!(destination = %destination, count = parked.len(),
                "parked notifications for a destination no longer configured; left parked");
            out.remaining = parked.len();
            return Ok(out);
        };
        let mut failed = false;
        for p in parked {
            if failed {
                out.remaining += 1;
                continue;
            }
            let deadline = Instant::now() + self.policy.window;
            match deliver_with_retries(sink.as_ref(), &p.notification, &self.policy, deadline).await
            {
                Outcome::Delivered { .. } => {
                    self.mark(sink.name(), true);
                    self.parking.release(&p.handle).await?;
                    tracing::info!(destination = %destination, notification = %p.notification.id,
                        kind = %p.notification.kind, "parked notification delivered");
                    out.delivered += 1;
                }
                Outcome::Failed { failure, .. } => {
                    tracing::warn!(destination = %destination, notification = %p.notification.id,
                        error = %failure, "parked notification still not delivered");
                    if !failure.is_permanent() {
                        self.mark(sink.name(), false);
                        failed = true;
                    }
                    out.remaining += 1;
                }
            }
        }
        Ok(out)
    }
}
