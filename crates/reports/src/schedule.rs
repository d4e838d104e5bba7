//! `loopql report schedule`: runs each report with a `schedule` at its cron ticks (UTC, minute
//! resolution) for each of its clients, writes dated outputs and logs every run. A failing run is
//! logged and retried at the next minute tick; it never stops the loop or the other reports.
//! Time comes from a [`Clock`], so tests drive the loop with an injected one.

use super::{Report, write};
use chrono::{DateTime, Duration, DurationRound, Utc};
use croner::Cron;
use loopql_core::{Engine, EngineBuilder};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    async fn sleep_until(&self, t: DateTime<Utc>);
}

/// Wall-clock time.
#[derive(Debug, Default)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    async fn sleep_until(&self, t: DateTime<Utc>) {
        if let Ok(d) = (t - Utc::now()).to_std() {
            tokio::time::sleep(d).await;
        }
    }
}

/// One run, as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub tick: DateTime<Utc>,
    pub report: String,
    pub client: Option<String>,
    /// Files written, or the error.
    pub outcome: Result<Vec<PathBuf>, String>,
}

impl Entry {
    fn log_line(&self) -> String {
        let client = self.client.as_deref().unwrap_or("*");
        match &self.outcome {
            Ok(files) => format!(
                "{}\tok\t{}\t{client}\t{}",
                self.tick.format("%Y-%m-%dT%H:%M:%SZ"),
                self.report,
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Err(e) => format!(
                "{}\tfailed\t{}\t{client}\t{}",
                self.tick.format("%Y-%m-%dT%H:%M:%SZ"),
                self.report,
                e.replace(['\n', '\t'], " ")
            ),
        }
    }
}

/// The scheduled reports with their parsed patterns (reports without `schedule` are left out).
pub fn scheduled(reports: Vec<Report>) -> Vec<(Report, Cron)> {
    reports
        .into_iter()
        .filter_map(|r| {
            let cron = r.header.schedule.as_ref()?.parse::<Cron>().ok()?;
            Some((r, cron))
        })
        .collect()
}

fn minute_ceil(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = t.duration_trunc(Duration::minutes(1)).unwrap_or(t);
    if floor == t {
        t
    } else {
        floor + Duration::minutes(1)
    }
}

/// Runs due reports until `until` (inclusive; forever when `None`). `on_entry` sees each run as
/// it is logged. Returns every entry.
pub async fn run(
    engines: &EngineBuilder,
    reports: &[(Report, Cron)],
    out_dir: &Path,
    clock: &dyn Clock,
    until: Option<DateTime<Utc>>,
    on_entry: &mut (dyn FnMut(&Entry) + Send),
) -> loopql_core::Result<Vec<Entry>> {
    let project = engines.project();
    let log_path = out_dir.join("schedule.log");
    std::fs::create_dir_all(out_dir).map_err(|source| loopql_core::EngineError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let mut entries = Vec::new();
    // (report index, client) whose last run failed: retried at the next minute tick.
    let mut retry: BTreeSet<(usize, Option<String>)> = BTreeSet::new();
    let mut tick = minute_ceil(clock.now());
    loop {
        // The next tick at which something is due.
        let mut next: Option<DateTime<Utc>> = (!retry.is_empty()).then_some(tick);
        for (_, cron) in reports {
            if let Ok(t) = cron.find_next_occurrence(&tick, true) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        let Some(at) = next else {
            return Ok(entries);
        };
        if until.is_some_and(|u| at > u) {
            return Ok(entries);
        }
        clock.sleep_until(at).await;
        let mut due: BTreeSet<(usize, Option<String>)> = std::mem::take(&mut retry);
        for (i, (report, cron)) in reports.iter().enumerate() {
            if cron.is_time_matching(&at).unwrap_or(false) {
                let clients = report.clients(project);
                if project.clients.is_empty() {
                    due.insert((i, None));
                }
                due.extend(clients.into_iter().map(|c| (i, Some(c.to_string()))));
            }
        }
        for (i, client) in due {
            let report = &reports[i].0;
            let outcome = run_one(engines, report, client.as_deref(), out_dir, at)
                .await
                .map_err(|e| e.to_string());
            if outcome.is_err() {
                retry.insert((i, client.clone()));
            }
            let entry = Entry {
                tick: at,
                report: report.name.clone(),
                client,
                outcome,
            };
            if let Err(e) = append_log(&log_path, &entry.log_line()) {
                tracing::warn!("{}: cannot log: {e}", log_path.display());
            }
            on_entry(&entry);
            entries.push(entry);
        }
        tick = at + Duration::minutes(1);
    }
}

async fn run_one(
    engines: &EngineBuilder,
    report: &Report,
    client: Option<&str>,
    out_dir: &Path,
    at: DateTime<Utc>,
) -> Result<Vec<PathBuf>, Box<dyn std::error::Error + Send + Sync>> {
    let engine: Engine = engines.clone().client(client)?.open().await?;
    let run = super::run(&engine, report, client, &[]).await?;
    let dir = out_dir
        .join(&report.name)
        .join(at.format("%Y-%m-%dT%H%M").to_string());
    let mut files = Vec::new();
    for f in report.default_formats() {
        files.push(write::write_file(&run, f, &dir.join(write::file_name(&run, f))).await?);
    }
    Ok(files)
}

fn append_log(path: &Path, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{line}")
}
