//! Builds the SQL for a scan (projection, filters as bind parameters, limit), runs it on a
//! producer thread, and hands the rows over as Arrow batches.

use crate::tables::{Kind, Table};
use loopql_connector_sdk::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use loopql_connector_sdk::arrow::datatypes::SchemaRef;
use loopql_connector_sdk::arrow::error::ArrowError;
use loopql_connector_sdk::arrow::record_batch::{RecordBatch, RecordBatchReader};
use loopql_connector_sdk::csv_table::{parse_date, parse_timestamp};
use loopql_connector_sdk::{BatchReader, ConnectorError, Filter, FilterOp, Scalar, ScanRequest};
use postgres::types::ToSql;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

const BATCH_ROWS: usize = 8192;

/// The server's own words when it sent some ("password authentication failed for user ..."),
/// else the client error with its causes.
fn pg_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn read_expr(column: &str, kind: Kind) -> String {
    let c = quote(column);
    match kind {
        Kind::Text => format!("{c}::text"),
        Kind::Float => format!("{c}::float8"),
        Kind::Bool => format!("{c}::bool"),
        Kind::Timestamp => format!("(extract(epoch from {c}) * 1000000)::int8"),
    }
}

type Param = Box<dyn ToSql + Sync + Send>;

/// The parameter for a filter value, typed for the column.
fn param(kind: Kind, value: &Scalar) -> Option<(Param, &'static str)> {
    Some(match (kind, value) {
        (Kind::Text, Scalar::Utf8(s)) => (Box::new(s.clone()), "text"),
        (Kind::Float, Scalar::Float64(v)) => (Box::new(*v), "float8"),
        (Kind::Float, Scalar::Int64(v)) => (Box::new(*v as f64), "float8"),
        (Kind::Bool, Scalar::Bool(v)) => (Box::new(*v), "bool"),
        (Kind::Timestamp, Scalar::TimestampMicros(v)) => (Box::new(*v), "int8"),
        (Kind::Timestamp, Scalar::Date(d)) => {
            (Box::new(i64::from(parse_date(d)?) * 86_400_000_000), "int8")
        }
        (Kind::Timestamp, Scalar::Utf8(s)) => (Box::new(parse_timestamp(s)?), "int8"),
        _ => return None,
    })
}

fn op_sql(op: FilterOp) -> &'static str {
    match op {
        FilterOp::Eq => "=",
        FilterOp::NotEq => "<>",
        FilterOp::Lt => "<",
        FilterOp::LtEq => "<=",
        FilterOp::Gt => ">",
        FilterOp::GtEq => ">=",
    }
}

/// The statement and its parameters for a scan of `table` stored as `qualified`.
pub fn build_sql(
    table: &Table,
    qualified: &str,
    request: &ScanRequest,
) -> Result<(String, Vec<Param>), ConnectorError> {
    let indices: Vec<usize> = match &request.projection {
        Some(p) => p.clone(),
        None => (0..table.columns.len()).collect(),
    };
    let mut select = Vec::new();
    for &i in &indices {
        let c = table
            .columns
            .get(i)
            .ok_or_else(|| ConnectorError::Other(format!("projection index {i} out of range")))?;
        select.push(format!(
            "{} AS {}",
            read_expr(c.name, c.kind),
            quote(c.name)
        ));
    }
    if select.is_empty() {
        select.push("1".into());
    }
    let mut conditions = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    for Filter { column, op, value } in &request.filters {
        let c = table
            .columns
            .iter()
            .find(|c| c.name == column)
            .ok_or_else(|| ConnectorError::Other(format!("cannot filter on `{column}`")))?;
        let (p, sql_type) = param(c.kind, value).ok_or_else(|| {
            ConnectorError::Other(format!(
                "filter on `{column}` has a value of the wrong type: {value:?}"
            ))
        })?;
        params.push(p);
        conditions.push(format!(
            "{} {} ${}::{sql_type}",
            read_expr(c.name, c.kind),
            op_sql(*op),
            params.len()
        ));
    }
    let mut sql = format!("SELECT {} FROM {qualified}", select.join(", "));
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    if let Some(limit) = request.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    Ok((sql, params))
}

struct Connection {
    config: postgres::Config,
    described: String,
}

fn connection(request: &ScanRequest) -> Result<Connection, ConnectorError> {
    let text = |name: &str, default: &str| request.option_str(name).unwrap_or(default).to_string();
    let int = |name: &str, default: i64| {
        request
            .options
            .get(name)
            .and_then(|v| v.as_i64())
            .unwrap_or(default)
    };
    let host = text("host", "127.0.0.1");
    let port = u16::try_from(int("port", 5432)).map_err(|_| ConnectorError::InvalidOption {
        name: "port".into(),
        message: "expected a port number (1-65535)".into(),
    })?;
    let user = text("user", "postgres");
    let database = text("database", "postgres");
    let timeout = int("connect_timeout_seconds", 10).max(1) as u64;
    let mut config = postgres::Config::new();
    config
        .host(&host)
        .port(port)
        .user(&user)
        .dbname(&database)
        .application_name("loopql")
        .connect_timeout(std::time::Duration::from_secs(timeout));
    let password_env = text("password_env", "PGPASSWORD");
    if let Ok(password) = std::env::var(&password_env) {
        config.password(password);
    }
    Ok(Connection {
        config,
        described: format!(
            "PostgreSQL at {host}:{port} (user `{user}`, database `{database}`, password from ${password_env})"
        ),
    })
}

pub fn scan(table: &'static Table, request: &ScanRequest) -> Result<BatchReader, ConnectorError> {
    let schema_name = request.option_str("schema").unwrap_or("public");
    let table_name = request.option_str(table.table_option).unwrap_or(table.name);
    if schema_name.is_empty() || table_name.is_empty() {
        return Err(ConnectorError::InvalidOption {
            name: table.table_option.into(),
            message: "must not be empty".into(),
        });
    }
    let qualified = format!("{}.{}", quote(schema_name), quote(table_name));
    let (sql, params) = build_sql(table, &qualified, request)?;
    let full = table.schema();
    let schema = request
        .projected_schema(&full)
        .map_err(|e| ConnectorError::Other(e.to_string()))?;
    let kinds: Vec<Kind> = match &request.projection {
        Some(p) => p.iter().map(|&i| table.columns[i].kind).collect(),
        None => table.columns.iter().map(|c| c.kind).collect(),
    };
    let conn = connection(request)?;
    // Connect here, so a bad address or password fails the scan when it is opened.
    let client = conn.config.connect(postgres::NoTls).map_err(|e| {
        ConnectorError::Other(format!(
            "cannot connect to {}: {}; check the source's options and the password variable",
            conn.described,
            pg_message(&e)
        ))
    })?;
    let (tx, rx) = sync_channel(2);
    let thread_schema = schema.clone();
    std::thread::Builder::new()
        .name("loopql-postgres-scan".into())
        .spawn(move || produce(client, sql, params, thread_schema, kinds, tx))
        .map_err(|e| ConnectorError::Other(format!("cannot start the scan thread: {e}")))?;
    Ok(Box::new(Rows { rx, schema }))
}

fn produce(
    mut client: postgres::Client,
    sql: String,
    params: Vec<Param>,
    schema: SchemaRef,
    kinds: Vec<Kind>,
    tx: SyncSender<Result<RecordBatch, ArrowError>>,
) {
    let fail = |tx: &SyncSender<_>, message: String| {
        let _ = tx.send(Err(ArrowError::ExternalError(Box::new(
            ConnectorError::Other(message),
        ))));
    };
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let mut rows = match client.query_raw(&sql, refs) {
        Ok(rows) => rows,
        Err(e) => {
            return fail(
                &tx,
                format!("PostgreSQL refused `{sql}`: {}", pg_message(&e)),
            );
        }
    };
    let mut builders = Builders::new(&kinds);
    loop {
        let next = postgres::fallible_iterator::FallibleIterator::next(&mut rows);
        match next {
            Ok(Some(row)) => {
                if let Err(e) = builders.push(&row) {
                    return fail(&tx, e);
                }
                if builders.len == BATCH_ROWS && tx.send(builders.finish(&schema)).is_err() {
                    return; // the reader was dropped
                }
            }
            Ok(None) => break,
            Err(e) => return fail(&tx, format!("reading rows of `{sql}`: {}", pg_message(&e))),
        }
    }
    if builders.len > 0 {
        let _ = tx.send(builders.finish(&schema));
    }
}

enum B {
    Text(StringBuilder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
}

struct Builders {
    columns: Vec<B>,
    len: usize,
}

impl Builders {
    fn new(kinds: &[Kind]) -> Self {
        let columns = kinds
            .iter()
            .map(|k| match k {
                Kind::Text => B::Text(StringBuilder::new()),
                Kind::Float => B::Float(Float64Builder::new()),
                Kind::Bool => B::Bool(BooleanBuilder::new()),
                Kind::Timestamp => B::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
            })
            .collect();
        Self { columns, len: 0 }
    }

    fn push(&mut self, row: &postgres::Row) -> Result<(), String> {
        let err = |i: usize, e: postgres::Error| format!("column {i}: {e}");
        for (i, b) in self.columns.iter_mut().enumerate() {
            match b {
                B::Text(b) => {
                    b.append_option(row.try_get::<_, Option<String>>(i).map_err(|e| err(i, e))?)
                }
                B::Float(b) => {
                    b.append_option(row.try_get::<_, Option<f64>>(i).map_err(|e| err(i, e))?)
                }
                B::Bool(b) => {
                    b.append_option(row.try_get::<_, Option<bool>>(i).map_err(|e| err(i, e))?)
                }
                B::Ts(b) => {
                    b.append_option(row.try_get::<_, Option<i64>>(i).map_err(|e| err(i, e))?)
                }
            }
        }
        self.len += 1;
        Ok(())
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| match b {
                B::Text(b) => Arc::new(b.finish()) as ArrayRef,
                B::Float(b) => Arc::new(b.finish()),
                B::Bool(b) => Arc::new(b.finish()),
                B::Ts(b) => Arc::new(b.finish()),
            })
            .collect();
        self.len = 0;
        RecordBatch::try_new(schema.clone(), arrays)
    }
}

struct Rows {
    rx: Receiver<Result<RecordBatch, ArrowError>>,
    schema: SchemaRef,
}

impl Iterator for Rows {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rx.recv().ok()
    }
}

impl RecordBatchReader for Rows {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::TABLES;
    use loopql_connector_sdk::OptionsMap;

    #[test]
    fn projection_filters_and_limit_become_sql() {
        let request = ScanRequest {
            table: "deals".into(),
            options: OptionsMap::new(),
            projection: Some(vec![0, 2]),
            filters: vec![
                Filter {
                    column: "created_at".into(),
                    op: FilterOp::GtEq,
                    value: Scalar::Date("2024-01-02".into()),
                },
                Filter {
                    column: "stage".into(),
                    op: FilterOp::Eq,
                    value: Scalar::Utf8("won".into()),
                },
            ],
            limit: Some(10),
        };
        let (sql, params) = build_sql(&TABLES[1], "\"crm\".\"deal\"\"s\"", &request).unwrap();
        assert_eq!(
            sql,
            "SELECT \"deal_id\"::text AS \"deal_id\", \"amount\"::float8 AS \"amount\" FROM \"crm\".\"deal\"\"s\" \
             WHERE (extract(epoch from \"created_at\") * 1000000)::int8 >= $1::int8 AND \"stage\"::text = $2::text LIMIT 10"
        );
        assert_eq!(params.len(), 2);
    }

    #[test]
    fn a_filter_of_the_wrong_type_is_refused() {
        let request = ScanRequest {
            table: "deals".into(),
            options: OptionsMap::new(),
            projection: None,
            filters: vec![Filter {
                column: "amount".into(),
                op: FilterOp::Eq,
                value: Scalar::Utf8("x".into()),
            }],
            limit: None,
        };
        assert!(build_sql(&TABLES[1], "t", &request).is_err());
    }
}
