//! The warehouse side by side with DuckDB over the same data, in one run; prints ratios.
//!
//! 1. Sync: `loopql sync` of the demo's exports into a fresh warehouse, next to DuckDB's `COPY`
//!    of the same export files into Hive-partitioned Parquet (benches/duckdb_peer.py). loopql's
//!    raw phase (read every export in its own order — sorted only when it is not by day —, write
//!    each day's partition with its checksum) is the
//!    like-for-like part; its derived phase (harmonized tables, reference tables) has no DuckDB
//!    counterpart and is shown on its own. The sync's peak RSS is measured in process (the peak is
//!    reset after the demo is generated).
//! 2. KPI rollup: a monthly web KPI rollup per client and channel over the warehouse's `sessions`
//!    Parquet, single-node loopql next to DuckDB reading the same files; the results must agree.
//!
//! 3. Restatement at scale: the ad platforms' later export of the same demo (the last 3 days'
//!    conversions final), synced over the snapshot of step 1 with the default settings. Only
//!    partitions of those 3 days may change (asserted: every partition written is one whose
//!    checksum changed, and all of them are of those days); its time is printed as a fraction of
//!    the full sync's.
//!
//! Run with `cargo xtask bench`. The demo scale comes from `LOOPQL_BENCH_SCALE` (default 100,
//! about 10M sessions; the generated demo is kept under the target folder for the next run);
//! `LOOPQL_BENCH_SYNC_MEMORY_MB` sets the sync's memory limit (default: the sync's own, half the
//! machine's memory, at most 2 GiB).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use loopql_benches as common;

use loopql_core::{EngineBuilder, Project};
use loopql_warehouse::{SyncOptions, Warehouse};
use std::path::Path;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

/// The rollup, with `{table}` and `{day}` filled in for each engine.
const ROLLUP: &str = "SELECT client_id, channel, \
    CAST(CAST(date_trunc('month', {day}) AS DATE) AS VARCHAR) AS month, \
    count(*) AS sessions, \
    sum(CASE WHEN engaged THEN 1 ELSE 0 END) AS engaged_sessions, \
    sum(page_views) AS page_views, \
    sum(conversions) AS conversions, \
    CAST(round(sum(revenue) * 100) AS BIGINT) AS revenue_cents, \
    count(DISTINCT user_id) AS users \
    FROM {table} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

fn peer(args: &[&str]) -> serde_json::Value {
    common::python_json("duckdb_peer.py", args)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let scale = common::scale(100.0);
    let dir = common::demo(Path::new(env!("CARGO_TARGET_TMPDIR")), scale);
    let mut project = Project::load(&dir.join("loopql.toml")).unwrap();
    let warehouse_dir = dir.join("bench-warehouse");
    let _ = std::fs::remove_dir_all(&warehouse_dir);
    project.warehouse = loopql_core::project::Location::Local(warehouse_dir.clone());
    println!("warehouse: demo scale {scale}");

    // 1. Sync vs DuckDB COPY of the same exports.
    common::reset_peak_rss();
    let started = Instant::now();
    let options = SyncOptions {
        memory_mb: common::env_number("LOOPQL_BENCH_SYNC_MEMORY_MB"),
        ..SyncOptions::default()
    };
    let summary = loopql_warehouse::sync(&project, &options).await.unwrap();
    let total = started.elapsed();
    let sync_rss_kib = common::peak_rss_kib();
    let duck_dir = dir.join("bench-duckdb");
    let _ = std::fs::remove_dir_all(&duck_dir);
    let copy = peer(&["copy", dir.to_str().unwrap(), duck_dir.to_str().unwrap()]);
    let duck_secs = copy["seconds"].as_f64().unwrap();
    let duck_rows = copy["rows"].as_u64().unwrap();
    assert_eq!(
        summary.rows_read, duck_rows,
        "loopql and DuckDB must copy the same rows"
    );
    println!(
        "sync of the exports to Hive-partitioned Parquet ({} rows read by loopql, {duck_rows} by DuckDB):",
        summary.rows_read
    );
    println!(
        "  loopql sync, raw tables        {:>8.1} s   {:>10.0} rows/s",
        secs(summary.raw_time),
        summary.rows_read as f64 / secs(summary.raw_time)
    );
    println!(
        "  loopql sync, derived tables    {:>8.1} s   (harmonized + reference; no DuckDB counterpart)",
        secs(summary.derived_time)
    );
    println!(
        "  loopql sync, total             {:>8.1} s   peak RSS {:.2} GiB (goal <= 4 GiB at scale 100)",
        secs(total),
        sync_rss_kib as f64 / (1024.0 * 1024.0)
    );
    println!(
        "  DuckDB COPY                    {duck_secs:>8.1} s   {:>10.0} rows/s",
        duck_rows as f64 / duck_secs
    );
    println!(
        "  speed ratio loopql raw / DuckDB COPY (same files) {:>6.2}",
        duck_secs / secs(summary.raw_time)
    );
    println!(
        "  speed ratio loopql total / DuckDB COPY            {:>6.2}",
        duck_secs / secs(total)
    );

    // 2. KPI rollup over the warehouse.
    let warehouse = Warehouse::open(&project.warehouse).unwrap();
    let manifest = warehouse.current().await.unwrap().unwrap();
    let snapshot = warehouse_dir.join(Warehouse::snapshot_dir(manifest.snapshot));
    let engine = EngineBuilder::new(project.clone(), std::sync::Arc::new(loopql_warehouse::Auto))
        .open()
        .await
        .unwrap();
    assert_eq!(
        engine.snapshot(),
        Some(manifest.snapshot),
        "reads the warehouse"
    );
    let ours_sql = ROLLUP
        .replace("{table}", "sessions")
        .replace("{day}", "session_date");
    let mut best = Duration::MAX;
    let mut ours = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let batches = engine
            .sql(&ours_sql)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        best = best.min(started.elapsed());
        ours = rows_as_text(&batches);
    }
    let theirs_sql = ROLLUP
        .replace(
            "{table}",
            "read_parquet('{root}/sessions/*/*/*.parquet', hive_partitioning = true)",
        )
        .replace("{day}", "date");
    let duck = peer(&[
        "query",
        snapshot.to_str().unwrap(),
        &RUNS.to_string(),
        &theirs_sql,
    ]);
    let theirs: Vec<Vec<Option<String>>> = serde_json::from_value(duck["rows"].clone()).unwrap();
    assert_eq!(ours, theirs, "loopql and DuckDB must agree on the rollup");
    let duck_best = duck["seconds"].as_f64().unwrap();
    let sessions: u64 = manifest.tables["sessions"]
        .files
        .iter()
        .map(|f| f.rows)
        .sum();
    println!(
        "KPI rollup over the warehouse's sessions ({sessions} rows, {} result rows), best of {RUNS}:",
        ours.len()
    );
    println!("  loopql (single node)           {:>8.3} s", secs(best));
    println!("  DuckDB read_parquet            {duck_best:>8.3} s");
    println!(
        "  speed ratio loopql / DuckDB                       {:>6.2}",
        duck_best / secs(best)
    );

    // 3. The platforms restate their last 3 days: an incremental sync of the later export.
    let restated_dir = common::demo_with(Path::new(env!("CARGO_TARGET_TMPDIR")), scale, true);
    let mut later = Project::load(&restated_dir.join("loopql.toml")).unwrap();
    later.warehouse = project.warehouse.clone();
    let started = Instant::now();
    let restated = loopql_warehouse::sync(&later, &options).await.unwrap();
    let incremental = started.elapsed();
    let after = warehouse.current().await.unwrap().unwrap();
    assert_eq!(
        after.previous,
        Some(manifest.snapshot),
        "one snapshot later"
    );
    let old: std::collections::BTreeSet<(&str, &str)> = manifest
        .tables
        .iter()
        .flat_map(|(t, e)| e.files.iter().map(move |f| (t.as_str(), f.sha256.as_str())))
        .collect();
    let changed: Vec<(&str, Option<&str>)> = after
        .tables
        .iter()
        .flat_map(|(t, e)| {
            e.files
                .iter()
                .filter(|f| !old.contains(&(t.as_str(), f.sha256.as_str())))
                .map(move |f| (t.as_str(), f.day.as_deref()))
        })
        .collect();
    let last_days = ["2024-03-29", "2024-03-30", "2024-03-31"];
    let outside: Vec<_> = changed
        .iter()
        .filter(|(_, day)| !day.is_some_and(|d| last_days.contains(&d)))
        .collect();
    assert!(
        outside.is_empty(),
        "partitions outside the restated days changed: {outside:?}"
    );
    assert!(!changed.is_empty(), "the restated export changed nothing");
    assert_eq!(
        restated.partitions_written,
        changed.len() as u64,
        "every partition written is a changed one"
    );
    let files: usize = after.tables.values().map(|e| e.files.len()).sum();
    println!(
        "restatement: the platforms' later export (last 3 days' conversions final), synced over the full snapshot:"
    );
    println!(
        "  {} of {files} partitions rewritten, all of 2024-03-29..31 ({} rows read; {} partitions kept)",
        restated.partitions_written, restated.rows_read, restated.partitions_kept
    );
    println!(
        "  incremental sync {:>8.1} s; full sync {:>8.1} s; time ratio incremental / full {:>6.2}",
        secs(incremental),
        secs(total),
        secs(incremental) / secs(total)
    );
}

/// Every value as text (NULL as `None`), as duckdb_peer.py prints them.
fn rows_as_text(
    batches: &[datafusion::arrow::record_batch::RecordBatch],
) -> Vec<Vec<Option<String>>> {
    use datafusion::arrow::array::Array;
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| c.is_valid(r).then(|| f.value(r).to_string()))
                    .collect(),
            );
        }
    }
    rows
}
