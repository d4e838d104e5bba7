//! Served report queries: `loopql serve` over a synced demo warehouse, 32 concurrent Flight SQL
//! clients (ADBC, `flight_load.py`) running the load test's report queries (ROI by channel,
//! paid-media KPIs, funnel cohorts, triangulation) for `LOOPQL_BENCH_SECONDS` (default 60);
//! prints queries per second (goal ≥ 30 on 2 cores) and how many the server's result cache
//! answered (`[server] result_cache_mb`, default on). No peer: the figure is absolute.
//!
//! The demo is at `LOOPQL_BENCH_SCALE` (default 1, about 100k sessions), synced once into a
//! warehouse kept beside it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use loopql_benches as common;

use loopql_core::{EngineBuilder, Project};
use std::path::Path;
use std::sync::Arc;

fn sha(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::main]
async fn main() {
    let scale = common::scale(1.0);
    let seconds: f64 = common::env_number("LOOPQL_BENCH_SECONDS").unwrap_or(60.0);
    let dir = common::demo(Path::new(env!("CARGO_TARGET_TMPDIR")), scale);
    let project_file = dir.join("bench-served.toml");
    let text = std::fs::read_to_string(dir.join("loopql.toml")).unwrap();
    std::fs::write(
        &project_file,
        format!(
            "warehouse = \"bench-warehouse-served\"\n{text}\n[server]\nmax_concurrent_queries = 64\n\n\
             [[server.principals]]\nname = \"agency\"\npassword_sha256 = \"{}\"\nadmin = true\n\n\
             [[server.principals]]\nname = \"acme\"\npassword_sha256 = \"{}\"\nclients = [\"acme\"]\n",
            sha("agency-pw"),
            sha("acme-pw")
        ),
    )
    .unwrap();
    let project = Project::load(&project_file).unwrap();
    loopql_warehouse::sync(&project, &loopql_warehouse::SyncOptions::default())
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = loopql_flight::FlightServer::ready(EngineBuilder::new(
        project,
        Arc::new(loopql_warehouse::Auto),
    ))
    .await
    .unwrap();
    let reused = served.results_reused();
    let server = tokio::spawn(served.serve(listener, async {
        let _ = stopped.await;
    }));
    let uri = format!("grpc://{addr}");
    let load = tokio::task::spawn_blocking(move || {
        common::python_json("flight_load.py", &[&uri, &seconds.to_string()])
    })
    .await
    .unwrap();
    let _ = stop.send(());
    let _ = server.await;
    let errors = load["errors"].as_array().unwrap();
    assert!(errors.is_empty(), "load errors: {errors:?}");
    let queries = load["queries"].as_f64().unwrap();
    let took = load["seconds"].as_f64().unwrap();
    println!(
        "served report queries, demo scale {scale}, 32 clients for {took:.0} s: {queries} queries, {:.1} queries/s (goal >= 30); {} plans answered from the result cache",
        queries / took,
        reused()
    );
}
