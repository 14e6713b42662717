//! Structured logs following Lambda's conventions: `AWS_LAMBDA_LOG_FORMAT` (`JSON` or text)
//! and `AWS_LAMBDA_LOG_LEVEL` (error, warn, info, debug, trace; default info). `RUST_LOG`
//! refines per module when set. Handlers log route templates and lead ids, never emails.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once (later calls do nothing).
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| ["error", "warn", "info", "debug", "trace"].contains(&l.as_str()))
        .unwrap_or_else(|| "info".to_string());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .map(|f| f.eq_ignore_ascii_case("json"))
        .unwrap_or(false);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time();
    // Lambda stamps every line itself; locally the time is noise in a terminal.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
