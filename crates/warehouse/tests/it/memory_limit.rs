//! What the table functions hold (`attribution`: the journeys and the fits; `conversion_paths`:
//! the journeys and the paths; `forecast`: the series and the forecast rows) counts against the
//! query's memory pool: over a synced warehouse (its touches and conversions stored, so the reads
//! are light), a per-query limit too small for it fails the query with a resources error naming
//! the function and what did not fit — never the OOM killer — and a limit with room answers.

use loopql_core::{Engine, EngineBuilder, FrontEnd, QueryOptions};
use std::sync::Arc;

#[tokio::test]
async fn journeys_count_against_the_query_memory_limit() {
    let (_dir, project) = super::synced_demo(5, 0.1).await;
    let engine = EngineBuilder::new(project, Arc::new(loopql_warehouse::Auto))
        .open()
        .await
        .unwrap();
    for (sql, refused) in [
        (
            "SELECT count(*) FROM attribution('channel', 'markov')",
            "attribution: the journeys of",
        ),
        (
            "SELECT count(*) FROM conversion_paths() WHERE length(path) > 0",
            "conversion_paths: the journeys of",
        ),
        (
            // Spend alone: no attribution run, so the refusal is the forecast's own.
            "SELECT count(*) FROM forecast(366) WHERE metric = 'spend'",
            "forecast: the forecast rows of",
        ),
    ] {
        let refusals = refusals(&engine, sql).await;
        assert!(
            refusals
                .iter()
                .any(|e| e.contains(refused) && e.contains("memory allowed")),
            "{sql}: {refusals:#?}"
        );
        let roomy = QueryOptions::new(FrontEnd::Library).memory_limit(1 << 30);
        let answered = engine
            .plan(sql, &roomy)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(answered.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    }
}

/// The errors of `sql` under limits from 256 KiB to 8 MiB; each must be a resources error.
async fn refusals(engine: &Engine, sql: &str) -> Vec<String> {
    let mut refusals = Vec::new();
    for kib in [256usize, 512, 1024, 2048, 4096, 8192] {
        let limited = QueryOptions::new(FrontEnd::Library).memory_limit(kib << 10);
        let result = match engine.plan(sql, &limited).await {
            Ok(q) => q.collect().await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            let e = e.to_string();
            assert!(e.contains("Resources exhausted"), "{kib} KiB: {e}");
            refusals.push(e);
        }
    }
    refusals
}
