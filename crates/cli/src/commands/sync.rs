//! `loopql sync [SOURCE...] [--since DATE] [--full]` and `loopql sync status`.

use super::ProjectArg;
use loopql_warehouse::{self as warehouse, SyncOptions, Warehouse};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Sources to sync (names from the project file). Default: all of them.
    #[arg(value_name = "SOURCE")]
    sources: Vec<String>,
    /// Re-read from this day (YYYY-MM-DD) instead of each source's restatement window.
    #[arg(long, value_name = "DATE", conflicts_with = "full")]
    since: Option<chrono::NaiveDate>,
    /// Re-read everything the sources have.
    #[arg(long)]
    full: bool,
    /// Memory the sync's queries may hold, in MiB; beyond it sorting spills to a temporary
    /// folder. Default: half the machine's memory (at least 1024).
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(16..))]
    memory_mb: Option<u64>,
    /// No progress lines.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    project: ProjectArg,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// When each source was last synced, and the newest day per table and client.
    Status {
        #[command(flatten)]
        project: ProjectArg,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(Command::Status { project }) = args.command {
        return status(&project.load()?).await;
    }
    let project = args.project.load()?;
    let options = SyncOptions {
        sources: args.sources,
        since: args.since,
        full: args.full,
        memory_mb: args.memory_mb,
        progress: (!args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(
            || Arc::new(super::progress::Terminal::new()) as Arc<dyn warehouse::progress::Progress>,
        ),
    };
    let s = warehouse::sync(&project, &options).await?;
    if s.changed {
        eprintln!(
            "snapshot {} committed to {}: {} rows read; {} partitions written ({}), {} kept, {} dropped",
            s.snapshot,
            project.warehouse.display(),
            s.rows_read,
            s.partitions_written,
            indicatif::HumanBytes(s.bytes_written),
            s.partitions_kept,
            s.partitions_dropped
        );
    } else {
        eprintln!(
            "no changes: snapshot {} is current ({} rows read, every partition unchanged)",
            s.snapshot, s.rows_read
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(project: &loopql_core::Project) -> anyhow::Result<ExitCode> {
    let warehouse = Warehouse::open(&project.warehouse)?;
    let Some(manifest) = warehouse.current().await? else {
        println!(
            "{}: no snapshot yet; run `loopql sync`",
            project.warehouse.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "snapshot {} of {}, committed {}",
        manifest.snapshot,
        project.warehouse.display(),
        manifest.created_at
    );
    let sources = warehouse::status::sources(project, &manifest)?;
    println!(
        "{}",
        datafusion::arrow::util::pretty::pretty_format_batches(&[sources])?
    );
    let tables = warehouse::status::tables(&manifest)?;
    println!(
        "{}",
        datafusion::arrow::util::pretty::pretty_format_batches(&[tables])?
    );
    Ok(ExitCode::SUCCESS)
}
