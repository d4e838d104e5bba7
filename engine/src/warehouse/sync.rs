//! `loopql sync`: connectors -> a new snapshot.
//!
//! 1. Each chosen source's raw tables are read for its client: the whole table, or (when the
//!    table has an activity day and an earlier sync exists) the trailing restatement window from
//!    `newest synced day - restatement_days` (or `--since`). Every re-read partition replaces the
//!    old one; the rest is linked from the previous snapshot.
//! 2. The harmonized tables of the clients touched are computed from the new snapshot's raw
//!    tables (not from the connectors again), over the same window plus two days of margin for
//!    time zones.
//! 3. The reference tables (clients, rates, budgets, ...) are written whole.
//!
//! A partition whose rows did not change encodes to the same bytes (rows are put in a canonical
//! order) and is linked, not rewritten; a sync that changes nothing commits nothing.

use super::Warehouse;
use super::manifest::{FORMAT, Manifest, SourceSync, TableEntry, TableKind};
use super::memory;
use super::partition::day_text;
use super::progress::Progress;
use super::register::{Layout, Which, quote};
use super::snapshot_writer::Run;
use crate::error::{EngineError, Result};
use crate::project::{Project, ReadFrom};
use crate::session::Engine;
use crate::views;
use chrono::{NaiveDate, Utc};
use datafusion::arrow::datatypes::Schema;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionContext;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Source names; empty: every source of the project.
    pub sources: Vec<String>,
    /// Re-read from this day instead of each source's restatement window.
    pub since: Option<NaiveDate>,
    /// Re-read everything.
    pub full: bool,
    /// Draw progress lines on the terminal.
    pub progress: bool,
    /// Memory the sync's queries may hold, in MiB (sorting by day spills to disk beyond it);
    /// `None`: half the machine's memory ([`memory::default_mb`]).
    pub memory_mb: Option<u64>,
}

/// What a sync did.
#[derive(Debug, Clone)]
pub struct SyncSummary {
    /// The current snapshot after the sync.
    pub snapshot: u64,
    /// False when nothing changed (no snapshot was committed).
    pub changed: bool,
    pub rows_read: u64,
    pub partitions_written: u64,
    pub partitions_kept: u64,
    pub partitions_dropped: u64,
    pub bytes_written: u64,
    pub sources: Vec<SourceSync>,
    /// Time spent reading the sources into raw partitions.
    pub raw_time: std::time::Duration,
    /// Time spent computing the harmonized tables and writing the reference tables.
    pub derived_time: std::time::Duration,
}

/// Reference tables written into each snapshot (what a cluster reads instead of the project's
/// files).
const REFERENCE: &[&str] = &[
    "clients",
    "fx_rates",
    "budgets",
    "source_categories",
    "annotations",
];

/// Extra days the harmonized window reaches back (a reporting day can start the UTC day before).
const HARMONIZED_MARGIN_DAYS: i64 = 2;

pub async fn sync(project: &Project, options: &SyncOptions) -> Result<SyncSummary> {
    let limit_mb = options.memory_mb.unwrap_or_else(memory::default_mb);
    run_sync(project, options, limit_mb)
        .await
        .map_err(|e| memory::explain(e, limit_mb))
}

async fn run_sync(project: &Project, options: &SyncOptions, limit_mb: u64) -> Result<SyncSummary> {
    let warehouse = Warehouse::open(&project.warehouse)?;
    let _lock = warehouse.lock()?;
    let old = warehouse.current().await?;
    // What a killed sync left behind goes; the current snapshot and the one before it stay
    // (queries may still be reading the one before).
    let keep: Vec<u64> = old
        .iter()
        .flat_map(|m| [Some(m.snapshot), m.previous])
        .flatten()
        .collect();
    warehouse.remove_snapshots_except(&keep).await?;
    let id = warehouse.next_id().await?;

    let chosen = choose_sources(project, &options.sources)?;
    let mut live_project = project.clone();
    live_project.read_from = ReadFrom::Live;
    let live = Engine::open(live_project).await?;
    let runtime = memory::runtime(limit_mb)?;
    let live_ctx = limited(live.context(), &runtime);
    let progress = Progress::new(options.progress);
    let mut run = Run {
        warehouse: &warehouse,
        old: old.as_ref(),
        id,
        written: 0,
        rows_read: 0,
        kept: 0,
        dropped: 0,
        bytes: 0,
    };

    // 1. Raw tables.
    let started = std::time::Instant::now();
    let mut tables: BTreeMap<String, TableEntry> = BTreeMap::new();
    // Per client touched: the first day re-read (`None`: all of it).
    let mut windows: BTreeMap<String, Option<i32>> = BTreeMap::new();
    let mut source_runs: Vec<SourceSync> = Vec::new();
    let connectors: BTreeSet<&str> = project
        .sources
        .iter()
        .map(|s| s.connector.as_str())
        .collect();
    for connector in connectors {
        let Some(library) = live.plugins().get(connector) else {
            continue;
        };
        let pairs: BTreeSet<&str> = project
            .sources
            .iter()
            .filter(|s| s.connector == connector)
            .map(|s| s.client_id.as_str())
            .collect();
        for client in pairs {
            let sources: Vec<&crate::project::Source> = project
                .sources
                .iter()
                .filter(|s| s.connector == connector && s.client_id == client)
                .collect();
            let selected = sources.iter().any(|s| chosen.contains(&s.name));
            let label = sources
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let mut line = progress.line(&label);
            let mut since_used: Option<Option<i32>> = None;
            let changes_before = run.written + run.dropped;
            for spec in &library.manifest().tables {
                let key = format!("{connector}.{}", spec.name);
                let schema = table_schema(&live_ctx, &format!("{connector}.{}", spec.name)).await?;
                let entry = tables.entry(key.clone()).or_insert_with(|| TableEntry {
                    kind: TableKind::Raw,
                    dir: format!("raw/{connector}/{}", spec.name),
                    day_partition: spec
                        .activity_date
                        .as_deref()
                        .map(|c| Layout::day_partition(&schema, c)),
                    day_column: spec.activity_date.clone(),
                    schema: schema.clone(),
                    files: Vec::new(),
                });
                let old_entry = old.as_ref().and_then(|m| m.tables.get(&key));
                let comparable = old_entry.filter(|o| o.schema == schema && o.dir == entry.dir);
                if !selected && comparable.is_some() {
                    run.carry(entry, comparable, client, None).await?;
                    continue;
                }
                let restate = sources
                    .iter()
                    .map(|s| s.restatement_days)
                    .max()
                    .unwrap_or(0);
                let since = window(entry, comparable, client, options, restate);
                since_used = merge_window(since_used, Some(since));
                line.table(&spec.name);
                let sql = read_sql(
                    &format!("{}.{}", quote(connector), quote(&spec.name)),
                    client,
                    entry.day_column.as_deref(),
                    since,
                );
                let rows = live_ctx.sql(&sql).await?.execute_stream().await?;
                run.replace(entry, comparable, client, since, rows, &mut line)
                    .await?;
            }
            if let Some(w) = since_used {
                let merged = match windows.get(client) {
                    None => w,
                    Some(before) => before.zip(w).map(|(a, b)| a.min(b)),
                };
                windows.insert(client.to_string(), merged);
            }
            if selected {
                let changed = run.written + run.dropped - changes_before;
                run.rows_read += line.rows;
                for s in &sources {
                    source_runs.push(SourceSync {
                        source: s.name.clone(),
                        connector: connector.to_string(),
                        client_id: client.to_string(),
                        synced_at: now(),
                        since: since_used.flatten().map(day_text),
                        rows_read: line.rows,
                        partitions_changed: changed,
                    });
                }
                line.finish(&format!(
                    "{} rows read, {} partitions changed",
                    line.rows, changed
                ));
            } else {
                line.finish("kept");
            }
        }
    }

    // 2. Harmonized tables, from the new raw tables.
    let raw_time = started.elapsed();
    let started = std::time::Instant::now();
    let ctx = Engine::bare_context(project)?;
    crate::functions::register(&ctx)?;
    crate::reference::register(&ctx, project)?;
    let clients: Vec<String> = project.clients.iter().map(|c| c.id.clone()).collect();
    super::register::register(&ctx, &warehouse, id, &tables, &clients, Which::Raw).await?;
    views::register_harmonized(&ctx, live.mappings()).await?;
    let ctx = limited(&ctx, &runtime);
    let mut line = progress.line("harmonized tables");
    for view in views::HARMONIZED {
        let schema = table_schema(&ctx, view.name).await?;
        let day_column = views::activity_day(view.name).map(str::to_string);
        let mut entry = TableEntry {
            kind: TableKind::Harmonized,
            dir: view.name.to_string(),
            day_partition: day_column
                .as_deref()
                .map(|c| Layout::day_partition(&schema, c)),
            day_column,
            schema: schema.clone(),
            files: Vec::new(),
        };
        let old_entry = old.as_ref().and_then(|m| m.tables.get(view.name));
        let comparable = old_entry.filter(|o| o.schema == schema && o.dir == entry.dir);
        for client in &clients {
            let touched = windows.get(client.as_str()).copied();
            let since = match (touched, comparable) {
                (Some(Some(day)), Some(_)) if entry.day_column.is_some() => {
                    Some(day - HARMONIZED_MARGIN_DAYS as i32)
                }
                (None, Some(_)) => {
                    run.carry(&mut entry, comparable, client, None).await?;
                    continue;
                }
                _ => None,
            };
            line.table(view.name);
            let sql = read_sql(
                &quote(view.name),
                client,
                entry.day_column.as_deref(),
                since,
            );
            let rows = ctx.sql(&sql).await?.execute_stream().await?;
            run.replace(&mut entry, comparable, client, since, rows, &mut line)
                .await?;
        }
        tables.insert(view.name.to_string(), entry);
    }
    line.finish(&format!("{} rows computed", line.rows));

    // 3. Reference tables.
    for name in REFERENCE {
        let schema = table_schema(&ctx, name).await?;
        let mut entry = TableEntry {
            kind: TableKind::Reference,
            dir: format!("reference/{name}"),
            schema,
            day_column: None,
            day_partition: None,
            files: Vec::new(),
        };
        let old_entry = old.as_ref().and_then(|m| m.tables.get(*name));
        let batches = ctx
            .sql(&format!("SELECT * FROM {}", quote(name)))
            .await?
            .collect()
            .await?;
        run.write_reference(&mut entry, old_entry, &batches).await?;
        tables.insert((*name).to_string(), entry);
    }

    // Sources this sync did not read keep their last sync's record.
    if let Some(m) = &old {
        for s in &m.sources {
            let still = project.sources.iter().any(|p| p.name == s.source);
            if still && !source_runs.iter().any(|r| r.source == s.source) {
                source_runs.push(s.clone());
            }
        }
    }
    source_runs.sort_by(|a, b| a.source.cmp(&b.source));
    let derived_time = started.elapsed();
    let manifest = Manifest {
        format: FORMAT,
        snapshot: id,
        previous: old.as_ref().map(|m| m.snapshot),
        created_at: now(),
        sources: source_runs,
        tables,
    };
    let summary = |snapshot, changed, sources| SyncSummary {
        snapshot,
        changed,
        rows_read: run.rows_read,
        partitions_written: run.written,
        partitions_kept: run.kept,
        partitions_dropped: run.dropped,
        bytes_written: run.bytes,
        sources,
        raw_time,
        derived_time,
    };
    if let Some(m) = &old
        && m.same_data(&manifest)
    {
        warehouse.remove_dir(&Warehouse::snapshot_dir(id)).await?;
        return Ok(summary(m.snapshot, false, manifest.sources));
    }
    warehouse.commit(&manifest).await?;
    let mut keep = vec![id];
    keep.extend(manifest.previous);
    warehouse.remove_snapshots_except(&keep).await?;
    Ok(summary(id, true, manifest.sources))
}

/// The project's source names, or the ones asked for (each must exist).
fn choose_sources(project: &Project, names: &[String]) -> Result<BTreeSet<String>> {
    let known: Vec<&str> = project.sources.iter().map(|s| s.name.as_str()).collect();
    if names.is_empty() {
        return Ok(known.iter().map(|s| s.to_string()).collect());
    }
    for n in names {
        if !known.contains(&n.as_str()) {
            return Err(EngineError::Mode(format!(
                "no source named `{n}` in the project; sources: {}",
                known.join(", ")
            )));
        }
    }
    Ok(names.iter().cloned().collect())
}

/// First day to re-read for one table and client; `None`: read everything.
fn window(
    entry: &TableEntry,
    old: Option<&TableEntry>,
    client: &str,
    options: &SyncOptions,
    restatement_days: u32,
) -> Option<i32> {
    if options.full || entry.day_column.is_none() {
        return None;
    }
    let old = old?;
    if let Some(since) = options.since {
        return super::partition::parse_day(&since.format("%Y-%m-%d").to_string());
    }
    let newest = old
        .client_files(client)
        .filter_map(|f| f.day.as_deref())
        .filter_map(super::partition::parse_day)
        .max()?;
    Some(newest - restatement_days as i32)
}

fn merge_window(a: Option<Option<i32>>, b: Option<Option<i32>>) -> Option<Option<i32>> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(None), _) | (_, Some(None)) => Some(None),
        (Some(Some(x)), Some(Some(y))) => Some(Some(x.min(y))),
    }
}

/// The read of one table for one client (from `since` when given), ordered by day with rows
/// without a day last: the order `Run::replace` writes partitions in.
fn read_sql(table: &str, client: &str, day_column: Option<&str>, since: Option<i32>) -> String {
    let mut sql = format!(
        "SELECT * FROM {table} WHERE client_id = '{}'",
        client.replace('\'', "''")
    );
    if let (Some(day), Some(since)) = (day_column, since) {
        let c = quote(day);
        sql.push_str(&format!(
            " AND (CAST({c} AS DATE) >= DATE '{}' OR {c} IS NULL)",
            day_text(since)
        ));
    }
    if let Some(day) = day_column {
        sql.push_str(&format!(
            " ORDER BY CAST({} AS DATE) NULLS LAST",
            quote(day)
        ));
    }
    sql
}

/// `ctx` with the sync's memory limit (its catalogs and functions shared).
fn limited(ctx: &SessionContext, runtime: &Arc<RuntimeEnv>) -> SessionContext {
    SessionContext::new_with_state(
        SessionStateBuilder::new_from_existing(ctx.state())
            .with_runtime_env(Arc::clone(runtime))
            .build(),
    )
}

async fn table_schema(ctx: &SessionContext, name: &str) -> Result<Schema> {
    let df = ctx.sql(&format!("SELECT * FROM {name} LIMIT 0")).await?;
    Ok(df.schema().as_arrow().clone())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::super::manifest::FileEntry;
    use super::*;

    #[test]
    fn windows_read_from_the_newest_day_minus_the_restatement_days() {
        let schema = Schema::new(vec![arrow_schema::Field::new(
            "date",
            arrow_schema::DataType::Date32,
            false,
        )]);
        let file = |day: &str| FileEntry {
            path: format!("t/client_id=a/date={day}/part-000001.parquet"),
            client_id: Some("a".into()),
            day: Some(day.into()),
            rows: 1,
            bytes: 1,
            sha256: String::new(),
        };
        let entry = TableEntry {
            kind: TableKind::Raw,
            dir: "t".into(),
            schema,
            day_column: Some("date".into()),
            day_partition: Some("date".into()),
            files: vec![file("2026-01-01"), file("2026-01-31")],
        };
        let opts = SyncOptions::default();
        let since = window(&entry, Some(&entry), "a", &opts, 3).map(day_text);
        assert_eq!(since.as_deref(), Some("2026-01-28"));
        assert_eq!(
            window(&entry, Some(&entry), "b", &opts, 3),
            None,
            "new client: all"
        );
        assert_eq!(window(&entry, None, "a", &opts, 3), None, "first sync: all");
        let full = SyncOptions {
            full: true,
            ..Default::default()
        };
        assert_eq!(window(&entry, Some(&entry), "a", &full, 3), None);
        let since = SyncOptions {
            since: NaiveDate::from_ymd_opt(2025, 12, 1),
            ..Default::default()
        };
        assert_eq!(
            window(&entry, Some(&entry), "a", &since, 3)
                .map(day_text)
                .as_deref(),
            Some("2025-12-01")
        );
    }

    #[test]
    fn reads_filter_the_client_and_the_window() {
        let sql = read_sql("\"t\"", "o'brien", Some("ts"), Some(0));
        assert_eq!(
            sql,
            "SELECT * FROM \"t\" WHERE client_id = 'o''brien' AND (CAST(\"ts\" AS DATE) >= DATE '1970-01-01' OR \"ts\" IS NULL) ORDER BY CAST(\"ts\" AS DATE) NULLS LAST"
        );
    }
}
