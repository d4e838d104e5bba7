//! Each table's view keeps the registered clients' rows: with every client of the table's files
//! registered it has no filter at all (DataFusion would evaluate it once per file at every
//! scan), and with fewer it keeps theirs only — the other clients' files are not in the plan.

use super::listed::count as text;
use datafusion::prelude::SessionContext;
use loopql_warehouse::Warehouse;
use loopql_warehouse::register::{Which, register};

async fn session(project: &loopql_core::Project, clients: &[String]) -> SessionContext {
    let warehouse = Warehouse::open(&project.warehouse).unwrap();
    let id = warehouse.current_id().await.unwrap().unwrap();
    let manifest = warehouse.manifest(id).await.unwrap();
    let ctx = super::listed::session();
    register(&ctx, &warehouse, id, &manifest.tables, clients, Which::Data)
        .await
        .unwrap();
    ctx
}

#[tokio::test]
async fn a_view_filters_clients_only_when_the_table_has_others() {
    let (_dir, project) = super::synced_demo(11, 0.05).await;
    let all: Vec<String> = project.clients.iter().map(|c| c.id.clone()).collect();
    assert!(all.len() >= 3, "the demo has several clients");

    let everyone = session(&project, &all).await;
    let plan = text(&everyone, "EXPLAIN SELECT session_id FROM sessions").await;
    assert!(
        plan.contains("TableScan") && !plan.contains("filters=") && !plan.contains("Filter"),
        "all of the table's clients registered: no client filter left in the plan\n{plan}"
    );
    let per_client = text(
        &everyone,
        "SELECT client_id, count(*) AS n FROM sessions GROUP BY client_id ORDER BY client_id",
    )
    .await;
    for c in &all {
        assert!(
            per_client.contains(c.as_str()),
            "{c} missing:\n{per_client}"
        );
    }

    let one = session(&project, &all[..1]).await;
    let plan = text(&one, "EXPLAIN SELECT * FROM sessions").await;
    for other in &all[1..] {
        assert!(
            !plan.contains(&format!("client_id={other}")),
            "{other}'s files are not scanned:\n{plan}"
        );
    }
    assert!(plan.contains(&format!("client_id={}", all[0])), "{plan}");
    let seen = text(&one, "SELECT DISTINCT client_id FROM sessions").await;
    assert!(seen.contains(all[0].as_str()), "{seen}");
    for other in &all[1..] {
        assert!(!seen.contains(other.as_str()), "{other} seen:\n{seen}");
    }
    let acme_alone = text(
        &one,
        &format!(
            "SELECT count(*) FROM sessions WHERE client_id = '{}'",
            all[0]
        ),
    )
    .await;
    let acme_among_all = text(
        &everyone,
        &format!(
            "SELECT count(*) FROM sessions WHERE client_id = '{}'",
            all[0]
        ),
    )
    .await;
    assert_eq!(acme_alone, acme_among_all, "the same rows either way");
}
