//! `loopql sync`: connectors -> a new snapshot.
//!
//! 1. Each chosen source's raw tables are read for its client: the whole table, or (when the
//!    table has an activity day and an earlier sync exists) the trailing restatement window from
//!    `newest synced day - restatement_days` (or `--since`). Every re-read partition replaces the
//!    old one; the rest is linked from the previous snapshot. A table whose records change at
//!    any time but carry their modification time (`TableSpec::changes`; CRM objects from a
//!    live API) is read, for a source with `incremental = true`, by the records modified since
//!    the previous rows' newest modification less `restatement_days`, merged into the previous
//!    rows by key (`changed.rs`).
//! 2. The reference tables (clients, rates, budgets, ...) are written whole.
//! 3. The harmonized tables are computed from the new snapshot's raw tables (not from the
//!    connectors again) for each client whose raw partitions changed, from the first changed
//!    day minus two days of margin for time zones (whole when an undated table changed, when
//!    the clients, rates or source categories changed, or when the view's definition did).
//! 4. The stored derived tables are computed for the clients whose inputs changed.
//!
//! A source that cannot be read (its platform down, a token refused, a bad export) fails alone:
//! what its read wrote is forgotten, its client keeps the previous partitions of the
//! connector's tables, its record in the manifest says why and when, and the rest of the sync
//! goes on (`SyncSummary::sources` has the failures). Only the warehouse failing or the memory
//! limit stops a sync.
//!
//! A partition whose rows did not change encodes to the same bytes (rows are put in a canonical
//! order) and is linked, not rewritten; a sync that changes nothing commits nothing.

mod changed;
mod isolate;
mod phases;

use super::manifest::{SourceSync, TableEntry};
use super::memory;
use super::partition::day_text;
use super::progress::{Lines, Progress};
use super::register::quote;
use super::snapshot_writer::Run;
use super::source::{NewTables, RawTables};
use super::{SyncLock, Warehouse};
use chrono::{NaiveDate, Utc};
use loopql_core::error::{EngineError, Result};
use loopql_core::project::Project;
use loopql_core::{Engine, EngineBuilder, FrontEnd, QueryOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What to sync.
#[derive(Clone, Default)]
pub struct SyncOptions {
    /// Source names; empty: every source of the project.
    pub sources: Vec<String>,
    /// Re-read from this day instead of each source's restatement window.
    pub since: Option<NaiveDate>,
    /// Re-read everything.
    pub full: bool,
    /// Where to show progress lines (`None`: nowhere).
    pub progress: Option<Arc<dyn Progress>>,
    /// Memory the sync's queries may hold, in MiB (sorting by day spills to disk beyond it);
    /// `None`: half the machine's memory, at most 2 GiB ([`memory::default_mb`]).
    pub memory_mb: Option<u64>,
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("sources", &self.sources)
            .field("since", &self.since)
            .field("full", &self.full)
            .field("progress", &self.progress.is_some())
            .field("memory_mb", &self.memory_mb)
            .finish()
    }
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
    "costs",
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
    let lock = warehouse.lock().await?;
    let result = locked_sync(project, options, limit_mb, &warehouse, &lock).await;
    lock.release().await;
    result
}

/// A sync holding the warehouse's lock.
async fn locked_sync(
    project: &Project,
    options: &SyncOptions,
    limit_mb: u64,
    warehouse: &Warehouse,
    lock: &SyncLock,
) -> Result<SyncSummary> {
    // The version of CURRENT read first: the commit replaces this one only.
    let base = warehouse.current_version().await?;
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
    let runtime = memory::runtime(limit_mb)?;
    let live = EngineBuilder::live(project.clone())
        .runtime(runtime.clone())
        .open()
        .await?;
    // Raw reads keep the source's own order (a filter spread over partitions would interleave
    // the days of a source that comes by day; see `phases::raw_client`).
    live.plan(
        "SET datafusion.optimizer.enable_round_robin_repartition = false",
        &QueryOptions::new(FrontEnd::Sync),
    )
    .await?
    .stream()
    .await?;
    let mut sync = phases::Sync {
        project,
        options,
        lines: Lines::new(options.progress.clone()),
        old: old.as_ref(),
        run: Run {
            warehouse,
            old: old.as_ref(),
            id,
            written: 0,
            rows_read: 0,
            kept: 0,
            dropped: 0,
            bytes: 0,
            changes: Default::default(),
        },
        tables: BTreeMap::new(),
        source_runs: Vec::new(),
    };

    // 1. Raw tables, from the connectors.
    let started = std::time::Instant::now();
    sync.raw(&live, &chosen).await?;
    let raw_time = started.elapsed();

    // 2. Reference tables; 3. harmonized tables, from the new raw tables.
    let started = std::time::Instant::now();
    let derived = EngineBuilder::new(
        project.clone(),
        Arc::new(RawTables {
            warehouse: warehouse.clone(),
            snapshot: id,
            tables: sync.tables.clone(),
            mappings: live.mappings().to_vec(),
        }),
    )
    .runtime(runtime.clone())
    .open()
    .await?;
    sync.reference(&derived).await?;
    sync.harmonized(&derived, live.mappings()).await?;
    // 4. Materialized derived tables (identity stitching, then the touches and conversions
    // attribution reads), each from the new harmonized tables and the ones stored before it.
    for name in loopql_core::views::MATERIALIZED {
        let new_tables = EngineBuilder::new(
            project.clone(),
            Arc::new(NewTables {
                warehouse: warehouse.clone(),
                snapshot: id,
                tables: sync.tables.clone(),
            }),
        )
        .runtime(runtime.clone())
        .open()
        .await?;
        sync.materialized(&new_tables, name).await?;
    }
    let derived_time = started.elapsed();

    let manifest = sync.manifest(now());
    let run = &sync.run;
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
    // A source's failure — and its recovery — is recorded even when no data changed (`sync
    // status` shows it).
    let failures = |m: &super::manifest::Manifest| m.sources.iter().any(|s| s.failure.is_some());
    if let Some(m) = &old
        && m.same_data(&manifest)
        && !failures(&manifest)
        && !failures(m)
    {
        warehouse.remove_dir(&Warehouse::snapshot_dir(id)).await?;
        return Ok(summary(m.snapshot, false, manifest.sources));
    }
    lock.check().map_err(|e| warehouse.fail(e))?;
    warehouse.commit(&manifest, &base).await?;
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

/// The read of one table for one client (from `since` when given); `sorted`: ordered by day
/// with rows without a day last, the order `Run::replace` writes partitions in.
fn read_sql(
    table: &str,
    client: &str,
    day_column: Option<&str>,
    since: Option<i32>,
    sorted: bool,
) -> String {
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
    if let Some(day) = day_column.filter(|_| sorted) {
        sql.push_str(&format!(
            " ORDER BY CAST({} AS DATE) NULLS LAST",
            quote(day)
        ));
    }
    sql
}

/// The schema of a table the engine can name.
async fn table_schema(engine: &Engine, name: &str) -> Result<datafusion::arrow::datatypes::Schema> {
    let query = engine
        .plan(
            &format!("SELECT * FROM {name} LIMIT 0"),
            &QueryOptions::new(FrontEnd::Sync),
        )
        .await?;
    Ok(query.schema().as_ref().clone())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{FileEntry, TableKind};
    use super::*;
    use datafusion::arrow::datatypes::Schema;

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
            definition: None,
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
        let sql = read_sql("\"t\"", "o'brien", Some("ts"), Some(0), true);
        let filtered = "SELECT * FROM \"t\" WHERE client_id = 'o''brien' AND (CAST(\"ts\" AS DATE) >= DATE '1970-01-01' OR \"ts\" IS NULL)";
        assert_eq!(
            sql,
            format!("{filtered} ORDER BY CAST(\"ts\" AS DATE) NULLS LAST")
        );
        assert_eq!(
            read_sql("\"t\"", "o'brien", Some("ts"), Some(0), false),
            filtered
        );
    }
}
