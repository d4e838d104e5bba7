//! The SQL a scan of a PostgreSQL table sends (no server needed): stored columns found by name or
//! header, absent optional ones NULL, filters on the stored column against bound parameters.

use super::*;
use crate::OptionsMap;
use crate::csv_table::Empty;

const COLUMNS: &[Column] = &[
    Column::new("deal_id", &["deal_id"], Kind::Utf8),
    Column::new("name", &["name"], Kind::Utf8),
    Column::new("amount", &["amount"], Kind::Float64),
    Column::new("stage", &["stage", "dealstage"], Kind::Utf8),
    Column::new("created_at", &["created_at"], Kind::Timestamp).empty(Empty::Error),
    Column::new("closed_at", &["closed_at"], Kind::Timestamp).optional(),
    Column::new("visits", &["visits"], Kind::Int64).optional(),
];

fn stored() -> Vec<(String, String)> {
    [
        ("deal_id", "bigint"),
        ("name", "text"),
        ("amount", "numeric"),
        ("DealStage", "character varying"),
        ("created_at", "timestamp with time zone"),
        ("closed_at", "timestamp without time zone"),
    ]
    .iter()
    .map(|(n, t)| (n.to_string(), t.to_string()))
    .collect()
}

fn request(projection: Option<Vec<usize>>, filters: Vec<Filter>) -> ScanRequest {
    ScanRequest {
        table: "deals".into(),
        options: OptionsMap::new(),
        projection,
        filters,
        limit: Some(10),
    }
}

fn filter(column: &str, op: FilterOp, value: Scalar) -> Filter {
    Filter {
        column: column.into(),
        op,
        value,
    }
}

#[test]
fn projection_filters_and_limit_become_sql_on_the_stored_columns() {
    let request = request(
        Some(vec![0, 2, 6]),
        vec![
            filter(
                "created_at",
                FilterOp::GtEq,
                Scalar::Date("2024-01-02".into()),
            ),
            filter(
                "closed_at",
                FilterOp::Lt,
                Scalar::TimestampMicros(1_706_000_000_000_000),
            ),
            filter("stage", FilterOp::Eq, Scalar::Utf8("won".into())),
            filter("deal_id", FilterOp::Eq, Scalar::Utf8("3".into())),
            filter("visits", FilterOp::Gt, Scalar::Int64(2)),
        ],
    );
    let stored = stored();
    let projected = resolve(COLUMNS, &[0, 2, 6], &stored, "t").unwrap();
    let (sql, params) = build_sql(
        COLUMNS,
        &projected,
        &stored,
        "\"crm\".\"deal\"\"s\"",
        &request,
    )
    .unwrap();
    assert_eq!(
        sql,
        "SELECT \"deal_id\"::text AS \"deal_id\", \"amount\"::float8 AS \"amount\", NULL::int8 AS \"visits\" \
         FROM \"crm\".\"deal\"\"s\" WHERE \
         \"created_at\" >= ('1970-01-01 00:00:00+00'::timestamptz + $1::int8 * interval '1 microsecond') AND \
         \"closed_at\" < ('1970-01-01 00:00:00'::timestamp + $2::int8 * interval '1 microsecond') AND \
         \"DealStage\" = $3::text AND \
         \"deal_id\"::text = $4::text AND \
         FALSE \
         LIMIT 10"
    );
    assert_eq!(params.len(), 5);
}

#[test]
fn a_missing_required_column_is_named_with_what_the_table_has() {
    let stored: Vec<(String, String)> = stored()
        .into_iter()
        .filter(|(n, _)| n != "amount")
        .collect();
    let err = resolve(COLUMNS, &[0, 2], &stored, "\"crm\".\"deals\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"crm\".\"deals\" has no column `amount`"),
        "{err}"
    );
    assert!(err.contains("it has: deal_id, name, DealStage"), "{err}");
    // An optional one reads as NULL.
    let r = resolve(COLUMNS, &[6], &stored, "t").unwrap();
    assert!(r[0].stored.is_none());
}

#[test]
fn a_filter_of_the_wrong_type_is_refused() {
    let request = request(
        None,
        vec![filter("amount", FilterOp::Eq, Scalar::Utf8("x".into()))],
    );
    let stored = stored();
    let projected = resolve(
        COLUMNS,
        &(0..COLUMNS.len()).collect::<Vec<_>>(),
        &stored,
        "t",
    )
    .unwrap();
    let err = build_sql(COLUMNS, &projected, &stored, "t", &request)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("filter on `amount` has a value of the wrong type"),
        "{err}"
    );
}

#[test]
fn server_messages_name_the_place_never_the_password() {
    let mut request = ScanRequest::new("deals");
    request.options.insert("host".into(), "db.example".into());
    request.options.insert("port".into(), 6543.into());
    request
        .options
        .insert("password_env".into(), "LOOPQL_SDK_PG_TEST_PASSWORD".into());
    let server = Server::from_request(&request).unwrap();
    assert_eq!(
        server.described(),
        "PostgreSQL at db.example:6543 (user `postgres`, database `postgres`, password from $LOOPQL_SDK_PG_TEST_PASSWORD)"
    );
    request.options.insert("port".into(), 70_000.into());
    let err = Server::from_request(&request).err().unwrap().to_string();
    assert!(err.contains("expected a port number"), "{err}");
}
