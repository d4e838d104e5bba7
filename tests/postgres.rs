//! The PostgreSQL connector against a real server (started by `cargo xtask test`): rows arrive
//! typed, and the projection, filters and limit are in the SQL the server received.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::library;
use datafusion::arrow::util::pretty::pretty_format_batches;
use loopql::{Engine, Project};

struct Pg {
    host: String,
    port: u16,
    user: String,
    password: String,
    log: String,
}

/// The test server's coordinates; missing ones fail the test (never skip): run the suite with
/// `cargo xtask test`, which installs and starts PostgreSQL.
fn pg() -> Pg {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run the tests with `cargo xtask test`, which starts PostgreSQL"
            )
        })
    };
    Pg {
        host: var("LOOPQL_TEST_PG_HOST"),
        port: var("LOOPQL_TEST_PG_PORT").parse().unwrap(),
        user: var("LOOPQL_TEST_PG_USER"),
        password: var("LOOPQL_TEST_PG_PASSWORD"),
        log: var("LOOPQL_TEST_PG_LOG"),
    }
}

/// Creates a fresh schema with CRM tables in it (on its own thread: the synchronous client runs
/// its own runtime, which may not start inside the test's).
fn seed(pg: &Pg, schema: &str) {
    let (host, port, user, password, schema) = (
        pg.host.clone(),
        pg.port,
        pg.user.clone(),
        pg.password.clone(),
        schema.to_string(),
    );
    std::thread::spawn(move || seed_now(&host, port, &user, &password, &schema))
        .join()
        .unwrap();
}

fn seed_now(host: &str, port: u16, user: &str, password: &str, schema: &str) {
    let mut client = postgres::Config::new()
        .host(host)
        .port(port)
        .user(user)
        .password(password)
        .dbname("postgres")
        .connect(postgres::NoTls)
        .unwrap();
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE;
             CREATE SCHEMA {schema};
             CREATE TABLE {schema}.crm_deals (
                 deal_id bigint PRIMARY KEY, name text, amount numeric(12,2), currency char(3),
                 stage text, created_at timestamptz, closed_at timestamp, is_closed boolean, is_won boolean);
             INSERT INTO {schema}.crm_deals VALUES
                 (1, 'Alpha', 1000.50, 'USD', 'won',  '2024-01-01 09:00+00', '2024-01-20 10:00', true, true),
                 (2, 'Beta',   250.00, 'USD', 'lost', '2024-01-02 12:00+00', '2024-01-25 10:00', true, false),
                 (3, 'Gamma',  780.25, 'EUR', 'won',  '2024-01-03 08:30+00', NULL, true, true),
                 (4, 'Delta',  NULL,   'EUR', 'open', '2024-01-04 00:00+00', NULL, false, false);
             CREATE TABLE {schema}.contacts (contact_id text, email text, created_at timestamptz, lifecycle_stage text,
                 lead_at timestamptz, mql_at timestamptz, sql_at timestamptz, opportunity_at timestamptz,
                 customer_at timestamptz, original_source text);
             INSERT INTO {schema}.contacts VALUES ('c1', 'a@x.com', '2024-01-01 00:00+00', 'customer',
                 '2024-01-01 00:00+00', NULL, NULL, NULL, '2024-01-20 10:00+00', 'PAID_SEARCH');"
        ))
        .unwrap();
}

fn project(dir: &std::path::Path, pg: &Pg, schema: &str, password_env: &str) -> Project {
    let text = format!(
        "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n[[clients]]\nid = \"acme\"\n\n[[sources]]\nconnector = \"postgres\"\nclient_id = \"acme\"\n[sources.options]\nhost = \"{}\"\nport = {}\nuser = \"{}\"\ndatabase = \"postgres\"\npassword_env = \"{password_env}\"\nschema = \"{schema}\"\ndeals_table = \"crm_deals\"\n",
        library("loopql_postgres"),
        pg.host,
        pg.port,
        pg.user
    );
    let path = dir.join("loopql.toml");
    std::fs::write(&path, text).unwrap();
    Project::load(&path).unwrap()
}

async fn table(engine: &Engine, sql: &str) -> String {
    let batches = engine.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test]
async fn rows_are_typed_and_pushdown_reaches_the_server() {
    let pg = pg();
    let schema = "loopql_t_pushdown";
    seed(&pg, schema);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(project(dir.path(), &pg, schema, "LOOPQL_TEST_PG_PASSWORD"))
        .await
        .unwrap();

    let all = table(&engine, "SELECT deal_id, amount, is_won, CAST(created_at AS VARCHAR) AS created FROM postgres.deals ORDER BY deal_id").await;
    assert!(
        all.contains("| 1       | 1000.5 | true   | 2024-01-01T09:00:00Z |"),
        "{all}"
    );
    assert!(
        all.contains("| 4       |        | false  | 2024-01-04T00:00:00Z |"),
        "{all}"
    );

    let sql = "SELECT deal_id, amount FROM postgres.deals \
               WHERE created_at >= TIMESTAMP '2024-01-02T00:00:00Z' AND stage = 'won' LIMIT 5";
    let got = table(&engine, sql).await;
    assert!(got.contains("| 3       | 780.25 |"), "{got}");
    assert_eq!(got.lines().count(), 5, "one row expected: {got}");

    // What the server ran: only the projected columns, the filters as parameters, the limit.
    let log = std::fs::read_to_string(&pg.log).unwrap();
    let statement = log
        .lines()
        .rfind(|l| l.contains(&format!("FROM \"{schema}\".\"crm_deals\"")) && l.contains("stage"))
        .unwrap_or_else(|| panic!("no such statement in the server log:\n{log}"));
    assert!(
        statement.contains(
            "SELECT \"deal_id\"::text AS \"deal_id\", \"amount\"::float8 AS \"amount\" FROM"
        ),
        "{statement}"
    );
    assert!(
        statement.contains("(extract(epoch from \"created_at\") * 1000000)::int8 >= $1::int8"),
        "{statement}"
    );
    assert!(
        statement.contains("\"stage\"::text = $2::text"),
        "{statement}"
    );
    assert!(statement.ends_with("LIMIT 5"), "{statement}");
    assert!(
        !statement.contains("\"name\""),
        "unprojected column sent: {statement}"
    );

    let contacts = table(&engine, "SELECT contact_id, lifecycle_stage, CAST(customer_at AS VARCHAR) AS c FROM postgres.contacts").await;
    assert!(
        contacts.contains("| c1         | customer        | 2024-01-20T10:00:00Z |"),
        "{contacts}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error() {
    let pg = pg();
    let schema = "loopql_t_auth";
    seed(&pg, schema);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(project(
        dir.path(),
        &pg,
        schema,
        "LOOPQL_TEST_PG_WRONG_PASSWORD",
    ))
    .await
    .unwrap();
    let err = match engine.sql("SELECT * FROM postgres.deals").await {
        Ok(df) => df.collect().await.unwrap_err().to_string(),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains(
            "connector `postgres` failed to open `postgres.deals` for source `acme_postgres`"
        ),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "cannot connect to PostgreSQL at {}:{}",
            pg.host, pg.port
        )),
        "{err}"
    );
    assert!(
        err.contains("password from $LOOPQL_TEST_PG_WRONG_PASSWORD"),
        "{err}"
    );
    assert!(err.contains("password authentication failed"), "{err}");
}

/// Rows of a query as text cells.
async fn cells(engine: &Engine, sql: &str) -> Vec<Vec<String>> {
    use datafusion::arrow::util::display::array_value_to_string;
    let mut out = Vec::new();
    for b in engine.sql(sql).await.unwrap().collect().await.unwrap() {
        for row in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .map(|c| array_value_to_string(c, row).unwrap())
                    .collect(),
            );
        }
    }
    out
}

#[tokio::test]
async fn the_demo_keeps_one_clients_crm_in_postgresql() {
    let pg = pg();
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let conninfo = format!(
        "host={} port={} user={} dbname=postgres",
        pg.host, pg.port, pg.user
    );
    // Twice: a second run replaces the demo tables rather than adding to them.
    for _ in 0..2 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_loopql"))
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

    let engine = Engine::open(Project::load(&demo.join("loopql.toml")).unwrap())
        .await
        .unwrap();
    let systems = cells(
        &engine,
        "SELECT client_id, source_system, count(*) FROM contacts GROUP BY 1, 2 ORDER BY 1",
    )
    .await;
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
        &engine,
        "SELECT to_char(closed_date, '%Y-%m'), count(*), round(sum(amount), 2) FROM deals \
         WHERE client_id = 'initech' AND is_won GROUP BY 1 ORDER BY 1",
    )
    .await;
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
        &engine,
        "SELECT count(*) FROM contacts WHERE client_id = 'initech'",
    )
    .await;
    let web: Vec<csv::StringRecord> =
        csv::Reader::from_path(demo.join("ground_truth/web_by_client.csv"))
            .unwrap()
            .records()
            .map(Result::unwrap)
            .filter(|r| &r[0] == "initech")
            .collect();
    assert_eq!(leads[0][0], web[0][2]);
}
