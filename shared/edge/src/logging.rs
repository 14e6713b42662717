//! Structured logs following Lambda's conventions: `AWS_LAMBDA_LOG_FORMAT` (`JSON` or text)
//! and `AWS_LAMBDA_LOG_LEVEL` (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, any case; default
//! INFO). `RUST_LOG` refines per module when set. The functions' release builds compile out
//! DEBUG and TRACE lines (this crate's feature `release-max-level-info`). Handlers log route
//! templates and lead ids, never emails.

use tracing_subscriber::EnvFilter;

/// The `tracing` filter directive for a Lambda log level (`AWS_LAMBDA_LOG_LEVEL`, as
/// template.yaml's `LogLevel` allows). tracing has no FATAL level and nothing here logs
/// worse than an error, so FATAL keeps errors only, as ERROR does: it asks for fewer lines,
/// never for the INFO default. Unset or unknown: info.
pub fn level_directive(lambda_level: Option<&str>) -> &'static str {
    match lambda_level
        .map(|l| l.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("trace") => "trace",
        Some("debug") => "debug",
        Some("warn") => "warn",
        Some("error" | "fatal") => "error",
        _ => "info",
    }
}

/// The filter `init` installs for a Lambda log level, when `RUST_LOG` is not set.
pub fn filter(lambda_level: Option<&str>) -> EnvFilter {
    EnvFilter::new(level_directive(lambda_level))
}

/// Installs the global subscriber once (later calls do nothing).
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| filter(level.as_deref()));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .map(|f| f.eq_ignore_ascii_case("json"))
        .unwrap_or(false);
    // Colours for a terminal only: escape codes in a file or a log group are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    // Lambda stamps every line itself; locally the time is noise in a terminal.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .without_time();
    let _ = if json {
        // The current span (the Lambda request's id and trace) once: the list of spans
        // repeated it on every line, twice the bytes CloudWatch stores.
        builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
