//! Catalog metadata for Flight SQL clients, built with arrow-flight's metadata builders (clients
//! check the result schemas exactly) from the caller's engine's catalog snapshot.

use arrow_flight::sql::metadata::{
    SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData, XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::{
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetTableTypes, CommandGetTables, Nullable,
    Searchable, SqlInfo, SqlNullOrdering, SqlSupportedCaseSensitivity, XdbcDataType,
};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use loopql_core::Engine;
use loopql_core::engine::{CatalogSnapshot, TableKind};
use loopql_core::server_config::Scope;
use std::sync::{Arc, LazyLock};
use tonic::Status;

fn arrow(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

async fn snapshot(engine: &Engine) -> Result<CatalogSnapshot, Status> {
    engine
        .catalog()
        .await
        .map_err(|e| Status::internal(e.to_string()))
}

pub async fn catalogs(engine: &Engine, q: CommandGetCatalogs) -> Result<RecordBatch, Status> {
    let mut b = q.into_builder();
    for c in snapshot(engine).await?.catalogs {
        b.append(c);
    }
    b.build().map_err(arrow)
}

pub async fn schemas(engine: &Engine, q: CommandGetDbSchemas) -> Result<RecordBatch, Status> {
    let mut b = q.into_builder();
    for (c, s) in snapshot(engine).await?.schemas {
        b.append(c, s);
    }
    b.build().map_err(arrow)
}

fn kind(t: TableKind) -> &'static str {
    match t {
        TableKind::Table => "TABLE",
        TableKind::View => "VIEW",
        TableKind::Temporary => "LOCAL TEMPORARY",
    }
}

pub async fn tables(engine: &Engine, q: CommandGetTables) -> Result<RecordBatch, Status> {
    let mut b = q.into_builder();
    for t in snapshot(engine).await?.tables {
        b.append(&t.catalog, &t.schema, &t.name, kind(t.kind), &t.columns)
            .map_err(arrow)?;
    }
    b.build().map_err(arrow)
}

pub fn table_types(q: CommandGetTableTypes) -> Result<RecordBatch, Status> {
    let mut b = q.into_builder();
    for t in ["LOCAL TEMPORARY", "TABLE", "VIEW"] {
        b.append(t);
    }
    b.build().map_err(arrow)
}

/// What the server says of itself (GetSqlInfo).
pub fn sql_info(scope: &Scope) -> Result<SqlInfoData, Status> {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "loopql");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
    b.append(
        SqlInfo::FlightSqlServerReadOnly,
        !matches!(scope, Scope::Admin),
    );
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(SqlInfo::FlightSqlServerTransaction, 0i32);
    b.append(SqlInfo::FlightSqlServerCancel, false);
    b.append(SqlInfo::FlightSqlServerBulkIngestion, false);
    b.append(SqlInfo::SqlDdlCatalog, false);
    b.append(SqlInfo::SqlDdlSchema, matches!(scope, Scope::Admin));
    b.append(SqlInfo::SqlDdlTable, matches!(scope, Scope::Admin));
    b.append(
        SqlInfo::SqlIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityLowercase as i32,
    );
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    b.append(
        SqlInfo::SqlQuotedIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityCaseInsensitive as i32,
    );
    b.append(
        SqlInfo::SqlNullOrdering,
        SqlNullOrdering::SqlNullsSortedHigh as i32,
    );
    b.append(SqlInfo::SqlSearchStringEscape, "\\");
    b.append(SqlInfo::SqlAllTablesAreSelectable, true);
    b.append(SqlInfo::SqlTransactionsSupported, false);
    b.build().map_err(arrow)
}

fn xdbc(name: &str, t: XdbcDataType, size: Option<i32>, prefix: Option<&str>) -> XdbcTypeInfo {
    XdbcTypeInfo {
        type_name: name.into(),
        data_type: t,
        column_size: size,
        literal_prefix: prefix.map(Into::into),
        literal_suffix: prefix.map(Into::into),
        create_params: None,
        nullable: Nullable::NullabilityNullable,
        case_sensitive: matches!(t, XdbcDataType::XdbcVarchar),
        searchable: Searchable::Full,
        unsigned_attribute: Some(false),
        fixed_prec_scale: false,
        auto_increment: Some(false),
        local_type_name: Some(name.into()),
        minimum_scale: None,
        maximum_scale: None,
        sql_data_type: t,
        datetime_subcode: None,
        num_prec_radix: size.map(|_| 10),
        interval_precision: None,
    }
}

/// The SQL types loopql's results use (GetXdbcTypeInfo).
pub static XDBC: LazyLock<Result<XdbcTypeInfoData, String>> = LazyLock::new(|| {
    let mut b = XdbcTypeInfoDataBuilder::new();
    for info in [
        xdbc("BOOLEAN", XdbcDataType::XdbcBit, None, None),
        xdbc("INTEGER", XdbcDataType::XdbcInteger, Some(10), None),
        xdbc("BIGINT", XdbcDataType::XdbcBigint, Some(19), None),
        xdbc("FLOAT", XdbcDataType::XdbcFloat, Some(7), None),
        xdbc("DOUBLE", XdbcDataType::XdbcDouble, Some(15), None),
        xdbc("DECIMAL", XdbcDataType::XdbcDecimal, Some(38), None),
        xdbc("VARCHAR", XdbcDataType::XdbcVarchar, None, Some("'")),
        xdbc("DATE", XdbcDataType::XdbcDate, None, Some("'")),
        xdbc("TIMESTAMP", XdbcDataType::XdbcTimestamp, None, Some("'")),
    ] {
        b.append(info);
    }
    b.build().map_err(|e| e.to_string())
});

/// GetPrimaryKeys' result schema (loopql has no keys: always empty).
pub fn primary_keys_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("catalog_name", DataType::Utf8, true),
        Field::new("db_schema_name", DataType::Utf8, true),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("key_name", DataType::Utf8, true),
        Field::new("key_sequence", DataType::Int32, false),
    ]))
}

/// GetExportedKeys / GetImportedKeys / GetCrossReference result schema (always empty).
pub fn foreign_keys_schema() -> SchemaRef {
    let text = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        text("pk_catalog_name", true),
        text("pk_db_schema_name", true),
        text("pk_table_name", false),
        text("pk_column_name", false),
        text("fk_catalog_name", true),
        text("fk_db_schema_name", true),
        text("fk_table_name", false),
        text("fk_column_name", false),
        Field::new("key_sequence", DataType::Int32, false),
        text("fk_key_name", true),
        text("pk_key_name", true),
        Field::new("update_rule", DataType::UInt8, false),
        Field::new("delete_rule", DataType::UInt8, false),
    ]))
}
