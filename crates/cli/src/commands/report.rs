//! `loopql report list | show | run | schedule`.

use super::ProjectArg;
use anyhow::Context;
use loopql_reports::{self as reports, ReportFormat, params, schedule, write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The project's reports (reports/*.sql): name, title, parameters, schedule.
    List {
        #[command(flatten)]
        project: ProjectArg,
    },
    /// One report's header, parameters, chart, schedule and SQL.
    Show {
        /// Report name (or a path to a .sql report file).
        name: String,
        #[command(flatten)]
        project: ProjectArg,
    },
    /// Run a report for one client, for each client, or over all clients' data.
    Run(RunArgs),
    /// Run reports on their cron schedules (UTC) until stopped: dated outputs and a log in the
    /// output folder.
    Schedule {
        #[command(flatten)]
        project: ProjectArg,
        /// Output folder: <report>/<YYYY-MM-DDTHHMM>/<report>-<client>.<ext> and schedule.log.
        #[arg(long, short = 'o', default_value = "report-output", value_name = "DIR")]
        out: PathBuf,
        /// Stop after this UTC time (RFC 3339), e.g. 2026-12-01T00:00:00Z. Default: run forever.
        #[arg(long, value_name = "TIME")]
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Report name (or a path to a .sql report file).
    name: String,
    #[command(flatten)]
    project: ProjectArg,
    /// Run for this client only: every table shows its rows only.
    #[arg(long, value_name = "ID", conflicts_with = "all_clients")]
    client: Option<String>,
    /// Run once per client (except those the report skips); one output per client in --out.
    #[arg(long)]
    all_clients: bool,
    /// A parameter value, NAME=VALUE; repeatable.
    #[arg(long = "param", short = 'P', value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// Output format. Default: from --out's extension, else a table on the terminal; with
    /// --all-clients, the report's own `formats`.
    #[arg(long, short = 'f', value_enum)]
    format: Option<ReportFormat>,
    /// Output file (a folder with --all-clients, default ./report-output).
    #[arg(long, short = 'o', value_name = "PATH")]
    out: Option<PathBuf>,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    params::split_assignment(s)
}

pub async fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::List { project } => list(&project.load()?),
        Command::Show { name, project } => show(&project.load()?, &name),
        Command::Run(args) => run_report(args).await,
        Command::Schedule {
            project,
            out,
            until,
        } => {
            let engines = project.engines()?;
            let project = engines.project();
            let reports = schedule::scheduled(reports::load_all(project)?);
            if reports.is_empty() {
                anyhow::bail!(
                    "no report in {} has a `schedule`; add e.g. schedule = \"0 6 1 * *\" to a report's header",
                    reports::folder(project).display()
                );
            }
            for (r, cron) in &reports {
                eprintln!("{}: {} ({})", r.name, cron.as_str(), cron.describe());
            }
            let mut print = |e: &schedule::Entry| match &e.outcome {
                Ok(files) => eprintln!(
                    "{} {} {}: wrote {}",
                    e.tick.format("%Y-%m-%d %H:%M"),
                    e.report,
                    e.client.as_deref().unwrap_or("all clients"),
                    files.len()
                ),
                Err(err) => eprintln!(
                    "{} {} {}: failed (retried at the next tick): {err}",
                    e.tick.format("%Y-%m-%d %H:%M"),
                    e.report,
                    e.client.as_deref().unwrap_or("all clients")
                ),
            };
            let clock = schedule::SystemClock;
            tokio::select! {
                r = schedule::run(&engines, &reports, &out, &clock, until, &mut print) => { r?; }
                _ = tokio::signal::ctrl_c() => eprintln!("stopped"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(project: &loopql_core::Project) -> anyhow::Result<ExitCode> {
    let all = reports::load_all(project)?;
    if all.is_empty() {
        println!(
            "No reports in {}: add <name>.sql files there (`loopql demo` writes examples).",
            reports::folder(project).display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let width = all.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:<36}  {:<24}  PARAMETERS",
        "NAME", "TITLE", "SCHEDULE"
    );
    for r in &all {
        let params: Vec<String> = r
            .header
            .params
            .iter()
            .map(|p| format!("{}:{}", p.name, p.kind))
            .collect();
        println!(
            "{:<width$}  {:<36}  {:<24}  {}",
            r.name,
            r.title_for(None),
            r.header.schedule.as_deref().unwrap_or("-"),
            params.join(" ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(project: &loopql_core::Project, name: &str) -> anyhow::Result<ExitCode> {
    let r = reports::find(project, name)?;
    let h = &r.header;
    println!("{} — {}", r.name, r.title_for(None));
    println!("file: {}", r.path.display());
    if let Some(d) = &h.description {
        println!("\n{}\n", d.trim());
    }
    if !h.params.is_empty() {
        println!("parameters:");
        for p in &h.params {
            let mut line = format!("  {} ({})", p.name, p.kind);
            if p.required {
                line.push_str(" required");
            }
            if let Some(d) = &p.default {
                line.push_str(&format!(" default {d}"));
            }
            if let Some(sql) = &p.default_sql {
                line.push_str(&format!(" default from: {}", sql.trim()));
            }
            if let Some(a) = &p.allowed {
                let a: Vec<String> = a.iter().map(|v| v.to_string()).collect();
                line.push_str(&format!(" allowed: {}", a.join(", ")));
            }
            if let Some(d) = &p.description {
                line.push_str(&format!(" — {d}"));
            }
            println!("{line}");
        }
    }
    if let Some(c) = &h.chart {
        println!(
            "chart: {:?} x={} y={} series={}",
            c.kind,
            c.x.as_deref().unwrap_or("-"),
            c.y.as_deref().unwrap_or("-"),
            c.series.as_deref().unwrap_or("-")
        );
    }
    if let Some(s) = &h.schedule {
        let cron: croner::Cron = s.parse()?;
        let next = cron
            .find_next_occurrence(&chrono::Utc::now(), false)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        println!("schedule: {s} ({}); next run {next}", cron.describe());
    }
    let formats: Vec<&str> = r.default_formats().iter().map(|f| f.extension()).collect();
    println!("formats: {}", formats.join(", "));
    if h.compare {
        println!("compares with the previous period");
    }
    for (client, o) in &h.clients {
        println!(
            "client {client}: {}{}{}",
            o.title
                .as_deref()
                .map(|t| format!("title \"{t}\" "))
                .unwrap_or_default(),
            if o.params.is_empty() {
                String::new()
            } else {
                format!(
                    "params {}",
                    o.params
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            },
            if o.skip { "skipped" } else { "" }
        );
    }
    println!("\n{}", r.sql);
    Ok(ExitCode::SUCCESS)
}

fn format_for(path: &Path) -> Option<ReportFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "csv" => ReportFormat::Csv,
        "json" => ReportFormat::Json,
        "ndjson" | "jsonl" => ReportFormat::Ndjson,
        "parquet" => ReportFormat::Parquet,
        "md" | "markdown" => ReportFormat::Markdown,
        "html" | "htm" => ReportFormat::Html,
        "txt" => ReportFormat::Table,
        _ => return None,
    })
}

async fn run_report(args: RunArgs) -> anyhow::Result<ExitCode> {
    let engines = args.project.engines()?;
    let project = engines.project().clone();
    let report = reports::find(&project, &args.name)?;
    if args.all_clients {
        let dir = args.out.unwrap_or_else(|| PathBuf::from("report-output"));
        let formats = args
            .format
            .map(|f| vec![f])
            .unwrap_or_else(|| report.default_formats());
        let clients = report.clients(&project);
        if clients.is_empty() {
            anyhow::bail!("the project has no clients to run `{}` for", report.name);
        }
        let mut failed = 0;
        for client in clients {
            let result = async {
                let engine = engines.clone().client(Some(client))?.open().await?;
                let run = reports::run(&engine, &report, Some(client), &args.params).await?;
                let mut files = Vec::new();
                for f in &formats {
                    files.push(
                        write::write_file(&run, *f, &dir.join(write::file_name(&run, *f))).await?,
                    );
                }
                anyhow::Ok(files)
            }
            .await;
            match result {
                Ok(files) => {
                    for f in files {
                        eprintln!("{client}: wrote {}", f.display());
                    }
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("{client}: error: {}", super::message(&e));
                }
            }
        }
        return Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let engine = engines
        .clone()
        .client(args.client.as_deref())?
        .open()
        .await?;
    let run = reports::run(&engine, &report, args.client.as_deref(), &args.params).await?;
    match &args.out {
        Some(path) => {
            let path = if path.is_dir() {
                let f = args.format.unwrap_or(ReportFormat::Html);
                path.join(write::file_name(&run, f))
            } else {
                path.clone()
            };
            let format = args
                .format
                .or_else(|| format_for(&path))
                .with_context(|| {
                    format!(
                        "{}: say which format with --format (table, csv, json, ndjson, parquet, markdown or html)",
                        path.display()
                    )
                })?;
            write::write_file(&run, format, &path).await?;
            eprintln!("wrote {}", path.display());
        }
        None => {
            let format = args.format.unwrap_or(ReportFormat::Table);
            if format == ReportFormat::Parquet
                && std::io::IsTerminal::is_terminal(&std::io::stdout())
            {
                anyhow::bail!("Parquet is binary: pass --out FILE (or redirect standard output)");
            }
            if format == ReportFormat::Table {
                println!(
                    "{}\n{}\n{}\n",
                    run.title,
                    loopql_reports::markdown::context_line(&run),
                    run.summary
                );
            }
            write::write(&run, format, &mut std::io::stdout()).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
