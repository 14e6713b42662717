//! `leadscore`: run the API on this machine, sign requests, prepare DynamoDB Local.

use std::process::ExitCode;

use clap::Parser;
use leadscore::cli::{Cli, Command, DynamodbCommand, MigrateArgs, ServeArgs, SignArgs};
use leadscore::sign;
use leadscore_store::{Dynamo, DynamoConfig, Embedded};

// malloc and free were a quarter of serve's CPU per event with the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => cmd_serve(args),
        Command::Sign(args) => cmd_sign(args),
        Command::Migrate(args) => cmd_migrate(args),
        Command::Dynamodb(DynamodbCommand::CreateTable { table }) => cmd_create_table(table),
        Command::Insights(args) => leadscore::analysis::insights(args),
        Command::Replay(args) => leadscore::analysis::replay(args),
        Command::Learn(args) => leadscore::analysis::learn(args),
        Command::Simulate(args) => leadscore::analysis::simulate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("leadscore: {msg}");
            ExitCode::from(2)
        }
    }
}

fn cmd_serve(args: ServeArgs) -> Result<(), String> {
    let options = leadscore::serve::ServeOptions {
        addr: args.addr,
        data: args.data,
        rules: args.rules,
    };
    leadscore_edge::logging::init();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(leadscore::serve::run(options))
}

fn cmd_sign(args: SignArgs) -> Result<(), String> {
    let file = args.file.display().to_string();
    let body = std::fs::read(&args.file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let id = args.id.unwrap_or_else(|| sign::message_id(&body));
    let timestamp = args
        .timestamp
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
    let signed = sign::sign(&args.secret, &id, timestamp, &body).map_err(|e| e.to_string())?;
    for (name, value) in signed.lines() {
        println!("{name}: {value}");
    }
    println!();
    println!("{}", sign::curl_line(&args.url, &signed, &file));
    Ok(())
}

fn cmd_create_table(name: String) -> Result<(), String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").map_err(|_| {
        "set AWS_ENDPOINT_URL_DYNAMODB (this is for DynamoDB Local; in AWS, template.yaml creates the table)"
            .to_string()
    })?;
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

fn cmd_migrate(args: MigrateArgs) -> Result<(), String> {
    let (text, _) = leadscore::serve::read_rules(args.rules.as_deref())?;
    let rules = leadscore_scoring::Rules::from_toml_str(&text).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let done = match (&args.data, &args.from_table) {
            (Some(data), None) => {
                let shown = data.display();
                let store = Embedded::open(data).map_err(|e| format!("--data {shown}: {e}"))?;
                let key = leadscore::serve::local_lead_id_key(data)?;
                leadscore_scoring::set_lead_id_key(key.as_bytes()).map_err(|e| e.to_string())?;
                match store.migrate_v1(&rules).await.map_err(|e| e.to_string())? {
                    Some(done) => done,
                    None => {
                        println!("{shown}: nothing of the first version to migrate");
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
                    table: args.table.clone(),
                    ..DynamoConfig::from_env()
                })
                .await;
                store
                    .migrate_v1_from(old, &rules)
                    .await
                    .map_err(|e| e.to_string())?
            }
            // clap's argument group allows exactly one of them.
            _ => return Err("migrate takes either --data DIR or --from-table OLD".into()),
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
