//! Test support: an NDJSON export written as Parquet with the schema arrow infers from it (the
//! nested records and lists BigQuery's Parquet export has; strings stay strings).

use loopql_connector_sdk::arrow::datatypes::SchemaRef;
use loopql_connector_sdk::arrow::json::reader::{ReaderBuilder, infer_json_schema};
use std::path::Path;
use std::sync::Arc;

/// Writes `ndjson` to `path` as Parquet; returns the schema it was written with.
pub fn write(ndjson: &str, path: &Path) -> SchemaRef {
    let (schema, _) = infer_json_schema(std::io::Cursor::new(ndjson), None).unwrap();
    let schema = Arc::new(schema);
    let reader = ReaderBuilder::new(schema.clone())
        .build(std::io::Cursor::new(ndjson))
        .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    for batch in reader {
        writer.write(&batch.unwrap()).unwrap();
    }
    writer.close().unwrap();
    schema
}
