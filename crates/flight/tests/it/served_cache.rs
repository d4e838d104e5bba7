//! A server over a warehouse snapshot answers a repeated statement from its result cache —
//! each principal's engine its own: a scoped principal's repeated query still sees its clients
//! only, and a prepared statement's other parameters are another statement.

use arrow_flight::sql::client::FlightSqlServiceClient;
use loopql_core::{EngineBuilder, Project};
use loopql_test_support::flight::{ACME, ADMIN, cells, login, prepared_with_text, query};
use std::sync::Arc;
use tonic::transport::Channel;

async fn prepared_count(c: &mut FlightSqlServiceClient<Channel>, client: &str) -> Vec<String> {
    let sql = "SELECT count(*) AS n FROM sessions WHERE client_id = $1";
    cells(&prepared_with_text(c, sql, client).await)
}

#[tokio::test]
async fn repeated_statements_come_from_each_scopes_cache() {
    let dir = tempfile::tempdir().unwrap();
    let project_file = crate::demo_project(dir.path(), "result_cache_mb = 32");
    let project = Project::load(&project_file).unwrap();
    loopql_warehouse::sync(&project, &loopql_warehouse::SyncOptions::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = loopql_flight::FlightServer::ready(EngineBuilder::new(
        project,
        Arc::new(loopql_warehouse::Auto),
    ))
    .await
    .unwrap();
    let reused = server.results_reused();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    let mut admin = login(addr, ADMIN).await;
    let mut acme = login(addr, ACME).await;
    let sql = "SELECT client_id, count(*) AS n FROM sessions GROUP BY 1 ORDER BY 1";

    let all = cells(&query(&mut admin, sql).await.unwrap());
    assert_eq!(reused(), 0);
    assert_eq!(cells(&query(&mut admin, sql).await.unwrap()), all);
    assert_eq!(
        reused(),
        1,
        "the admin's repeated query came from its cache"
    );
    assert!(all.iter().any(|c| c == "globex"), "{all:?}");

    // (Cells come column by column: clients, then counts.)
    let clients = all.len() / 2;
    assert_eq!(all[0], "acme");
    let acme_n = all[clients].clone();

    // The scoped principal's engine has its own cache: never the admin's rows.
    let acme_rows = cells(&query(&mut acme, sql).await.unwrap());
    assert_eq!(
        acme_rows,
        ["acme".to_string(), acme_n.clone()],
        "acme's row only"
    );
    assert_eq!(reused(), 1);
    assert_eq!(cells(&query(&mut acme, sql).await.unwrap()), acme_rows);
    assert_eq!(reused(), 2);

    // Prepared statements: the bound values are part of what is cached.
    let acme_count = prepared_count(&mut admin, "acme").await;
    let globex_count = prepared_count(&mut admin, "globex").await;
    assert_eq!(acme_count, [acme_n]);
    assert_ne!(acme_count, globex_count);
    assert_eq!(prepared_count(&mut admin, "acme").await, acme_count);
    assert_eq!(prepared_count(&mut admin, "globex").await, globex_count);
}
