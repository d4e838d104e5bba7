//! `loopql demo --postgres`: one client's CRM and another's Snowplow events kept in the real
//! PostgreSQL server the suite starts, read back through the connectors and equal to the demo's
//! ground truth and to the same demo read from files; the events' date filters reach the server.

use crate::support::{csv_query, loopql};
use loopql_test_support::postgres::{Pg, pg};
use std::path::Path;

/// Rows of a query (through `loopql query --format csv`) as text cells.
fn cells(project: &Path, sql: &str) -> Vec<Vec<String>> {
    csv_query(project, sql)
        .iter()
        .map(|r| r.iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn the_demo_keeps_one_clients_crm_in_postgresql() {
    let pg = pg();
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let conninfo = format!(
        "host={} port={} user={} dbname=postgres",
        pg.host, pg.port, pg.user
    );
    // Twice: a second run replaces the demo tables rather than adding to them.
    for _ in 0..2 {
        let out = loopql(&[])
            .args(["demo", "--dir", demo.to_str().unwrap(), "--seed", "9"])
            .args(["--postgres", &conninfo])
            .args(["--postgres-password-env", "LOOPQL_TEST_PG_PASSWORD"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
    }
    let text = std::fs::read_to_string(demo.join("loopql.toml")).unwrap();
    assert!(text.contains("connector = \"postgres\""), "{text}");
    assert!(
        !text.contains(&pg.password),
        "the project file holds no password"
    );

    let project = demo.join("loopql.toml");
    let systems = cells(
        &project,
        "SELECT client_id, source_system, count(*) FROM contacts GROUP BY 1, 2 ORDER BY 1",
    );
    let systems: Vec<(&str, &str)> = systems
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        systems,
        [
            ("acme", "hubspot"),
            ("globex", "salesforce"),
            ("initech", "postgres")
        ]
    );
    // The ground truth of deals won holds for the client read from PostgreSQL.
    let ours = cells(
        &project,
        "SELECT to_char(closed_date, '%Y-%m'), count(*), round(sum(amount), 2) FROM deals \
         WHERE client_id = 'initech' AND is_won GROUP BY 1 ORDER BY 1",
    );
    let truth: Vec<Vec<String>> =
        csv::Reader::from_path(demo.join("ground_truth/crm_won_by_client_month.csv"))
            .unwrap()
            .records()
            .map(Result::unwrap)
            .filter(|r| &r[0] == "initech")
            .map(|r| vec![r[1].to_string(), r[2].to_string(), r[3].to_string()])
            .collect();
    assert!(!truth.is_empty());
    assert_eq!(ours.len(), truth.len());
    for (o, t) in ours.iter().zip(&truth) {
        assert_eq!((&o[0], &o[1]), (&t[0], &t[1]));
        let (a, b): (f64, f64) = (o[2].parse().unwrap(), t[2].parse().unwrap());
        assert!((a - b).abs() < 0.005, "{o:?} vs {t:?}");
    }
    let leads = cells(
        &project,
        "SELECT count(*) FROM contacts WHERE client_id = 'initech'",
    );
    let web: Vec<csv::StringRecord> =
        csv::Reader::from_path(demo.join("ground_truth/web_by_client.csv"))
            .unwrap()
            .records()
            .map(Result::unwrap)
            .filter(|r| &r[0] == "initech")
            .collect();
    assert_eq!(leads[0][0], web[0][2]);

    snowplow_events_in_postgresql(&pg, dir.path(), &project);
}

/// globex's Snowplow events, read from the loader-shaped table, give the sessions the same demo
/// gives from its TSV files; a query's time window is a WHERE on the stored column.
fn snowplow_events_in_postgresql(pg: &Pg, dir: &Path, project: &Path) {
    let text = std::fs::read_to_string(project).unwrap();
    assert!(
        text.contains("connector = \"snowplow\"\nclient_id = \"globex\"\n[sources.options]\nmode = \"postgres\""),
        "{text}"
    );
    let files = loopql_demo::write(
        &dir.join("files"),
        &loopql_demo::Options::new(9, loopql_demo::DEFAULT_SCALE),
    )
    .unwrap()
    .project_file;
    let sessions = "SELECT * FROM sessions WHERE client_id = 'globex' ORDER BY session_id";
    let (ours, theirs) = (cells(project, sessions), cells(&files, sessions));
    assert!(ours.len() > 1000, "{} sessions", ours.len());
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t);
    }

    // A day's events: the same count, and the server was asked for that day only.
    let days = cells(
        &files,
        "SELECT CAST(CAST(CAST(min(derived_tstamp) AS DATE) + INTERVAL '20 days' AS DATE) AS VARCHAR), \
                CAST(CAST(CAST(min(derived_tstamp) AS DATE) + INTERVAL '21 days' AS DATE) AS VARCHAR) \
         FROM snowplow.events WHERE client_id = 'globex'",
    );
    let (day, next) = (&days[0][0], &days[0][1]);
    let day_sql = format!(
        "SELECT count(*), count(DISTINCT domain_sessionid) FROM snowplow.events WHERE client_id = 'globex' \
         AND derived_tstamp >= TIMESTAMP '{day}T00:00:00Z' AND derived_tstamp < TIMESTAMP '{next}T00:00:00Z'"
    );
    let (ours, theirs) = (cells(project, &day_sql), cells(&files, &day_sql));
    assert_eq!(ours, theirs);
    assert!(ours[0][0].parse::<u64>().unwrap() > 0, "{day}: {ours:?}");
    let log = std::fs::read_to_string(&pg.log).unwrap();
    let statement = log
        .lines()
        .rfind(|l| l.contains("FROM \"loopql_demo_globex\".\"events\"") && l.contains("WHERE"))
        .unwrap_or_else(|| panic!("no filtered read of the events in the server log:\n{log}"));
    let window = |op: &str, n: usize| {
        format!(
            "\"derived_tstamp\" {op} ('1970-01-01 00:00:00'::timestamp + ${n}::int8 * interval '1 microsecond')"
        )
    };
    assert!(statement.contains(&window(">=", 1)), "{statement}");
    assert!(statement.contains(&window("<", 2)), "{statement}");
    assert!(
        !statement.contains("\"page_url\""),
        "only the columns the query needs: {statement}"
    );
}
