//! `loopql serve`: the Arrow Flight SQL server.

use super::ProjectArg;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: ProjectArg,
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:50051", value_name = "HOST:PORT")]
    listen: String,
    /// How often to look for a snapshot another process's `loopql sync` committed (its queries
    /// then read it); 0: never.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    watch_snapshots: u64,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let engines = args.project.engines()?;
    let project = engines.project();
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    let principals: Vec<String> = project
        .server
        .principals
        .iter()
        .map(|p| match &p.scope {
            loopql_core::server_config::Scope::Admin => format!("{} (admin)", p.name),
            loopql_core::server_config::Scope::Clients(c) => {
                format!("{} ({})", p.name, c.join(", "))
            }
        })
        .collect();
    // Principals checked and the engine open before we say we are listening.
    let server = loopql_flight::FlightServer::ready(engines.clone()).await?;
    eprintln!(
        "loopql Flight SQL on grpc://{addr} — principals: {}",
        principals.join(", ")
    );
    if let Some(every) = loopql_warehouse::schedule::Every::project(project) {
        scheduled_syncs(project.clone(), every, server.engine_reset());
    }
    if args.project.reads_warehouse() && args.watch_snapshots > 0 {
        watch_snapshots(
            project,
            std::time::Duration::from_secs(args.watch_snapshots),
            server.engine_reset(),
        );
    }
    server
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("shutting down");
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// Looks at the warehouse's current snapshot every `every`: when a sync elsewhere (a cron job, an
/// operator's `loopql sync`) committed a new one, the server's engines are dropped, so the next
/// queries read it (queries already running finish on the snapshot they started with).
fn watch_snapshots(
    project: &loopql_core::Project,
    every: std::time::Duration,
    reset: impl Fn() + Send + Sync + 'static,
) {
    let warehouse = match loopql_warehouse::Warehouse::open(&project.warehouse) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cannot watch the warehouse for new snapshots: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        let mut seen = warehouse.current_id().await.ok().flatten();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match warehouse.current_id().await {
                Ok(now) if now != seen => {
                    reset();
                    if let Some(n) = now {
                        eprintln!(
                            "snapshot {n} is current (a sync committed it); queries now read it"
                        );
                    }
                    seen = now;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("cannot read the warehouse's current snapshot: {e}"),
            }
        }
    });
}

/// The project's `[sync] schedule`, run beside the server: after each sync that commits a
/// snapshot the server's engines are dropped, so the next queries read the new data.
fn scheduled_syncs(
    project: loopql_core::Project,
    every: loopql_warehouse::schedule::Every,
    reset: impl Fn() + Send + Sync + 'static,
) {
    eprintln!("syncing the warehouse {}", every.describe());
    // On a thread of its own: a sync's future is not `Send`, and it must not slow the server's
    // runtime.
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Runtime::new() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("scheduled syncs could not start: {e}");
                return;
            }
        };
        let options = loopql_warehouse::SyncOptions::default();
        let outcome = runtime.block_on(loopql_warehouse::schedule::run(
            &project,
            &options,
            &every,
            None,
            |run: &loopql_warehouse::schedule::Run| match &run.outcome {
                Ok(s) if s.changed => {
                    reset();
                    let failed = s.sources.iter().filter(|r| r.failure.is_some()).count();
                    eprintln!(
                        "sync {}: snapshot {} committed ({} rows read, {failed} sources failed); queries now read it",
                        run.number, s.snapshot, s.rows_read
                    );
                }
                Ok(s) => eprintln!("sync {}: no changes (snapshot {})", run.number, s.snapshot),
                Err(e) => eprintln!("sync {} failed (the previous snapshot stands): {e}", run.number),
            },
        ));
        if let Err(e) = outcome {
            eprintln!("scheduled syncs stopped: {e}");
        }
    });
}
