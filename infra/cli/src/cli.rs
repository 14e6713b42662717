//! The command line: every subcommand and flag, parsed by clap (`--help` on each; an error
//! names the flag). `main.rs` only dispatches.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "leadscore",
    version,
    about = "leadscore on one machine: the API over the Lambda handlers, request signing, DynamoDB Local setup, migrations."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves every route of template.yaml through the Lambda handlers, with the durable
    /// embedded store. Secrets and API keys come from the environment
    /// (LEADSCORE_SECRET_<SOURCE>, LEADSCORE_API_KEYS, LEADSCORE_ALLOWED_ORIGINS).
    Serve(ServeArgs),
    /// Prints the Standard Webhooks headers for FILE and a curl line that sends it.
    Sign(SignArgs),
    /// DynamoDB Local setup.
    #[command(subcommand)]
    Dynamodb(DynamodbCommand),
    /// Moves what the first version of leadscore stored into the current records,
    /// re-applying every event in the order it first arrived. Safe to run again.
    Migrate(MigrateArgs),
    /// The funnel, which signals convert MQLs into SQLs (with intervals), trends by month
    /// and by content, campaign, form and source: read from the ledger.
    Insights(InsightsArgs),
    /// The backtest: every lead recomputed under another rules file, and what changes.
    Replay(ReplayArgs),
    /// Fits an explainable model of MQL -> SQL on the history (time-based holdout) and
    /// suggests points per signal.
    Learn(LearnArgs),
    /// Writes a synthetic history from a known truth into a store or an export folder.
    Simulate(SimulateArgs),
}

/// Where the history is read from: exactly one of --data, --table, --export.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["data", "table", "export"])))]
pub struct SourceArgs {
    /// An embedded store (what `leadscore serve` keeps in ./.leadscore).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A DynamoDB table, read with a parallel Scan (costs read capacity: see --max-rcu).
    #[arg(long)]
    pub table: Option<String>,
    /// A DynamoDB export to S3: a local folder or s3://bucket/prefix. Costs the table nothing.
    #[arg(long)]
    pub export: Option<String>,
    /// Parallel Scan segments (--table).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub segments: u32,
    /// Read capacity units per second the Scan may use (--table).
    #[arg(long, default_value_t = 100.0)]
    pub max_rcu: f64,
    /// The live table whose suppression list (people erased since the export was taken)
    /// is left out of every result (--export).
    #[arg(long)]
    pub suppressions_table: Option<String>,
    /// The analysis's time (RFC 3339; default: now): decay and open windows are judged then.
    #[arg(long)]
    pub as_of: Option<String>,
}

/// How a report is written.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page with the charts.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InsightsArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Days after the MQL move an SQL still counts as its conversion.
    #[arg(long, default_value_t = 90)]
    pub within_days: u32,
    /// Hours within which an MQL must be worked (the SLA).
    #[arg(long, default_value_t = 48)]
    pub sla_hours: u32,
    /// Rules file the leads are folded with (default: infra/rules.toml, or the built-in one).
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The rules file to backtest.
    #[arg(long, value_name = "NEW.toml")]
    pub rules: PathBuf,
    /// The rules it is compared with (default: infra/rules.toml, or the built-in one).
    #[arg(long, value_name = "OLD.toml")]
    pub baseline: Option<PathBuf>,
    /// Days after the MQL move an SQL still counts as its conversion.
    #[arg(long, default_value_t = 90)]
    pub within_days: u32,
}

#[derive(Debug, Args)]
pub struct LearnArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// What to predict.
    #[arg(long, default_value = "mql->sql", value_parser = ["mql->sql"])]
    pub target: String,
    /// Days after the MQL move an SQL counts as a conversion.
    #[arg(long, default_value_t = 90)]
    pub within_days: u32,
    /// Write the suggested rules file here (test it with `leadscore replay --rules FILE`).
    #[arg(long, value_name = "FILE")]
    pub suggest: Option<PathBuf>,
    /// Rules file the leads are folded with (default: infra/rules.toml, or the built-in one).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("into").required(true).args(["data", "table", "export"])))]
pub struct SimulateArgs {
    /// How many people.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub leads: u64,
    /// The seed: the same seed writes the same history.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Months the leads arrive over, ending at the start of this month.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub months: u32,
    /// Write into this embedded store (applied through the store, like real events).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Write into this DynamoDB table (applied through the store; it must exist: `leadscore
    /// dynamodb create-table`). Costs about 2 write requests an event.
    #[arg(long)]
    pub table: Option<String>,
    /// Write a DynamoDB export folder here.
    #[arg(long)]
    pub export: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory of the embedded store (created if missing).
    #[arg(long, default_value = "./.leadscore")]
    pub data: PathBuf,
    /// Rules file (default: infra/rules.toml, or the same rules built in).
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Source whose scheme to sign with: `json` (Standard Webhooks); other providers sign
    /// their own requests.
    #[arg(long, default_value = "json", value_parser = ["json"])]
    pub source: String,
    /// The source's secret (whsec_...).
    #[arg(long, env = "LEADSCORE_SECRET_JSON", hide_env_values = true)]
    pub secret: String,
    /// Message id (default: derived from the body).
    #[arg(long)]
    pub id: Option<String>,
    /// Unix seconds (default: now).
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Where the curl line sends it.
    #[arg(long, default_value = "http://127.0.0.1:3000/webhooks/forms/json")]
    pub url: String,
    /// The request body to sign.
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DynamodbCommand {
    /// Creates the table of infra/dynamodb/table.json in DynamoDB Local
    /// ($AWS_ENDPOINT_URL_DYNAMODB). An existing table is left as it is.
    CreateTable {
        /// Table name.
        #[arg(long, env = "LEADSCORE_TABLE", default_value = "leadscore")]
        table: String,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("from").required(true).args(["data", "from_table"])))]
pub struct MigrateArgs {
    /// An embedded store written by the first version (`serve` also migrates it at start).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A DynamoDB table written by the first version, copied into --table (which must exist:
    /// deploy first; $LEADSCORE_LEAD_ID_KEY must hold the stack's key).
    #[arg(long)]
    pub from_table: Option<String>,
    /// The table to migrate into.
    #[arg(long, env = "LEADSCORE_TABLE", default_value = "leadscore")]
    pub table: String,
    /// Rules file (default: infra/rules.toml, or the same rules built in).
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_name_the_flag() {
        let err = Cli::try_parse_from(["leadscore", "serve", "--addr", "nowhere"]).unwrap_err();
        assert!(err.to_string().contains("--addr"), "{err}");
        let err = Cli::try_parse_from(["leadscore", "serve", "--port", "1"]).unwrap_err();
        assert!(err.to_string().contains("--port"), "{err}");
        let err = Cli::try_parse_from(["leadscore", "migrate"]).unwrap_err();
        assert!(err.to_string().contains("--data"), "{err}");
        let err = Cli::try_parse_from(["leadscore", "migrate", "--data", "a", "--from-table", "b"])
            .unwrap_err();
        assert!(err.to_string().contains("--from-table"), "{err}");
        let err = Cli::try_parse_from(["leadscore", "sign", "--source", "typeform", "f.json"])
            .unwrap_err();
        assert!(err.to_string().contains("--source"), "{err}");
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let cli = Cli::try_parse_from(["leadscore", "serve"]).unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("serve parsed as another command")
        };
        assert_eq!(serve.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(serve.data, PathBuf::from("./.leadscore"));
        assert_eq!(serve.rules, None);
    }
}
