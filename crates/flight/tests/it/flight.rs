//! The Flight SQL server with arrow-flight's own client: login, statements, prepared statements
//! with parameters, metadata, error codes, limits — and the tenant-isolation suite: a principal
//! scoped to acme tries every way we know to read other clients' data or raw tables.

use crate::{demo_project, start, start_counting};
use arrow_flight::Ticket;
use arrow_flight::sql::{CommandGetTables, ProstMessageExt, SqlInfo, TicketStatementQuery};
use datafusion::arrow::array::{AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use futures::TryStreamExt;
use loopql_test_support::flight::{
    ACME, ACME_TOKEN, ADMIN, cells, client, code, fetch, login, prepared_with_text, query,
};
use prost::Message;
use std::sync::Arc;
use tonic::Code;

async fn count(
    c: &mut arrow_flight::sql::client::FlightSqlServiceClient<tonic::transport::Channel>,
    sql: &str,
) -> i64 {
    let b = query(c, sql).await.unwrap();
    b[0].column(0)
        .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
        .value(0)
}

#[tokio::test]
async fn statements_prepared_statements_metadata_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo_project(dir.path(), "max_concurrent_queries = 8");
    let (addr, _stop) = start(&project).await;

    // No token: refused. Wrong password: refused.
    let mut anon = client(addr).await;
    let e = query(&mut anon, "SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), Code::Unauthenticated, "{e}");
    let e = client(addr)
        .await
        .handshake("agency", "wrong")
        .await
        .unwrap_err();
    // (The client reports a failed handshake as text.)
    assert!(
        e.to_string().contains("invalid user name or password"),
        "{e}"
    );
    let mut bad = client(addr).await;
    bad.set_token("not-a-token".into());
    assert_eq!(
        code(&query(&mut bad, "SELECT 1").await.unwrap_err()),
        Code::Unauthenticated
    );

    let mut admin = login(addr, ADMIN).await;
    let b = query(
        &mut admin,
        "SELECT client_id, count(*) AS n FROM ad_performance GROUP BY 1 ORDER BY 1",
    )
    .await
    .unwrap();
    let ids: Vec<String> = cells(&b).into_iter().take(3).collect();
    assert_eq!(ids, ["acme", "globex", "initech"]);

    // The FlightInfo schema is the DoGet schema.
    let sql = "SELECT client_id, date, spend, channel FROM ad_performance WHERE spend > 0 LIMIT 50";
    let info = admin.execute(sql.into(), None).await.unwrap();
    let announced = info.clone().try_decode_schema().unwrap();
    let stream = admin
        .do_get(info.endpoint[0].ticket.clone().unwrap())
        .await
        .unwrap();
    let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
    assert!(!batches.is_empty());
    for b in &batches {
        assert_eq!(b.schema().as_ref(), &announced);
    }

    // A prepared statement with $1 and $2, bound through DoPut.
    let mut stmt = admin
        .prepare("SELECT client_id, count(*) AS n FROM ad_performance WHERE client_id = $1 AND clicks >= $2 GROUP BY 1".into(), None)
        .await
        .unwrap();
    assert_eq!(stmt.parameter_schema().unwrap().fields().len(), 2);
    let params = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("$1", DataType::Utf8, false),
            Field::new("$2", DataType::Int64, false),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["globex"])),
            Arc::new(Int64Array::from(vec![0])),
        ],
    )
    .unwrap();
    stmt.set_parameters(params).unwrap();
    let info = stmt.execute().await.unwrap();
    let got: Vec<RecordBatch> = fetch(&mut admin, info).await;
    assert_eq!(cells(&got)[0], "globex");
    let want = count(
        &mut admin,
        "SELECT count(*) FROM ad_performance WHERE client_id = 'globex'",
    )
    .await;
    assert_eq!(cells(&got)[1], want.to_string());
    stmt.close().await.unwrap();

    // Metadata: tables without a catalog filter, with schemas; SqlInfo; type info; keys empty.
    let info = admin
        .get_tables(CommandGetTables {
            catalog: None,
            db_schema_filter_pattern: None,
            table_name_filter_pattern: Some("ad_%".into()),
            table_types: vec![],
            include_schema: true,
        })
        .await
        .unwrap();
    let tables: Vec<RecordBatch> = fetch(&mut admin, info).await;
    let names = cells(&tables);
    assert!(names.contains(&"ad_performance".to_string()), "{names:?}");
    assert_eq!(tables[0].num_columns(), 5, "with table_schema");
    let info = admin
        .get_sql_info(vec![
            SqlInfo::FlightSqlServerName,
            SqlInfo::FlightSqlServerReadOnly,
        ])
        .await
        .unwrap();
    let si: Vec<RecordBatch> = fetch(&mut admin, info).await;
    assert_eq!(si[0].num_rows(), 2);
    for info in [
        admin.get_catalogs().await.unwrap(),
        admin.get_table_types().await.unwrap(),
        admin
            .get_xdbc_type_info(arrow_flight::sql::CommandGetXdbcTypeInfo { data_type: None })
            .await
            .unwrap(),
    ] {
        let b: Vec<RecordBatch> = fetch(&mut admin, info).await;
        assert!(b.iter().map(|b| b.num_rows()).sum::<usize>() >= 1);
    }
    let info = admin
        .get_primary_keys(arrow_flight::sql::CommandGetPrimaryKeys {
            catalog: None,
            db_schema: None,
            table: "ad_performance".into(),
        })
        .await
        .unwrap();
    let b: Vec<RecordBatch> = fetch(&mut admin, info).await;
    assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 0);

    // Bad SQL: InvalidArgument with the parser's message. Admin DDL works; scoped DDL does not.
    let e = query(&mut admin, "SELEC 1").await.unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument);
    assert!(e.to_string().contains("SELEC"), "{e}");
    admin
        .execute_update(
            "CREATE VIEW acme_spend AS SELECT * FROM ad_performance WHERE client_id = 'acme'"
                .into(),
            None,
        )
        .await
        .unwrap();
    assert!(count(&mut admin, "SELECT count(*) FROM acme_spend").await > 0);
    let mut acme = login(addr, ACME).await;
    let e = acme
        .execute_update("CREATE VIEW v AS SELECT 1".into(), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::PermissionDenied, "{e}");

    // A static token works without a handshake.
    let mut by_token = client(addr).await;
    by_token.set_token(ACME_TOKEN.into());
    assert!(count(&mut by_token, "SELECT count(*) FROM ad_performance").await > 0);
}

#[tokio::test]
async fn a_scoped_principal_sees_only_its_clients() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo_project(dir.path(), "");
    let (addr, _stop) = start(&project).await;
    let mut admin = login(addr, ADMIN).await;
    let mut acme = login(addr, ACME).await;
    let export = dir.path().join("demo/exports");
    let some_export = walk(&export)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("globex"))
        .expect("a globex export");
    let some_export = some_export.display();

    // The same numbers as the admin's acme-only query: the scope is in the rows, not the names.
    for (view, col) in [
        ("ad_performance", "spend"),
        ("sessions", "revenue"),
        ("deals", "amount"),
        ("roi_by_channel", "spend"),
        ("kpi_paid_media", "clicks"),
    ] {
        let scoped = query(
            &mut acme,
            &format!("SELECT count(*), round(sum({col}), 6) FROM {view}"),
        )
        .await
        .unwrap();
        let truth = query(
            &mut admin,
            &format!("SELECT count(*), round(sum({col}), 6) FROM {view} WHERE client_id = 'acme'"),
        )
        .await
        .unwrap();
        assert_eq!(cells(&scoped), cells(&truth), "{view}");
        assert!(cells(&scoped)[0] != "0", "{view} has acme rows");
    }

    let attempts: Vec<String> = vec![
        "SELECT * FROM ad_performance WHERE client_id = 'globex'".into(),
        "SELECT DISTINCT client_id FROM ad_performance".into(),
        "SELECT * FROM sessions WHERE client_id <> 'acme'".into(),
        "SELECT * FROM deals WHERE client_id IN ('globex', 'initech')".into(),
        "SELECT * FROM contacts".into(),
        "SELECT * FROM clients".into(),
        "SELECT * FROM budgets".into(),
        "SELECT * FROM annotations".into(),
        "SELECT * FROM source_categories WHERE client_id <> '*'".into(),
        "SELECT * FROM google_ads.campaign_stats".into(),
        "SELECT * FROM meta_ads.insights".into(),
        "SELECT * FROM hubspot.deals".into(),
        "SELECT * FROM loopql.ga4.events".into(),
        "SELECT * FROM salesforce.opportunity".into(),
        "SELECT table_schema, table_name FROM information_schema.tables".into(),
        "SELECT * FROM information_schema.columns WHERE table_schema = 'google_ads'".into(),
        "SELECT client_id FROM ad_performance UNION SELECT client_id FROM sessions".into(),
        "SELECT client_id FROM deals UNION ALL SELECT 'x'".into(),
        "SELECT * FROM (SELECT * FROM deals) d WHERE d.client_id = 'initech'".into(),
        "WITH x AS (SELECT * FROM roi_by_channel) SELECT DISTINCT client_id FROM x".into(),
        "SELECT * FROM roi_by_campaign WHERE client_id = 'globex'".into(),
        "SELECT * FROM attribution_by_channel".into(),
        "SELECT * FROM triangulation".into(),
        "SELECT * FROM forecast_daily".into(),
        "SELECT * FROM budget_pacing".into(),
        "SELECT * FROM attribution()".into(),
        "SELECT * FROM conversion_paths()".into(),
        "SELECT * FROM forecast()".into(),
        "SELECT * FROM attribute_paths('linear', 'google_ads.campaign_stats')".into(),
        "SELECT * FROM kpi_paid_media WHERE client_id LIKE '%'".into(),
        "EXPLAIN SELECT * FROM hubspot.contacts".into(),
        "SELECT * FROM ad_performance WHERE client_id = 'acme' OR 1 = 1".into(),
        format!("CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '{some_export}'"),
        format!("SELECT * FROM '{some_export}'"),
        format!("SELECT * FROM read_csv('{some_export}')"),
        "COPY (SELECT * FROM ad_performance) TO '/tmp/loopql-leak.csv'".into(),
        "CREATE VIEW everything AS SELECT * FROM ad_performance".into(),
        "DROP VIEW ad_performance".into(),
        "INSERT INTO budgets VALUES ('acme', '2024-01-01', 'x', NULL, 1.0)".into(),
        "SET loopql.attribution.lookback_days = 365".into(),
        "SET datafusion.catalog.information_schema = false".into(),
    ];
    assert!(attempts.len() >= 30);
    let others = ["globex", "initech"];
    for sql in &attempts {
        match query(&mut acme, sql).await {
            Err(e) => assert!(
                matches!(
                    code(&e),
                    Code::InvalidArgument | Code::PermissionDenied | Code::NotFound
                ),
                "{sql}: {e}"
            ),
            Ok(batches) => {
                let seen = cells(&batches);
                for o in others {
                    assert!(!seen.iter().any(|c| c.contains(o)), "{sql} shows {o}");
                }
                assert!(
                    !seen.iter().any(|c| [
                        "google_ads",
                        "hubspot",
                        "ga4",
                        "meta_ads",
                        "salesforce",
                        "snowplow"
                    ]
                    .contains(&c.as_str())
                        && sql.contains("information_schema")),
                    "{sql} lists raw schemas: {seen:?}"
                );
            }
        }
    }
    assert!(!std::path::Path::new("/tmp/loopql-leak.csv").exists());

    // Prepared-statement parameters are values, in the caller's scope.
    for value in ["globex", "acme' OR '1'='1", "initech"] {
        let b = prepared_with_text(
            &mut acme,
            "SELECT * FROM ad_performance WHERE client_id = $1",
            value,
        )
        .await;
        assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 0, "{value}");
    }
    // A forged ticket is planned again as the caller: raw tables stay out of reach.
    let forged = TicketStatementQuery {
        statement_handle: "SELECT * FROM google_ads.campaign_stats".into(),
    };
    let e = match acme
        .do_get(Ticket {
            ticket: forged.as_any().encode_to_vec().into(),
        })
        .await
    {
        Ok(s) => s.try_collect::<Vec<_>>().await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(code(&e), Code::InvalidArgument, "{e}");
    // Another principal's prepared statement handle is not found.
    let stmt = admin
        .prepare("SELECT * FROM ad_performance".into(), None)
        .await
        .unwrap();
    let handle = stmt_handle(&stmt);
    let cmd = arrow_flight::sql::CommandPreparedStatementQuery {
        prepared_statement_handle: handle,
    };
    let e = match acme
        .do_get(Ticket {
            ticket: cmd.as_any().encode_to_vec().into(),
        })
        .await
    {
        Ok(s) => s.try_collect::<Vec<_>>().await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(code(&e), Code::NotFound, "{e}");
    // The catalog shows no raw schemas.
    let info = acme
        .get_db_schemas(arrow_flight::sql::CommandGetDbSchemas {
            catalog: None,
            db_schema_filter_pattern: None,
        })
        .await
        .unwrap();
    let b: Vec<RecordBatch> = fetch(&mut acme, info).await;
    let mut schemas: Vec<String> = b
        .iter()
        .flat_map(|b| {
            b.column(1)
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    schemas.sort();
    assert_eq!(schemas, ["public"]);
}

fn stmt_handle(
    stmt: &arrow_flight::sql::client::PreparedStatement<tonic::transport::Channel>,
) -> prost::bytes::Bytes {
    // The handle is not public on the client; read it from the Debug output's bytes.
    let text = format!("{stmt:?}");
    let start = text.find("handle: b\"").expect("handle in Debug") + "handle: b\"".len();
    let end = text[start..].find('"').unwrap() + start;
    prost::bytes::Bytes::from(text[start..end].to_string())
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn limits_fail_cleanly_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo_project(
        dir.path(),
        "max_concurrent_queries = 1\nquery_timeout_seconds = 2\nquery_memory_mb = 8",
    );
    let (addr, _stop) = start(&project).await;
    let mut admin = login(addr, ADMIN).await;
    // Memory: a sort far over 8 MiB (spilling is off).
    let e = query(
        &mut admin,
        "SELECT v FROM generate_series(1, 3000000) t(v) ORDER BY v DESC",
    )
    .await
    .unwrap_err();
    assert_eq!(code(&e), Code::ResourceExhausted, "{e}");
    // Time: a query running past 2 s.
    let e = query(
        &mut admin,
        "SELECT count(*) FROM generate_series(1, 100000000000) t(v) WHERE v % 7 = 3",
    )
    .await
    .unwrap_err();
    assert_eq!(code(&e), Code::DeadlineExceeded, "{e}");
    // Concurrency: one query streaming (not read), the next is refused.
    let info = admin
        .execute(
            "SELECT v FROM generate_series(1, 50000000) t(v)".into(),
            None,
        )
        .await
        .unwrap();
    let open = admin
        .do_get(info.endpoint[0].ticket.clone().unwrap())
        .await
        .unwrap();
    let mut other = login(addr, ADMIN).await;
    let e = query(&mut other, "SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), Code::ResourceExhausted, "{e}");
    drop(open);
    // The server is still up and answers once the slot is free.
    let mut ok = false;
    for _ in 0..50 {
        if query(&mut other, "SELECT 1").await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "the slot comes back when the stream is dropped");
}

#[tokio::test]
async fn a_statement_is_planned_once_per_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo_project(dir.path(), "max_concurrent_queries = 8");
    let (addr, _stop, planned) = start_counting(&project).await;
    let mut admin = login(addr, ADMIN).await;
    let mut acme = login(addr, ACME).await;
    let sql = "SELECT client_id, count(*) AS n FROM ad_performance GROUP BY 1 ORDER BY 1";

    // GetFlightInfo plans; the DoGet of its ticket runs that plan without planning again.
    let before = planned();
    let info = admin.execute(sql.into(), None).await.unwrap();
    assert_eq!(planned(), before + 1);
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    // Another principal cannot run it (and does not use it up).
    let e = match acme.do_get(ticket.clone()).await {
        Ok(s) => s.try_collect::<Vec<_>>().await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(code(&e), Code::NotFound, "{e}");
    let batches: Vec<RecordBatch> = admin
        .do_get(ticket.clone())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        cells(&batches).into_iter().take(1).collect::<Vec<_>>(),
        ["acme"]
    );
    assert_eq!(
        planned(),
        before + 1,
        "the DoGet planned the statement again"
    );
    // A ticket is good for one DoGet.
    let e = match admin.do_get(ticket).await {
        Ok(s) => s.try_collect::<Vec<_>>().await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(code(&e), Code::NotFound, "{e}");
    assert!(e.to_string().contains("run the statement again"), "{e}");

    // A prepared statement: planned when prepared and at its GetFlightInfo, not at its DoGet.
    let mut stmt = admin
        .prepare("SELECT count(*) AS n FROM ad_performance".into(), None)
        .await
        .unwrap();
    let before = planned();
    let info = stmt.execute().await.unwrap();
    assert_eq!(planned(), before + 1);
    let batches: Vec<RecordBatch> = admin
        .do_get(info.endpoint[0].ticket.clone().unwrap())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(batches.iter().map(|b| b.num_rows()).sum::<usize>() == 1);
    assert_eq!(planned(), before + 1);
}
