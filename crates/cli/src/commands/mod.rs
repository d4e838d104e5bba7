//! The command line (clap derive). Every flag is defined once here with its doc; the work is done
//! by the library.

mod cluster;
mod connectors;
mod demo;
mod progress;
mod query;
mod report;
mod serve;
mod shell;
mod sync;

use clap::{Parser, Subcommand};
use loopql_core::Project;
use loopql_core::engine::{EngineBuilder, Live};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "loopql",
    version,
    about = "SQL over your ad, analytics and CRM data: KPIs, attribution, closed-loop ROI"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a demo project (generated exports for three clients) and run a first query.
    Demo(demo::Args),
    /// Run one SQL statement and print or save its result.
    Query(query::Args),
    /// The interactive SQL shell (or -c SQL, -f FILE, statements on standard input).
    Shell(shell::Args),
    /// Saved-query reports: list, show, run (per client, with parameters), schedule.
    #[command(subcommand)]
    Report(report::Command),
    /// Serve the project over Arrow Flight SQL (principals and limits from the project's [server]).
    Serve(serve::Args),
    /// Copy the sources into the Parquet warehouse (incremental), or `sync status`.
    Sync(sync::Args),
    /// Run a Ballista scheduler or executor with loopql's SQL functions.
    #[command(subcommand)]
    Cluster(cluster::Command),
    /// Inspect connector libraries: what was found, loaded and refused.
    #[command(subcommand)]
    Connectors(connectors::Command),
}

/// The `--project` flag shared by subcommands.
#[derive(Debug, clap::Args)]
pub struct ProjectArg {
    /// Project file. Default: ./loopql.toml if it exists, else an empty project.
    #[arg(long, short = 'p', env = "LOOPQL_PROJECT", value_name = "FILE")]
    project: Option<PathBuf>,
    /// Read the connectors directly, even when the project has a synced warehouse.
    #[arg(long, conflicts_with = "cluster")]
    live: bool,
    /// Run queries on a Ballista cluster (its scheduler's df://HOST:PORT), over the warehouse.
    #[arg(long, value_name = "df://HOST:PORT", env = "LOOPQL_CLUSTER")]
    cluster: Option<String>,
}

impl ProjectArg {
    /// Whether queries read the warehouse's snapshots (everything but `--live`).
    pub fn reads_warehouse(&self) -> bool {
        !self.live
    }

    /// The engines these flags ask for: the project, read from a cluster (`--cluster`), the
    /// connectors (`--live`), or the warehouse when it has a snapshot and the connectors
    /// otherwise.
    pub fn engines(&self) -> anyhow::Result<EngineBuilder> {
        let project = self.load()?;
        let source: Arc<dyn loopql_core::TableSource> = match (&self.cluster, self.live) {
            (Some(url), _) => Arc::new(loopql_cluster::Cluster::new(url)?),
            (None, true) => Arc::new(Live::default()),
            (None, false) => Arc::new(loopql_warehouse::Auto),
        };
        Ok(EngineBuilder::new(project, source))
    }

    /// The project file (or an empty project).
    pub fn load(&self) -> anyhow::Result<Project> {
        match &self.project {
            Some(path) => Ok(Project::load(path)?),
            None => {
                let default = Path::new("loopql.toml");
                if default.exists() {
                    Ok(Project::load(default)?)
                } else {
                    tracing::debug!("no ./loopql.toml: using an empty project");
                    Ok(Project::empty(&std::env::current_dir()?))
                }
            }
        }
    }
}

pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Query(args) => query::run(args).await,
            Command::Shell(args) => shell::run(args).await,
            Command::Connectors(cmd) => connectors::run(cmd).await,
            Command::Report(cmd) => report::run(cmd).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Sync(args) => sync::run(args).await,
            Command::Cluster(cmd) => cluster::run(cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each cause once: DataFusion's errors repeat their source's text in
/// their own, so `{:#}` would print the same sentence several times.
pub(crate) fn message(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let m = cause.to_string();
        if !text.contains(&m) {
            text.push_str(": ");
            text.push_str(&m);
        }
    }
    text
}
