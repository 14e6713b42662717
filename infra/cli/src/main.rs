//! `leadscore`: run the API on this machine, sign requests, prepare DynamoDB Local.

use std::process::ExitCode;

use leadscore::sign;
use leadscore_store::{Dynamo, DynamoConfig, Embedded};

const USAGE: &str = "\
usage:
  leadscore serve [--addr 127.0.0.1:3000] [--data ./.leadscore] [--rules infra/rules.toml]
      Serves every route of template.yaml through the Lambda handlers, with the durable
      embedded store in --data. Secrets and API keys come from the environment
      (LEADSCORE_SECRET_<SOURCE>, LEADSCORE_API_KEYS, LEADSCORE_ALLOWED_ORIGINS).

  leadscore sign [--source json] [--secret whsec_...] [--id ID] [--timestamp UNIX]
                 [--url URL] FILE
      Prints the Standard Webhooks headers for FILE and a curl line that sends it.
      The secret defaults to $LEADSCORE_SECRET_JSON.

  leadscore dynamodb create-table [--table NAME]
      Creates the table of infra/dynamodb/table.json in DynamoDB Local
      ($AWS_ENDPOINT_URL_DYNAMODB); the name defaults to $LEADSCORE_TABLE, then `leadscore`.
      An existing table is left as it is.

  leadscore migrate --data ./.leadscore [--rules infra/rules.toml]
  leadscore migrate --from-table OLD [--table NEW] [--rules infra/rules.toml]
      Moves what the first version of leadscore stored into the current records, re-applying
      every event in the order it first arrived: an embedded store in --data (`serve` also
      does it at start), or a DynamoDB table OLD into the table NEW (default $LEADSCORE_TABLE,
      which must exist: deploy first; $LEADSCORE_LEAD_ID_KEY must hold the stack's key).
      Safe to run again after an interruption.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => cmd_serve(&args[1..]),
        Some("sign") => cmd_sign(&args[1..]),
        Some("migrate") => cmd_migrate(&args[1..]),
        Some("dynamodb") => match args.get(1).map(String::as_str) {
            Some("create-table") => cmd_create_table(&args[2..]),
            _ => Err(format!("dynamodb takes `create-table`\n{USAGE}")),
        },
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("leadscore: {msg}");
            ExitCode::from(2)
        }
    }
}

/// `--name value` options followed by positional arguments.
struct Args {
    options: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Args {
    fn parse(args: &[String], known: &[&str]) -> Result<Args, String> {
        let mut options = Vec::new();
        let mut positional = Vec::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let (name, value) = match name.split_once('=') {
                    Some((n, v)) => (n.to_string(), v.to_string()),
                    None => {
                        let v = it.next().ok_or(format!("--{name} needs a value"))?;
                        (name.to_string(), v.clone())
                    }
                };
                if !known.contains(&name.as_str()) {
                    return Err(format!("unknown option --{name}\n{USAGE}"));
                }
                options.push((name, value));
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Args {
            options,
            positional,
        })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn cmd_serve(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["addr", "data", "rules"])?;
    if !args.positional.is_empty() {
        return Err(format!("serve takes no FILE\n{USAGE}"));
    }
    let addr = args.get("addr").unwrap_or("127.0.0.1:3000");
    let addr = addr
        .parse()
        .map_err(|_| format!("--addr must be host:port such as 127.0.0.1:3000, not `{addr}`"))?;
    let options = leadscore::serve::ServeOptions {
        addr,
        data: args.get("data").unwrap_or("./.leadscore").into(),
        rules: args.get("rules").map(Into::into),
    };
    leadscore_edge::logging::init();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(leadscore::serve::run(options))
}

fn cmd_sign(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["source", "secret", "id", "timestamp", "url"])?;
    let source = args.get("source").unwrap_or("json");
    if source != "json" {
        return Err(format!(
            "sign knows the `json` source (Standard Webhooks); `{source}` requests are signed by the provider itself"
        ));
    }
    let [file] = args.positional.as_slice() else {
        return Err(format!("sign takes one FILE\n{USAGE}"));
    };
    let secret = match args.get("secret") {
        Some(s) => s.to_string(),
        None => std::env::var("LEADSCORE_SECRET_JSON")
            .map_err(|_| "give --secret whsec_... or set LEADSCORE_SECRET_JSON".to_string())?,
    };
    let body = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let id = args
        .get("id")
        .map(str::to_string)
        .unwrap_or_else(|| sign::message_id(&body));
    let timestamp = match args.get("timestamp") {
        Some(t) => t
            .parse::<i64>()
            .map_err(|_| format!("--timestamp must be unix seconds, not `{t}`"))?,
        None => time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    let url = args
        .get("url")
        .unwrap_or("http://127.0.0.1:3000/webhooks/forms/json");
    let signed = sign::sign(&secret, &id, timestamp, &body).map_err(|e| e.to_string())?;
    for (name, value) in signed.lines() {
        println!("{name}: {value}");
    }
    println!();
    println!("{}", sign::curl_line(url, &signed, file));
    Ok(())
}

fn table_name(args: &Args) -> String {
    args.get("table")
        .map(str::to_string)
        .or_else(|| std::env::var("LEADSCORE_TABLE").ok())
        .unwrap_or_else(|| "leadscore".to_string())
}

fn cmd_create_table(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["table"])?;
    if !args.positional.is_empty() {
        return Err(format!("create-table takes no FILE\n{USAGE}"));
    }
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").map_err(|_| {
        "set AWS_ENDPOINT_URL_DYNAMODB (this is for DynamoDB Local; in AWS, template.yaml creates the table)"
            .to_string()
    })?;
    let name = table_name(&args);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let store = Dynamo::connect(DynamoConfig {
            table: name.clone(),
            ..DynamoConfig::from_env()
        })
        .await;
        store.create_table().await.map_err(|e| e.to_string())?;
        println!("table {name} ready at {endpoint}");
        Ok(())
    })
}

fn cmd_migrate(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["data", "from-table", "table", "rules"])?;
    if !args.positional.is_empty() {
        return Err(format!("migrate takes no FILE\n{USAGE}"));
    }
    let (text, _) = leadscore::serve::read_rules(args.get("rules").map(std::path::Path::new))?;
    let rules = leadscore_scoring::Rules::from_toml_str(&text).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let done = match (args.get("data"), args.get("from-table")) {
            (Some(data), None) => {
                let store = Embedded::open(data).map_err(|e| format!("--data {data}: {e}"))?;
                let key = leadscore::serve::local_lead_id_key(std::path::Path::new(data))?;
                leadscore_scoring::set_lead_id_key(key.as_bytes()).map_err(|e| e.to_string())?;
                match store.migrate_v1(&rules).await.map_err(|e| e.to_string())? {
                    Some(done) => done,
                    None => {
                        println!("{data}: nothing of the first version to migrate");
                        return Ok(());
                    }
                }
            }
            (None, Some(old)) => {
                let key = std::env::var(leadscore_edge::LEAD_ID_KEY_VAR).map_err(|_| {
                    "set LEADSCORE_LEAD_ID_KEY to the stack's lead id key (the secret named by \
                     its LeadIdKeySecret output): the migrated leads get ids derived with it"
                        .to_string()
                })?;
                leadscore_scoring::set_lead_id_key(key.trim().as_bytes())
                    .map_err(|e| e.to_string())?;
                let store = Dynamo::connect(DynamoConfig {
                    table: table_name(&args),
                    ..DynamoConfig::from_env()
                })
                .await;
                store
                    .migrate_v1_from(old, &rules)
                    .await
                    .map_err(|e| e.to_string())?
            }
            _ => {
                return Err(format!(
                    "migrate takes either --data DIR or --from-table OLD\n{USAGE}"
                ))
            }
        };
        println!(
            "migrated: {} events read, {} applied, {} already there, {} sales actions on leads no longer stored",
            done.read,
            done.imported,
            done.read - done.imported - done.skipped,
            done.skipped
        );
        Ok(())
    })
}
