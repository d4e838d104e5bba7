//! An engine over a warehouse snapshot with a result cache answers a repeated query from it,
//! with the same rows — and never when the answer could differ: a function whose value changes
//! (`now()`), other parameters, a view redefined, a table inserted into, a setting changed, a
//! stream dropped before its end. Engines over live connectors or without a cache keep nothing.

use datafusion::arrow::array::RecordBatch;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use loopql_core::{Engine, EngineBuilder, Params, QueryOptions};
use std::sync::Arc;

fn text(batches: &[RecordBatch]) -> String {
    datafusion::arrow::util::pretty::pretty_format_batches(batches)
        .unwrap()
        .to_string()
}

async fn run(engine: &Engine, sql: &str) -> String {
    text(&engine.collect(sql).await.unwrap())
}

/// Runs `sql` and says whether the engine answered it from its cache.
async fn reused(engine: &Engine, sql: &str) -> (String, bool) {
    let before = engine.results_reused();
    let out = run(engine, sql).await;
    (out, engine.results_reused() > before)
}

#[tokio::test]
async fn repeated_queries_are_answered_from_the_cache_only_when_nothing_changed() {
    let (_dir, project) = super::synced_demo(5, 0.05).await;
    let builder = EngineBuilder::new(project.clone(), Arc::new(loopql_warehouse::Auto));
    let engine = builder.clone().result_cache(64 << 20).open().await.unwrap();

    // A report query: computed once, then the same rows from the cache.
    let roi = "SELECT client_id, channel, round(sum(spend), 6) AS spend, \
               round(sum(revenue), 6) AS revenue FROM roi_by_channel \
               WHERE model = 'linear' GROUP BY 1, 2 ORDER BY 1, 2";
    let (first, hit) = reused(&engine, roi).await;
    assert!(!hit, "nothing cached yet");
    assert!(first.contains("acme"), "{first}");
    assert_eq!(reused(&engine, roi).await, (first.clone(), true));
    // Another text is another statement.
    let (_, hit) = reused(&engine, &format!("{roi} LIMIT 3")).await;
    assert!(!hit);

    // The served load test's report queries (triangulation reads a session setting through
    // `loopql_setting`, which only SET changes): all answered from the cache the second time.
    for sql in [
        "SELECT client_id, platform, sum(clicks) AS clicks FROM kpi_paid_media GROUP BY 1, 2",
        "SELECT client_id, cohort_month, sum(leads) AS leads FROM funnel_cohorts GROUP BY 1, 2",
        "SELECT client_id, channel, sum(platform_conversions) AS p, sum(crm_leads) AS c \
         FROM triangulation GROUP BY 1, 2",
    ] {
        reused(&engine, sql).await;
        assert!(
            reused(&engine, sql).await.1,
            "not answered from the cache: {sql}"
        );
    }

    // now() changes between two runs: never kept.
    let dated = "SELECT count(*) AS n, max(now()) AS at FROM sessions";
    reused(&engine, dated).await;
    let (_, hit) = reused(&engine, dated).await;
    assert!(!hit, "a plan calling now() was answered from the cache");

    // Parameters are part of the key.
    let by_client = "SELECT count(*) AS n FROM sessions WHERE client_id = $1";
    let with = |client: &str| {
        QueryOptions::default().params(Params::Positional(vec![ScalarValue::from(client)]))
    };
    let count = |client: &'static str| {
        let engine = &engine;
        let options = with(client);
        async move {
            text(
                &engine
                    .plan(by_client, &options)
                    .await
                    .unwrap()
                    .collect()
                    .await
                    .unwrap(),
            )
        }
    };
    let acme = count("acme").await;
    let globex = count("globex").await;
    assert_ne!(acme, globex);
    assert_eq!(count("acme").await, acme);
    assert_eq!(
        acme,
        run(
            &engine,
            "SELECT count(*) AS n FROM sessions WHERE client_id = 'acme'"
        )
        .await
    );

    // A view redefined under the same name.
    run(&engine, "CREATE VIEW answer AS SELECT 1 AS x").await;
    let (one, _) = reused(&engine, "SELECT x FROM answer").await;
    assert_eq!(reused(&engine, "SELECT x FROM answer").await, (one, true));
    run(&engine, "DROP VIEW answer").await;
    run(&engine, "CREATE VIEW answer AS SELECT 2 AS x").await;
    let (two, hit) = reused(&engine, "SELECT x FROM answer").await;
    assert!(!hit && two.contains('2'), "{two}");

    // A table inserted into.
    run(&engine, "CREATE TABLE notes (x BIGINT)").await;
    run(&engine, "INSERT INTO notes VALUES (1)").await;
    let sum = "SELECT sum(x) AS s FROM notes";
    let (before, _) = reused(&engine, sum).await;
    assert!(reused(&engine, sum).await.1);
    run(&engine, "INSERT INTO notes VALUES (2)").await;
    let (after, hit) = reused(&engine, sum).await;
    assert!(
        !hit && after.contains('3') && before.contains('1'),
        "{after}"
    );

    // A setting changed: the fits are made again, and views reading a setting follow it.
    let tri = "SELECT count(*) AS n FROM triangulation WHERE flagged";
    let (flagged, _) = reused(&engine, tri).await;
    run(&engine, "SET loopql.triangulation.tolerance = 1000").await;
    let (lenient, hit) = reused(&engine, tri).await;
    assert!(!hit);
    assert_ne!(lenient, flagged, "a looser tolerance flags fewer rows");
    let (default_lookback, _) = reused(&engine, roi).await;
    run(&engine, "SET loopql.attribution.lookback_days = 3").await;
    let (short, hit) = reused(&engine, roi).await;
    assert!(!hit);
    assert_ne!(
        short, default_lookback,
        "a 3-day lookback credits differently"
    );

    // A stream dropped after its first batch keeps nothing.
    let partial = "SELECT session_id FROM sessions ORDER BY session_id";
    let mut stream = engine.sql(partial).await.unwrap().stream().await.unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    drop(stream);
    let (_, hit) = reused(&engine, partial).await;
    assert!(!hit, "a result never streamed to its end was kept");

    // No cache asked for, or live sources: nothing kept.
    for engine in [
        builder.open().await.unwrap(),
        EngineBuilder::live(project)
            .result_cache(64 << 20)
            .open()
            .await
            .unwrap(),
    ] {
        run(&engine, "SELECT count(*) FROM sessions").await;
        let (_, hit) = reused(&engine, "SELECT count(*) FROM sessions").await;
        assert!(!hit);
    }
}
