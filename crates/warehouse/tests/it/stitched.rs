//! A sync stores `identified_sessions` (sessions stitched to their person), `touchpoints` and
//! `conversions` with the snapshot, so warehouse queries read them instead of computing them; a
//! later sync that brings a login re-keys the device's earlier sessions — and their touches —
//! in the stored tables too.

use loopql_core::{Engine, EngineBuilder, Project};
use loopql_warehouse::SyncOptions;
use std::path::Path;
use std::sync::Arc;

fn event(day: &str, ts: i64, device: &str, user: Option<&str>) -> String {
    let user = user.map_or(String::new(), |u| format!(r#", "user_id": "{u}""#));
    format!(
        r#"{{"event_date": "{day}", "event_timestamp": "{}", "event_name": "page_view", "event_params": [{{"key": "ga_session_id", "value": {{"int_value": "{ts}"}}}}, {{"key": "page_location", "value": {{"string_value": "https://x.example/?utm_source=newsletter&utm_medium=email"}}}}], "user_pseudo_id": "{device}"{user}}}"#,
        ts * 1_000_000
    ) + "\n"
}

/// A purchase worth 50 in device `device`'s session `session` (its start, s), a minute in.
fn purchase(day: &str, session: i64, device: &str) -> String {
    format!(
        r#"{{"event_date": "{day}", "event_timestamp": "{}", "event_name": "purchase", "event_params": [{{"key": "ga_session_id", "value": {{"int_value": "{session}"}}}}], "user_pseudo_id": "{device}", "ecommerce": {{"transaction_id": "T-{session}", "purchase_revenue": "50"}}}}"#,
        (session + 60) * 1_000_000
    ) + "\n"
}

async fn rows(engine: &Engine, sql: &str) -> Vec<String> {
    let batches = engine.collect(sql).await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    text.lines().map(str::to_string).collect()
}

async fn synced(project_file: &Path) -> (Project, Engine) {
    let project = Project::load(project_file).unwrap();
    loopql_warehouse::sync(&project, &SyncOptions::default())
        .await
        .unwrap();
    let engine = EngineBuilder::new(project.clone(), Arc::new(loopql_warehouse::Auto))
        .open()
        .await
        .unwrap();
    (project, engine)
}

/// A project of one client, acme, whose GA4 source reads `events_*.json` in `dir`.
fn ga4_project(dir: &Path) -> std::path::PathBuf {
    let project_file = dir.join("loopql.toml");
    std::fs::write(
        &project_file,
        "[[clients]]\nid = \"acme\"\ncurrency = \"USD\"\ntime_zone = \"UTC\"\n\n\
         [[sources]]\nconnector = \"ga4\"\nclient_id = \"acme\"\noptions = { path = \"events_*.json\" }\n",
    )
    .unwrap();
    project_file
}

#[tokio::test]
async fn identified_sessions_are_stored_and_a_later_login_rekeys_the_past() {
    let dir = tempfile::tempdir().unwrap();
    let project_file = ga4_project(dir.path());
    // Day 1: device d1, anonymous; device d2 logged in as U-7.
    std::fs::write(
        dir.path().join("events_20240101.json"),
        event("20240101", 1_704_103_200, "d1", None)
            + &purchase("20240101", 1_704_103_200, "d1")
            + &event("20240101", 1_704_106_800, "d2", Some("U-7")),
    )
    .unwrap();
    let (_, engine) = synced(&project_file).await;
    let manifest = loopql_warehouse::source::current(&Project::load(&project_file).unwrap())
        .await
        .unwrap()
        .unwrap()
        .1;
    for table in ["identified_sessions", "touchpoints", "conversions"] {
        let stored = &manifest.tables[table];
        assert!(!stored.files.is_empty(), "the snapshot stores {table}");
        // Read as a table: no window functions or unions left to compute at query time.
        let plan = rows(&engine, &format!("EXPLAIN SELECT * FROM {table}")).await;
        assert!(
            !plan
                .iter()
                .any(|l| l.contains("WindowAgg") || l.contains("UnionExec")),
            "{table}: {}",
            plan.join("\n")
        );
    }
    let sql = "SELECT CAST(session_date AS VARCHAR) AS day, device_id, person_key \
               FROM identified_sessions ORDER BY 1, 2";
    let before = rows(&engine, sql).await;
    // Before the login, d1's session is its own (keyed by the device); d2's is U-7's.
    assert!(
        before.iter().any(|l| l.matches("d1").count() == 2),
        "{before:?}"
    );
    assert!(
        before
            .iter()
            .any(|l| l.contains("| d2 ") && l.contains("u-7")),
        "{before:?}"
    );
    // The live engine computes the same from the sources, with windows that stream (a
    // WindowAggExec holds its whole input as one batch: a big client's sync ran out of memory).
    let live = EngineBuilder::live(Project::load(&project_file).unwrap())
        .open()
        .await
        .unwrap();
    assert_eq!(rows(&live, sql).await, before);
    assert_eq!(rows(&live, TOUCHES).await, rows(&engine, TOUCHES).await);
    assert_eq!(
        rows(&live, CONVERSIONS).await,
        rows(&engine, CONVERSIONS).await
    );
    let plan = rows(&live, "EXPLAIN SELECT * FROM identified_sessions").await;
    assert!(
        plan.iter().any(|l| l.contains("BoundedWindowAggExec"))
            && !plan.iter().any(|l| l.contains(" WindowAggExec")),
        "{}",
        plan.join("\n")
    );

    // Day 5: d1 logs in as U-42. The next sync re-keys d1's day-1 session.
    std::fs::write(
        dir.path().join("events_20240105.json"),
        event("20240105", 1_704_448_800, "d1", Some("U-42")),
    )
    .unwrap();
    let (_, engine) = synced(&project_file).await;
    let after = rows(&engine, sql).await;
    let d1: Vec<&String> = after.iter().filter(|l| l.contains("| d1 ")).collect();
    assert_eq!(d1.len(), 2, "{after:?}");
    assert!(d1.iter().all(|l| l.contains("u-42")), "{after:?}");
    let live = EngineBuilder::live(Project::load(&project_file).unwrap())
        .open()
        .await
        .unwrap();
    assert_eq!(rows(&live, sql).await, after);
    // The stored touches and the purchase follow the re-keyed sessions.
    let touches = rows(&engine, TOUCHES).await;
    let conversions = rows(&engine, CONVERSIONS).await;
    assert!(
        conversions
            .iter()
            .any(|l| l.contains("u-42") && l.contains("purchase")),
        "{conversions:?}"
    );
    assert_eq!(rows(&live, TOUCHES).await, touches);
    assert_eq!(
        touches.iter().filter(|l| l.contains("u-42")).count(),
        2,
        "{touches:?}"
    );
    assert_eq!(
        rows(&live, CONVERSIONS).await,
        rows(&engine, CONVERSIONS).await
    );
}

const TOUCHES: &str = "SELECT person_key, CAST(touch_ts AS VARCHAR) AS at, channel, touch_type \
                       FROM touchpoints ORDER BY 1, 2";
const CONVERSIONS: &str = "SELECT person_key, CAST(conversion_ts AS VARCHAR) AS at, type, value \
                           FROM conversions ORDER BY 1, 2, 3";

/// A sync computes `identified_sessions` with its own query (only the devices seen with several
/// persons sorted and windowed); it must store what the view computes live: a device seen with
/// two persons keeps the first for the sessions before the first login and the latest before
/// each later session, a device seen with one person is that person's throughout, an anonymous
/// device keeps its own id.
#[tokio::test]
async fn a_device_seen_with_two_persons_is_stored_as_the_view_computes_it() {
    let dir = tempfile::tempdir().unwrap();
    let project_file = ga4_project(dir.path());
    let hour = 3_600;
    let t0 = 1_704_103_200;
    let mut day = String::new();
    // d1: anonymous, U-1, anonymous, U-2, anonymous.
    for (i, user) in [None, Some("U-1"), None, Some("U-2"), None]
        .into_iter()
        .enumerate()
    {
        day += &event("20240101", t0 + i as i64 * hour, "d1", user);
    }
    // d2: anonymous, then U-7; d3: anonymous only.
    day += &event("20240101", t0 + 30, "d2", None);
    day += &event("20240101", t0 + hour + 30, "d2", Some("U-7"));
    day += &event("20240101", t0 + 60, "d3", None);
    std::fs::write(dir.path().join("events_20240101.json"), day).unwrap();
    let (_, engine) = synced(&project_file).await;
    let sql = "SELECT device_id, CAST(session_start AS VARCHAR) AS start, person_key \
               FROM identified_sessions ORDER BY 1, 2";
    let stored = rows(&engine, sql).await;
    let persons: Vec<String> = stored
        .iter()
        .skip(3)
        .filter(|l| l.starts_with("| d"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            format!("{}={}", cells[1], cells[3])
        })
        .collect();
    assert_eq!(
        persons,
        [
            "d1=u-1", "d1=u-1", "d1=u-1", "d1=u-2", "d1=u-2", "d2=u-7", "d2=u-7", "d3=d3"
        ],
        "{stored:#?}"
    );
    let live = EngineBuilder::live(Project::load(&project_file).unwrap())
        .open()
        .await
        .unwrap();
    assert_eq!(rows(&live, sql).await, stored);
}
