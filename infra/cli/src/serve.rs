//! `leadscore serve`: every route of template.yaml on one machine, answered by the same
//! `leadscore_edge::route` the Lambda functions run, over the durable embedded store.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use leadscore_edge::App;
use leadscore_store::{Embedded, LeadStore};

use crate::routes::template_routes;
use crate::server::{self, Handler};

/// The template the binary was built with: the local route table is the deployed one.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

/// Where `serve` reads its rules when `--rules` is not given: the shipped file, or the same
/// default compiled in when run outside the repository.
pub const DEFAULT_RULES_PATH: &str = "infra/rules.toml";

/// (method, path template) of every route of the template.
pub fn local_routes() -> Result<Vec<(String, String)>, String> {
    let routes = template_routes(TEMPLATE).map_err(|e| e.to_string())?;
    Ok(routes.into_iter().map(|r| (r.method, r.path)).collect())
}

/// The rules text and where it came from.
pub fn read_rules(path: Option<&Path>) -> Result<(String, String), String> {
    match path {
        Some(p) => std::fs::read_to_string(p)
            .map(|text| (text, p.display().to_string()))
            .map_err(|e| format!("--rules {}: {e}", p.display())),
        None => match std::fs::read_to_string(DEFAULT_RULES_PATH) {
            Ok(text) => Ok((text, DEFAULT_RULES_PATH.to_string())),
            Err(_) => Ok((
                leadscore_scoring::DEFAULT_RULES_TOML.to_string(),
                "the built-in default (infra/rules.toml)".to_string(),
            )),
        },
    }
}

/// The local app: embedded store in `data`, rules text, variables (secrets, API keys).
pub fn build(
    data: &Path,
    rules_toml: &str,
    vars: Vec<(String, String)>,
) -> Result<axum::Router, String> {
    let store = Embedded::open(data).map_err(|e| format!("--data {}: {e}", data.display()))?;
    build_with(store, rules_toml, vars)
}

fn build_with(
    store: Embedded,
    rules_toml: &str,
    vars: Vec<(String, String)>,
) -> Result<axum::Router, String> {
    let embedded = store.clone();
    let store: Arc<dyn LeadStore> = Arc::new(store);
    let app = App::new(store, rules_toml, vars).map_err(|e| e.to_string())?;
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(finish_erasures(embedded, app.clone()));
    }
    let handler: Handler = Arc::new(move |req| {
        let app = app.clone();
        Box::pin(async move { leadscore_edge::route(&app, req).await })
    });
    Ok(server::app(local_routes()?, handler))
}

/// Erasures a stopped process left half-done (the lead already reads as absent) are
/// finished at start: what the ledger worker does in AWS.
async fn finish_erasures(store: Embedded, app: App) {
    let ids = match store.unfinished_erasures().await {
        Ok(ids) => ids,
        Err(e) => return tracing::error!(error = %e, "cannot list unfinished erasures"),
    };
    for id in ids {
        match app.tend(&id).await {
            Ok(_) => tracing::info!(lead = %id, "unfinished erasure finished"),
            Err(e) => tracing::error!(lead = %id, error = %e, "unfinished erasure failed"),
        }
    }
}

/// The lead id key of a local store: `LEADSCORE_LEAD_ID_KEY` if set, otherwise the one kept
/// in `<data>/lead-id.key` (made on first use: 32 random bytes, hex). Lead ids derive from
/// it, so it stays with the data (losing it makes the leads unreachable by email).
pub fn local_lead_id_key(data: &Path) -> Result<String, String> {
    if let Ok(key) = std::env::var(leadscore_edge::LEAD_ID_KEY_VAR) {
        return Ok(key);
    }
    let path = data.join("lead-id.key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_string());
    }
    let mut bytes = [0u8; 32];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot draw a lead id key: {e}"))?;
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(data).map_err(|e| format!("--data {}: {e}", data.display()))?;
    std::fs::write(&path, &key).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(key)
}

pub struct ServeOptions {
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub rules: Option<PathBuf>,
}

/// Binds, prints the banner, serves until stopped.
/// Retention (`LEADSCORE_RETENTION_DAYS`): what is older than `keep` is forgotten now and
/// then every day, while the server runs.
async fn forget_daily(store: Embedded, keep: std::time::Duration) {
    let mut day = tokio::time::interval(std::time::Duration::from_secs(86_400));
    loop {
        day.tick().await;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let cutoff = leadscore_scoring::Timestamp::from_unix_seconds(now - keep.as_secs() as i64);
        match store.forget_before(cutoff).await {
            Ok(n) => tracing::info!(forgotten = n, "retention: older ledger entries removed"),
            Err(e) => tracing::error!(error = %e, "retention: removal failed; retried tomorrow"),
        }
    }
}

pub async fn run(options: ServeOptions) -> Result<(), String> {
    let (rules, rules_from) = read_rules(options.rules.as_deref())?;
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    let data = &options.data;
    let store = Embedded::open(data).map_err(|e| format!("--data {}: {e}", data.display()))?;
    // Lead ids derive from the key: set before anything (the migration included) derives one.
    let key = local_lead_id_key(data)?;
    leadscore_scoring::set_lead_id_key(key.as_bytes()).map_err(|e| e.to_string())?;
    vars.retain(|(n, _)| n != leadscore_edge::LEAD_ID_KEY_VAR);
    vars.push((leadscore_edge::LEAD_ID_KEY_VAR.to_string(), key));
    // A store written by the first version is moved to the current records first.
    let parsed = leadscore_scoring::Rules::from_toml_str(&rules).map_err(|e| e.to_string())?;
    if let Some(done) = store.migrate_v1(&parsed).await.map_err(|e| e.to_string())? {
        println!(
            "migrated {}: {} events of the first version re-applied",
            data.display(),
            done.imported
        );
    }
    let retention = leadscore_store::retention_from_env()?;
    if let Some(keep) = retention {
        tokio::spawn(forget_daily(store.clone(), keep));
    }
    let outbox = store.clone();
    let router = build_with(store, &rules, vars.clone())?;
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // Notifications (shared/notify): the outbox drained, the daily run, parked replays.
    let destinations =
        leadscore_notify::local::start(&outbox, &rules, &vars, &format!("http://{local}"))
            .map_err(|e| e.to_string())?;
    let env = move |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let banner = crate::banner::Banner {
        base_url: &format!("http://{local}"),
        data_dir: &options.data.display().to_string(),
        rules: &rules_from,
        env: &env,
        now: time::OffsetDateTime::now_utc().unix_timestamp(),
        event_file: "first-event.json",
    };
    println!("{}", banner.render());
    println!("notifications: {}", destinations.join("; "));
    server::serve(listener, router)
        .await
        .map_err(|e| e.to_string())
}
