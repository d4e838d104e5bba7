//! `loopql sync [SOURCE...] [--since DATE] [--full] [--every DURATION | --on-schedule]` and
//! `loopql sync status`.

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
    /// folder. Default: half the machine's memory, at least 1024 and at most 2048.
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(16..))]
    memory_mb: Option<u64>,
    /// Sync again and again, this long after each start (30s, 15m, 6h, 1d); runs never overlap.
    #[arg(long, value_name = "DURATION", conflicts_with = "on_schedule")]
    every: Option<String>,
    /// Sync again and again at the project's `[sync] schedule` (a cron pattern, UTC).
    #[arg(long)]
    on_schedule: bool,
    /// With --every or --on-schedule: stop after this many runs (default: never).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    runs: Option<u64>,
    /// No progress lines.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    project: ProjectArg,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// When each source was last synced (and why its latest read failed, if it did), and the
    /// newest day per table and client.
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
    let asked = args.sources.clone();
    let options = SyncOptions {
        sources: args.sources,
        since: args.since,
        full: args.full,
        memory_mb: args.memory_mb,
        progress: (!args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(
            || Arc::new(super::progress::Terminal::new()) as Arc<dyn warehouse::progress::Progress>,
        ),
    };
    let every = match (&args.every, args.on_schedule) {
        (Some(d), _) => Some(warehouse::schedule::Every::interval(d).map_err(|m| {
            anyhow::anyhow!("--every {m}")
        })?),
        (None, true) => Some(warehouse::schedule::Every::project(&project).ok_or_else(|| {
            anyhow::anyhow!(
                "--on-schedule: the project has no `[sync] schedule`; add one, e.g.\n[sync]\nschedule = \"0 */6 * * *\"\nor use --every 6h"
            )
        })?),
        (None, false) => None,
    };
    let Some(every) = every else {
        let s = warehouse::sync(&project, &options).await?;
        return Ok(report(&project, &s, &asked));
    };
    eprintln!("syncing {}", every.describe());
    let mut last = ExitCode::SUCCESS;
    warehouse::schedule::run(
        &project,
        &options,
        &every,
        args.runs,
        |run: &warehouse::schedule::Run| {
            let at = run.started.format("%Y-%m-%dT%H:%M:%SZ");
            last = match &run.outcome {
                Ok(s) => {
                    eprint!("run {} at {at}: ", run.number);
                    report(&project, s, &asked)
                }
                Err(e) if warehouse::schedule::overlapped(e) => {
                    eprintln!("run {} at {at}: skipped: {e}", run.number);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!(
                        "run {} at {at} failed (the previous snapshot stands): {e}",
                        run.number
                    );
                    ExitCode::FAILURE
                }
            };
        },
    )
    .await?;
    Ok(last)
}

/// Prints what a sync did; the exit code: 2 when a source failed.
fn report(
    project: &loopql_core::Project,
    s: &warehouse::SyncSummary,
    asked: &[String],
) -> ExitCode {
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
    let failed: Vec<_> = s
        .sources
        .iter()
        .filter_map(|r| r.failure.as_ref().map(|f| (r, f)))
        .filter(|(r, _)| asked.is_empty() || asked.contains(&r.source))
        .collect();
    if failed.is_empty() {
        return ExitCode::SUCCESS;
    }
    for (r, f) in &failed {
        eprintln!(
            "source `{}` failed and keeps its data of {}: {}",
            r.source, r.synced_at, f.reason
        );
    }
    eprintln!(
        "{} of the sources failed; the others are synced (`loopql sync status` shows each)",
        failed.len()
    );
    ExitCode::from(2)
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
