//! An engine over a warehouse snapshot computes attribution once per settings: the second query
//! of an attribution view over the same data is answered from the cache, with the same numbers;
//! a setting changed by `SET` computes again.

use loopql_core::{Engine, EngineBuilder, Project};
use loopql_warehouse::SyncOptions;
use std::sync::Arc;

async fn collect_sorted(engine: &Engine, sql: &str) -> String {
    let batches = engine.collect(sql).await.unwrap();
    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn attribution_is_computed_once_per_snapshot_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let written = loopql_demo::write(
        &dir.path().join("demo"),
        &loopql_demo::Options::new(4, 0.05),
    )
    .unwrap();
    let project = Project::load(&written.project_file).unwrap();
    let summary = loopql_warehouse::sync(&project, &SyncOptions::default())
        .await
        .unwrap();
    assert!(summary.changed);
    let engine = EngineBuilder::new(project.clone(), Arc::new(loopql_warehouse::Auto))
        .open()
        .await
        .unwrap();
    assert_eq!(engine.snapshot(), Some(summary.snapshot));
    let sql = "SELECT client_id, model, channel, round(sum(conversions), 9), round(sum(value), 6) \
               FROM attribution_by_channel WHERE model IN ('linear', 'markov', 'shapley') \
               GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
    let first = collect_sorted(&engine, sql).await;
    let computed = engine.credits_computed();
    assert_eq!(computed, 3, "each client's credits computed once");
    // Again, and through another view over the same credits: nothing is computed again.
    assert_eq!(collect_sorted(&engine, sql).await, first);
    engine
        .collect(
            "SELECT count(*) FROM attribution_by_channel \
             WHERE model = 'markov' AND conversion_type = 'lead' AND channel = 'Email'",
        )
        .await
        .unwrap();
    assert_eq!(
        engine.credits_computed(),
        computed,
        "answered from the cache"
    );
    // Another setting: another fit.
    engine
        .collect("SET loopql.attribution.lookback_days = 14")
        .await
        .unwrap();
    let shorter = collect_sorted(&engine, sql).await;
    assert_eq!(engine.credits_computed(), computed + 3);
    assert_ne!(shorter, first, "a 14-day lookback credits differently");

    // An engine over live connectors caches nothing (its sources may change any time).
    let live = EngineBuilder::live(project).open().await.unwrap();
    let once = collect_sorted(&live, sql).await;
    assert_eq!(once, first, "the warehouse answers like the sources");
    collect_sorted(&live, sql).await;
    assert_eq!(live.credits_computed(), 6);
}
