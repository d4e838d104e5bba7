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
    server
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("shutting down");
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}
