//! The time one request has, so that the store gives up in time for the edge to answer 503
//! with Retry-After instead of being killed by Lambda's timeout. The edge runs each request
//! within [`within`]; the store's own retries (a lost snapshot race) stop when the next wait
//! would pass the deadline. Outside `within` (tests, the CLI) there is no deadline.

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `f` with `deadline` as the store's deadline.
pub async fn within<F: Future>(deadline: Instant, f: F) -> F::Output {
    DEADLINE.scope(deadline, f).await
}

/// The deadline of the running request, if any.
pub(crate) fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// `f` with the current deadline, for a task spawned on the request's behalf (a task does
/// not inherit its parent's task-locals).
pub(crate) async fn carried<F: Future>(deadline: Option<Instant>, f: F) -> F::Output {
    match deadline {
        Some(d) => DEADLINE.scope(d, f).await,
        None => f.await,
    }
}

/// Whether waiting `wait` more would pass the deadline.
pub(crate) fn out_of_time(wait: Duration) -> bool {
    current().is_some_and(|d| Instant::now() + wait >= d)
}
