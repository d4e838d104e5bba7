//! A table in PostgreSQL read as a connector's raw table (feature `postgres`): the server from
//! the source's options (the password from an environment variable, never the project file),
//! the table's columns looked up once so a missing optional column reads as NULL and a missing
//! required one is a clear error, and the projection, the filters and the limit sent as SQL —
//! filters on the stored column against a bound parameter, so the server's indexes serve them.

mod rows;

use crate::csv_table::{Column, Kind};
use crate::text::{parse_date, parse_timestamp};
use crate::{BatchReader, ConnectorError, Filter, FilterOp, OptionKind, OptionSpec, Scalar};
use crate::{ScanRequest, csv_table};
use postgres::types::ToSql;

/// The server's own words when it sent some ("password authentication failed for user ..."),
/// else the client error with its causes.
pub fn message(e: &postgres::Error) -> String {
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

/// `ident` quoted as a PostgreSQL identifier.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn option(
    name: &str,
    kind: OptionKind,
    default: serde_json::Value,
    description: String,
) -> OptionSpec {
    OptionSpec {
        name: name.into(),
        kind,
        required: false,
        default: Some(default),
        description,
    }
}

/// The options naming the server (`host`, `port`, `user`, `database`, `password_env`,
/// `connect_timeout_seconds`), each description after `lead` (e.g. "postgres mode: ").
pub fn server_options(lead: &str) -> Vec<OptionSpec> {
    vec![
        option(
            "host",
            OptionKind::String,
            "127.0.0.1".into(),
            format!("{lead}server host name or address"),
        ),
        option(
            "port",
            OptionKind::Integer,
            5432.into(),
            format!("{lead}server port"),
        ),
        option(
            "user",
            OptionKind::String,
            "postgres".into(),
            format!("{lead}user name"),
        ),
        option(
            "database",
            OptionKind::String,
            "postgres".into(),
            format!("{lead}database name"),
        ),
        option(
            "password_env",
            OptionKind::String,
            "PGPASSWORD".into(),
            format!(
                "{lead}environment variable holding the password (unset variable: no password)"
            ),
        ),
        option(
            "connect_timeout_seconds",
            OptionKind::Integer,
            10.into(),
            format!("{lead}give up connecting after this long"),
        ),
    ]
}

/// A server to read from, as the source's options name it.
pub struct Server {
    config: postgres::Config,
    described: String,
}

impl Server {
    pub fn from_request(request: &ScanRequest) -> Result<Self, ConnectorError> {
        let text =
            |name: &str, default: &str| request.option_str(name).unwrap_or(default).to_string();
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
        Ok(Self {
            config,
            described: format!(
                "PostgreSQL at {host}:{port} (user `{user}`, database `{database}`, password from ${password_env})"
            ),
        })
    }

    /// Where the server is, for messages (never the password).
    pub fn described(&self) -> &str {
        &self.described
    }

    fn connect(&self) -> Result<postgres::Client, ConnectorError> {
        self.config.connect(postgres::NoTls).map_err(|e| {
            ConnectorError::Other(format!(
                "cannot connect to {}: {}; check the source's options and the password variable",
                self.described,
                message(&e)
            ))
        })
    }
}

/// Where a raw table is stored: `schema.table`, and the options that name them (for the hint
/// when it is not there).
pub struct Stored<'a> {
    pub schema: &'a str,
    pub table: &'a str,
    pub schema_option: &'a str,
    pub table_option: &'a str,
}

impl Stored<'_> {
    fn qualified(&self) -> String {
        format!("{}.{}", quote(self.schema), quote(self.table))
    }
}

/// How one requested column is read: its kind, and the stored column's name and SQL type
/// (`None`: the table has no such column; it reads as NULL).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub kind: Kind,
    pub stored: Option<(String, String)>,
}

/// The requested `columns` (by index) matched to the stored table's `(name, data_type)` pairs,
/// by name or any of the column's headers, case-insensitively.
pub fn resolve(
    columns: &[Column],
    indices: &[usize],
    stored: &[(String, String)],
    label: &str,
) -> Result<Vec<Resolved>, ConnectorError> {
    let mut missing = Vec::new();
    let mut out = Vec::new();
    for &i in indices {
        let c = columns
            .get(i)
            .ok_or_else(|| ConnectorError::Other(format!("projection index {i} out of range")))?;
        let found = stored.iter().find(|(name, _)| {
            name.eq_ignore_ascii_case(c.name)
                || c.headers.iter().any(|h| name.eq_ignore_ascii_case(h))
        });
        if found.is_none() && c.required {
            missing.push(c.name);
        }
        out.push(Resolved {
            kind: c.kind,
            stored: found.cloned(),
        });
    }
    if !missing.is_empty() {
        let has: Vec<&str> = stored.iter().take(40).map(|(n, _)| n.as_str()).collect();
        return Err(ConnectorError::Other(format!(
            "{label} has no column {}; it has: {}{}",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
            has.join(", "),
            if stored.len() > has.len() {
                ", ..."
            } else {
                ""
            }
        )));
    }
    Ok(out)
}

fn is_text(sql_type: &str) -> bool {
    matches!(sql_type, "text" | "character varying" | "character")
}

fn is_integer(sql_type: &str) -> bool {
    matches!(sql_type, "smallint" | "integer" | "bigint")
}

/// The SQL reading a column as the Arrow value the builders take.
fn read_expr(r: &Resolved) -> String {
    let Some((name, _)) = &r.stored else {
        return match r.kind {
            Kind::Utf8 => "NULL::text",
            Kind::Int64 | Kind::Timestamp => "NULL::int8",
            Kind::Float64 => "NULL::float8",
            Kind::Bool => "NULL::bool",
            Kind::Date => "NULL::int4",
        }
        .into();
    };
    let c = quote(name);
    match r.kind {
        Kind::Utf8 => format!("{c}::text"),
        Kind::Int64 => format!("{c}::int8"),
        Kind::Float64 => format!("{c}::float8"),
        Kind::Bool => format!("{c}::bool"),
        Kind::Date => format!("({c}::date - DATE '1970-01-01')"),
        Kind::Timestamp => format!("(extract(epoch from {c}) * 1000000)::int8"),
    }
}

type Param = Box<dyn ToSql + Sync + Send>;

/// The bound value of a filter for a column of `kind`, and its SQL type.
fn param(kind: Kind, value: &Scalar) -> Option<(Param, &'static str)> {
    Some(match (kind, value) {
        (Kind::Utf8, Scalar::Utf8(s)) => (Box::new(s.clone()), "text"),
        (Kind::Int64, Scalar::Int64(v)) => (Box::new(*v), "int8"),
        (Kind::Float64, Scalar::Float64(v)) => (Box::new(*v), "float8"),
        (Kind::Float64, Scalar::Int64(v)) => (Box::new(*v as f64), "float8"),
        (Kind::Bool, Scalar::Bool(v)) => (Box::new(*v), "bool"),
        (Kind::Date, Scalar::Date(d) | Scalar::Utf8(d)) => (Box::new(parse_date(d)?), "int4"),
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

/// A filter as SQL over the stored column (so an index on it serves the filter) against
/// parameter `$n` of type `sql_type`.
fn condition(r: &Resolved, op: FilterOp, n: usize, sql_type: &str) -> String {
    let op = op_sql(op);
    let Some((name, stored_type)) = &r.stored else {
        return "FALSE".into(); // NULL compared with anything is not true
    };
    let c = quote(name);
    let stored_type = stored_type.as_str();
    let micros = format!("${n}::{sql_type} * interval '1 microsecond'");
    match r.kind {
        Kind::Timestamp => match stored_type {
            "timestamp with time zone" => {
                format!("{c} {op} ('1970-01-01 00:00:00+00'::timestamptz + {micros})")
            }
            "timestamp without time zone" | "date" => {
                format!("{c} {op} ('1970-01-01 00:00:00'::timestamp + {micros})")
            }
            _ => format!("{} {op} ${n}::{sql_type}", read_expr(r)),
        },
        Kind::Date if stored_type == "date" => format!("{c} {op} (DATE '1970-01-01' + ${n}::int4)"),
        Kind::Utf8 if is_text(stored_type) => format!("{c} {op} ${n}::text"),
        Kind::Int64 if is_integer(stored_type) => format!("{c} {op} ${n}::int8"),
        Kind::Bool if stored_type == "boolean" => format!("{c} {op} ${n}::bool"),
        _ => format!("{} {op} ${n}::{sql_type}", read_expr(r)),
    }
}

/// The statement and its parameters for a scan of `columns` stored in `qualified`, the
/// projection already resolved to `projected`.
pub fn build_sql(
    columns: &[Column],
    projected: &[Resolved],
    stored: &[(String, String)],
    qualified: &str,
    request: &ScanRequest,
) -> Result<(String, Vec<Param>), ConnectorError> {
    let indices = indices(columns, request);
    let mut select: Vec<String> = projected
        .iter()
        .zip(&indices)
        .map(|(r, &i)| format!("{} AS {}", read_expr(r), quote(columns[i].name)))
        .collect();
    if select.is_empty() {
        select.push("1".into());
    }
    let mut conditions = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    for Filter { column, op, value } in &request.filters {
        let i = columns
            .iter()
            .position(|c| c.name == column)
            .ok_or_else(|| ConnectorError::Other(format!("cannot filter on `{column}`")))?;
        let resolved = resolve(columns, &[i], stored, qualified)
            .unwrap_or_else(|_| {
                vec![Resolved {
                    kind: columns[i].kind,
                    stored: None,
                }]
            })
            .remove(0);
        let (p, sql_type) = param(columns[i].kind, value).ok_or_else(|| {
            ConnectorError::Other(format!(
                "filter on `{column}` has a value of the wrong type: {value:?}"
            ))
        })?;
        params.push(p);
        conditions.push(condition(&resolved, *op, params.len(), sql_type));
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

fn indices(columns: &[Column], request: &ScanRequest) -> Vec<usize> {
    match &request.projection {
        Some(p) => p.clone(),
        None => (0..columns.len()).collect(),
    }
}

/// The stored table's columns, `(name, information_schema data_type)`, in table order.
fn stored_columns(
    client: &mut postgres::Client,
    server: &Server,
    at: &Stored<'_>,
) -> Result<Vec<(String, String)>, ConnectorError> {
    let rows = client
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            &[&at.schema, &at.table],
        )
        .map_err(|e| {
            ConnectorError::Other(format!(
                "cannot list the columns of {} on {}: {}",
                at.qualified(),
                server.described,
                message(&e)
            ))
        })?;
    if rows.is_empty() {
        return Err(ConnectorError::Other(format!(
            "{} has no table {} (or the user may not see it); set the `{}` and `{}` options to where it is",
            server.described,
            at.qualified(),
            at.schema_option,
            at.table_option
        )));
    }
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Reads `columns` from the table at `at`: connects and checks the table when called (a bad
/// address, password or table fails the scan as it opens), then streams the rows as batches
/// from a reader thread. A NULL in a column whose `empty` is `Error` is a bad row: it fails
/// the scan, or with `on_bad_row = "skip"` is skipped and counted.
pub fn scan(
    server: &Server,
    at: &Stored<'_>,
    columns: &'static [Column],
    request: &ScanRequest,
) -> Result<BatchReader, ConnectorError> {
    if at.schema.is_empty() || at.table.is_empty() {
        let name = if at.schema.is_empty() {
            at.schema_option
        } else {
            at.table_option
        };
        return Err(ConnectorError::InvalidOption {
            name: name.into(),
            message: "must not be empty".into(),
        });
    }
    let qualified = at.qualified();
    let mut client = server.connect()?;
    let stored = stored_columns(&mut client, server, at)?;
    let indices = indices(columns, request);
    let projected = resolve(columns, &indices, &stored, &qualified)?;
    let (sql, params) = build_sql(columns, &projected, &stored, &qualified, request)?;
    let schema = request
        .projected_schema(&csv_table::schema(columns))
        .map_err(|e| ConnectorError::Other(e.to_string()))?;
    let read: Vec<rows::Read> = indices
        .iter()
        .map(|&i| rows::Read {
            name: columns[i].name,
            kind: columns[i].kind,
            null_is_bad: columns[i].empty == csv_table::Empty::Error,
        })
        .collect();
    rows::stream(
        client,
        rows::Statement {
            sql,
            params,
            label: qualified,
        },
        schema,
        read,
        crate::diagnostics::skip_bad_rows(request),
    )
}

#[cfg(test)]
mod tests;
