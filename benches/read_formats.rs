//! Rows per second reading each export format through its connector plugin, side by side with
//! DataFusion's own reader over the same files, in one run; prints the ratios.
//!
//! Run with `cargo xtask bench` (release build of the plugins and this bench). The data is the
//! demo's (`--scale` from `LOOPQL_BENCH_SCALE`, default 5 ≈ 500k sessions: at smaller scales a
//! GA4 day file holds ~150 events and per-file costs, not decoding, are what is timed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use loopql_benches as common;

use datafusion::prelude::{CsvReadOptions, JsonReadOptions, SessionContext};
use loopql_core::{Engine, EngineBuilder, Project};
use std::time::{Duration, Instant};

/// Best of `runs` timings of `f`, which returns the rows it read.
async fn best<F, Fut>(runs: usize, mut f: F) -> (usize, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut best = Duration::MAX;
    let mut rows = 0;
    for _ in 0..runs {
        let start = Instant::now();
        rows = f().await;
        best = best.min(start.elapsed());
    }
    (rows, best)
}

async fn count(ctx: &SessionContext, sql: &str) -> usize {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    batches.iter().map(|b| b.num_rows()).sum()
}

async fn engine_count(engine: &Engine, sql: &str) -> usize {
    let batches = engine.sql(sql).await.unwrap().collect().await.unwrap();
    batches.iter().map(|b| b.num_rows()).sum()
}

fn report(format: &str, plugin: (usize, Duration), peer: (usize, Duration)) {
    let rate = |(rows, t): (usize, Duration)| rows as f64 / t.as_secs_f64();
    println!(
        "{format:<28} plugin {:>12.0} rows/s   datafusion {:>12.0} rows/s   plugin/datafusion = {:.2}   ({} rows)",
        rate(plugin),
        rate(peer),
        rate(plugin) / rate(peer),
        plugin.0
    );
    assert_eq!(
        plugin.0, peer.0,
        "{format}: both readers must see the same rows"
    );
}

#[tokio::main]
async fn main() {
    let scale = common::scale(5.0);
    let runs = 5;
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let written = loopql_demo::write(&demo, &loopql_demo::Options::new(7, scale)).unwrap();
    let engine = EngineBuilder::live(Project::load(&written.project_file).unwrap())
        .open()
        .await
        .unwrap();
    println!("read_formats: demo scale {scale}, best of {runs} runs");

    // CSV: acme's Google Ads monthly exports.
    let ads = demo.join("exports/acme/google_ads");
    let peer = SessionContext::new();
    peer.register_csv("ads", ads.to_str().unwrap(), CsvReadOptions::new())
        .await
        .unwrap();
    let plugin = best(runs, || {
        engine_count(
            &engine,
            "SELECT * FROM google_ads.campaign_stats WHERE client_id = 'acme'",
        )
    })
    .await;
    let other = best(runs, || count(&peer, "SELECT * FROM ads")).await;
    report("CSV (google_ads)", plugin, other);

    // NDJSON: acme's GA4 export (nested event_params).
    let ga4 = demo.join("exports/acme/ga4");
    peer.register_json(
        "ga4",
        ga4.to_str().unwrap(),
        JsonReadOptions::default().file_extension(".json"),
    )
    .await
    .unwrap();
    let plugin = best(runs, || {
        engine_count(&engine, "SELECT * FROM ga4.events WHERE client_id = 'acme'")
    })
    .await;
    let other = best(runs, || count(&peer, "SELECT * FROM ga4")).await;
    report("NDJSON (ga4 events)", plugin, other);

    // TSV: globex's Snowplow events.
    let snow = demo.join("exports/globex/snowplow");
    peer.register_csv(
        "snow",
        snow.to_str().unwrap(),
        CsvReadOptions::new()
            .delimiter(b'\t')
            .file_extension(".tsv"),
    )
    .await
    .unwrap();
    let plugin = best(runs, || {
        engine_count(&engine, "SELECT * FROM snowplow.events")
    })
    .await;
    let other = best(runs, || count(&peer, "SELECT * FROM snow")).await;
    report("TSV (snowplow events)", plugin, other);

    // Parquet: the GA4 export as Parquet, written by DataFusion from the NDJSON.
    let pq_dir = dir.path().join("ga4_parquet");
    std::fs::create_dir_all(&pq_dir).unwrap();
    let pq_file = pq_dir.join("events_all.parquet");
    peer.sql(&format!(
        "COPY (SELECT * FROM ga4) TO '{}' STORED AS PARQUET",
        pq_file.display()
    ))
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    peer.register_parquet("ga4_pq", pq_dir.to_str().unwrap(), Default::default())
        .await
        .unwrap();
    let pq_project = dir.path().join("pq.toml");
    std::fs::write(
        &pq_project,
        format!("[[clients]]\nid = \"acme\"\n\n[[sources]]\nconnector = \"ga4\"\nclient_id = \"acme\"\noptions = {{ path = {:?} }}\n", pq_file),
    )
    .unwrap();
    let pq_engine = EngineBuilder::live(Project::load(&pq_project).unwrap())
        .open()
        .await
        .unwrap();
    let plugin = best(runs, || {
        engine_count(&pq_engine, "SELECT * FROM ga4.events")
    })
    .await;
    let other = best(runs, || count(&peer, "SELECT * FROM ga4_pq")).await;
    report("Parquet (ga4 events)", plugin, other);
}
