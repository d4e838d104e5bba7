//! The PostgreSQL connector against a real server (started by `cargo xtask test`): rows arrive
//! typed, and the projection, filters and limit are in the SQL the server received.

use datafusion::arrow::util::pretty::pretty_format_batches;
use loopql_core::{Engine, EngineBuilder, Project};
use loopql_test_support::library;
use loopql_test_support::postgres::{Pg, pg};

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
                 customer_at timestamptz);
             INSERT INTO {schema}.contacts VALUES ('c1', 'a@x.com', '2024-01-01 00:00+00', 'customer',
                 '2024-01-01 00:00+00', NULL, NULL, NULL, '2024-01-20 10:00+00');"
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
    let batches = engine.collect(sql).await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test]
async fn rows_are_typed_and_pushdown_reaches_the_server() {
    let pg = pg();
    let schema = "loopql_t_pushdown";
    seed(&pg, schema);
    let dir = tempfile::tempdir().unwrap();
    let engine = EngineBuilder::live(project(dir.path(), &pg, schema, "LOOPQL_TEST_PG_PASSWORD"))
        .open()
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
        statement.contains(
            "\"created_at\" >= ('1970-01-01 00:00:00+00'::timestamptz + $1::int8 * interval '1 microsecond')"
        ),
        "{statement}"
    );
    assert!(statement.contains("\"stage\" = $2::text"), "{statement}");
    assert!(statement.ends_with("LIMIT 5"), "{statement}");
    assert!(
        !statement.contains("\"name\""),
        "unprojected column sent: {statement}"
    );

    // `original_source` is not in this CRM's table: it reads as NULL.
    let contacts = table(&engine, "SELECT contact_id, lifecycle_stage, CAST(customer_at AS VARCHAR) AS c, original_source FROM postgres.contacts").await;
    assert!(
        contacts
            .contains("| c1         | customer        | 2024-01-20T10:00:00Z |                 |"),
        "{contacts}"
    );

    // A table that is not there is named, with the options that say where it is.
    let err = match engine.sql("SELECT * FROM postgres.deal_contacts").await {
        Ok(df) => df.collect().await.unwrap_err().to_string(),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains(&format!("has no table \"{schema}\".\"deal_contacts\"")),
        "{err}"
    );
    assert!(
        err.contains("set the `schema` and `deal_contacts_table` options"),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error() {
    let pg = pg();
    let schema = "loopql_t_auth";
    seed(&pg, schema);
    let dir = tempfile::tempdir().unwrap();
    let engine = EngineBuilder::live(project(
        dir.path(),
        &pg,
        schema,
        "LOOPQL_TEST_PG_WRONG_PASSWORD",
    ))
    .open()
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
