//! The export read straight into Arrow: NDJSON through arrow-json's decoder into the export's
//! nested shape, Parquet through the Parquet reader (only the leaves loopql reads), and either
//! flattened into the two raw tables column by column. A file this path cannot take (a bad
//! value, a missing required field, an unexpected type) is read again row by row
//! ([`crate::events`]), which says where the problem is and skips the row when the source asks.

use crate::events;
use crate::flatten::{Failed, flat_events, flat_params};
use loopql_connector_sdk::ahead::{self, Sink};
use loopql_connector_sdk::arrow::array::RecordBatch;
use loopql_connector_sdk::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use loopql_connector_sdk::csv_table::BATCH_ROWS;
use loopql_connector_sdk::{ConnectorError, files};
use std::path::Path;
use std::sync::{Arc, LazyLock};

/// Which raw table a scan builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Events,
    Params,
}

/// Hands the batches of `table` from one export file to `sink` as they are decoded, column by
/// column; if that path gives up partway, the file is read row by row (located errors,
/// `on_bad_row = "skip"`) and its rows after those already handed on follow.
pub fn stream(
    path: &Path,
    table: Table,
    skip_bad_rows: bool,
    sink: &mut Sink<'_>,
) -> Result<(), ConnectorError> {
    if fast(path, table, sink).is_ok() {
        return Ok(());
    }
    let done = sink.rows();
    let rows = events::read(path, skip_bad_rows)?;
    let batch = match table {
        Table::Events => events::events_batch(&rows)?,
        Table::Params => events::params_batch(&rows)?,
    };
    sink.push_after(vec![batch], done);
    Ok(())
}

fn fast(path: &Path, table: Table, sink: &mut Sink<'_>) -> Result<(), Failed> {
    let nested: Box<dyn Iterator<Item = Result<RecordBatch, Failed>>> =
        if files::format_extension(path).as_deref() == Some("parquet") {
            // A Parquet export is often one big file: decode it on a thread of its own while
            // this one flattens, or one core does both.
            Box::new(ahead::on_own_thread(parquet(path)?, 2))
        } else {
            Box::new(ndjson(path)?)
        };
    for batch in nested {
        let batch = batch?;
        let flat = match table {
            Table::Events => flat_events(&batch)?,
            Table::Params => flat_params(&batch)?,
        };
        if !sink.push(flat) {
            break;
        }
    }
    Ok(())
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn record(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

/// The part of the export's record loopql reads, as the JSON decoder is asked for it (other
/// fields are passed over). Integers may be JSON numbers or decimal strings (BigQuery's JSON
/// export writes INT64 as strings); the decoder reads both.
static NESTED: LazyLock<SchemaRef> = LazyLock::new(|| {
    let value = record(
        "value",
        vec![
            text("string_value"),
            Field::new("int_value", DataType::Int64, true),
            Field::new("float_value", DataType::Float64, true),
            Field::new("double_value", DataType::Float64, true),
        ],
    );
    let param = record("item", vec![text("key"), value]);
    Arc::new(Schema::new(vec![
        text("event_date"),
        Field::new("event_timestamp", DataType::Int64, true),
        text("event_name"),
        Field::new("event_params", DataType::List(Arc::new(param)), true),
        text("user_id"),
        text("user_pseudo_id"),
        record(
            "traffic_source",
            vec![text("name"), text("medium"), text("source")],
        ),
        record(
            "collected_traffic_source",
            [
                "manual_source",
                "manual_medium",
                "manual_campaign_name",
                "manual_term",
                "manual_content",
                "gclid",
            ]
            .map(text)
            .to_vec(),
        ),
        record("device", vec![text("category")]),
        record("geo", vec![text("country")]),
        record(
            "ecommerce",
            vec![
                text("transaction_id"),
                Field::new("purchase_revenue", DataType::Float64, true),
            ],
        ),
    ]))
});

fn ndjson(path: &Path) -> Result<impl Iterator<Item = Result<RecordBatch, Failed>>, Failed> {
    let file = files::open(path).map_err(|e| e.to_string())?;
    let reader = loopql_connector_sdk::arrow::json::ReaderBuilder::new(NESTED.clone())
        .with_batch_size(BATCH_ROWS)
        .build(std::io::BufReader::with_capacity(1 << 20, file))
        .map_err(|e| e.to_string())?;
    Ok(reader.map(|b| b.map_err(|e| e.to_string())))
}

/// Whether a Parquet leaf (its path from the root, list wrappers included) is one loopql reads.
fn wanted(parts: &[String]) -> bool {
    let Some((root, rest)) = parts.split_first() else {
        return false;
    };
    let last = parts.last().map(String::as_str).unwrap_or("");
    let Some(field) = NESTED.fields().find(root).map(|(_, f)| f) else {
        return false;
    };
    match field.data_type() {
        DataType::Struct(children) => rest.len() == 1 && children.find(last).is_some(),
        DataType::List(_) => matches!(
            last,
            "key" | "string_value" | "int_value" | "float_value" | "double_value"
        ),
        _ => rest.is_empty(),
    }
}

fn parquet(
    path: &Path,
) -> Result<impl Iterator<Item = Result<RecordBatch, Failed>> + Send + use<>, Failed> {
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
    let leaves: Vec<usize> = builder
        .parquet_schema()
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| wanted(c.path().parts()))
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::leaves(builder.parquet_schema(), leaves);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(reader.map(|b| b.map_err(|e| e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::ahead::collect;
    use loopql_connector_sdk::arrow::array::AsArray;

    /// The columnar path alone.
    fn fast(path: &Path, table: Table) -> Result<Vec<RecordBatch>, Failed> {
        collect(|sink| super::fast(path, table, sink))
    }

    /// Both paths, as a scan reads a file.
    fn read(path: &Path, table: Table, skip: bool) -> Result<Vec<RecordBatch>, ConnectorError> {
        collect(|sink| stream(path, table, skip, sink))
    }

    /// Every shape the row path reads: integers as strings and as numbers, an integer parameter
    /// given as a string or a double, a text parameter given as an integer, NULL and absent
    /// records, an event without parameters, and fields loopql does not read.
    const EXPORT: &str = concat!(
        r#"{"event_date":"20240101","event_timestamp":"1704067200000000","event_name":"session_start","event_params":[{"key":"ga_session_id","value":{"string_value":null,"int_value":"1704067200","float_value":null,"double_value":null}},{"key":"page_location","value":{"string_value":"https://shop.example/?utm_source=google&utm_medium=cpc&gclid=abc"}},{"key":"session_engaged","value":{"string_value":"1"}},{"key":"ga_session_id","value":{"int_value":"7"}}],"user_id":null,"user_pseudo_id":"111.222","traffic_source":{"name":"(direct)","medium":"(none)","source":"(direct)"},"collected_traffic_source":{"manual_source":"google","manual_medium":"cpc","manual_campaign_name":"brand","gclid":"abc"},"device":{"category":"desktop","mobile_brand_name":"Apple"},"geo":{"country":"Germany"},"ecommerce":null,"items":[{"item_id":"x"}]}"#,
        "\n",
        r#"{"event_date":"20240101","event_timestamp":1704067500000000,"event_name":"purchase","event_params":[{"key":"ga_session_id","value":{"int_value":1704067200}},{"key":"engagement_time_msec","value":{"double_value":5400.0}},{"key":"currency","value":{"int_value":"978"}},{"key":"ga_session_number","value":{"string_value":" 3 "}}],"user_pseudo_id":"111.222","ecommerce":{"transaction_id":"T-1","purchase_revenue":"89.9"}}"#,
        "\n\n",
        r#"{"event_date":"20240102","event_timestamp":"1704153600000000","event_name":"page_view","user_id":"u-9","user_pseudo_id":null,"event_params":null,"geo":null}"#,
        "\n",
    );

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn row_path(path: &Path, table: Table) -> RecordBatch {
        let rows = events::read(path, false).unwrap();
        match table {
            Table::Events => events::events_batch(&rows).unwrap(),
            Table::Params => events::params_batch(&rows).unwrap(),
        }
    }

    fn one(batches: Vec<RecordBatch>) -> RecordBatch {
        let schema = batches[0].schema();
        loopql_connector_sdk::arrow::compute::concat_batches(&schema, &batches).unwrap()
    }

    #[test]
    fn ndjson_columns_equal_the_row_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "events_20240101.json", EXPORT);
        for table in [Table::Events, Table::Params] {
            let fast = fast(&path, table).expect("the columnar path reads this export");
            assert_eq!(one(fast), row_path(&path, table), "{table:?}");
        }
        let events = one(fast(&path, Table::Events).unwrap());
        let number = events
            .column(6)
            .as_primitive::<loopql_connector_sdk::arrow::datatypes::Int64Type>();
        assert_eq!(number.value(1), 3, "a string parameter read as an integer");
        assert_eq!(events.column(24).as_string::<i32>().value(1), "978");
    }

    /// BigQuery's own Parquet export: INT64 as integers, nested records, extra leaves.
    #[test]
    fn parquet_typed_as_bigquery_writes_it_equals_the_json_export() {
        let dir = tempfile::tempdir().unwrap();
        let json = write(dir.path(), "events_20240101.json", EXPORT);
        let typed = EXPORT
            .replace("\"1704067200000000\"", "1704067200000000")
            .replace("\"1704153600000000\"", "1704153600000000")
            .replace("\"int_value\":\"1704067200\"", "\"int_value\":1704067200")
            .replace("\"int_value\":\"7\"", "\"int_value\":7")
            .replace("\"int_value\":\"978\"", "\"int_value\":978");
        let parquet_path = dir.path().join("events_20240101.parquet");
        let schema = crate::test_parquet::write(&typed, &parquet_path);
        assert_eq!(
            schema
                .field_with_name("event_timestamp")
                .unwrap()
                .data_type(),
            &DataType::Int64
        );
        for table in [Table::Events, Table::Params] {
            let fast = fast(&parquet_path, table).expect("the columnar path reads this Parquet");
            assert_eq!(one(fast), row_path(&json, table), "{table:?}");
        }
    }

    #[test]
    fn a_bad_value_falls_back_to_the_located_row_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = EXPORT.replace(
            "\"event_timestamp\":1704067500000000",
            "\"event_timestamp\":\"soon\"",
        );
        let path = write(dir.path(), "events_20240101.json", &bad);
        assert!(fast(&path, Table::Events).is_err());
        let err = read(&path, Table::Events, false).unwrap_err().to_string();
        assert!(err.contains("events_20240101.json:2:"), "{err}");
        assert!(err.contains("\"soon\""), "{err}");
    }

    #[test]
    fn a_missing_required_field_or_parameter_value_is_the_row_paths_call() {
        let dir = tempfile::tempdir().unwrap();
        for (bad, table) in [
            (
                EXPORT.replace("\"event_name\":\"page_view\",", ""),
                Table::Events,
            ),
            (
                EXPORT.replace(
                    "{\"key\":\"currency\",\"value\":{\"int_value\":\"978\"}}",
                    "{\"key\":\"currency\"}",
                ),
                Table::Params,
            ),
        ] {
            let path = write(dir.path(), "events_20240101.json", &bad);
            assert!(fast(&path, table).is_err(), "{table:?}");
            let err = read(&path, table, false).unwrap_err().to_string();
            assert!(err.contains("missing field"), "{err}");
        }
    }

    #[test]
    fn bad_rows_are_skipped_and_counted_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let bad = EXPORT.replace(
            "\"event_date\":\"20240102\"",
            "\"event_date\":\"yesterday\"",
        );
        let path = write(dir.path(), "events_20240101.json", &bad);
        let _ = loopql_connector_sdk::diagnostics::take();
        let events = one(read(&path, Table::Events, true).unwrap());
        assert_eq!(events.num_rows(), 2, "the two good events stay");
        let skipped = loopql_connector_sdk::diagnostics::take();
        assert_eq!(skipped.skipped_rows, 1);
        assert!(
            skipped.examples[0].contains("events_20240101.json:4:"),
            "{:?}",
            skipped.examples
        );
    }

    #[test]
    fn large_files_come_in_host_sized_batches() {
        let dir = tempfile::tempdir().unwrap();
        let line = EXPORT.lines().next().unwrap();
        let text: String = (0..BATCH_ROWS + 10).map(|_| format!("{line}\n")).collect();
        let path = write(dir.path(), "events_20240101.json.gz", "");
        let mut gz = flate2_writer(&path);
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        gz.finish().unwrap();
        let batches = fast(&path, Table::Events).unwrap();
        let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, [BATCH_ROWS, 10]);
        let params = fast(&path, Table::Params).unwrap();
        assert_eq!(
            params.iter().map(RecordBatch::num_rows).sum::<usize>(),
            4 * (BATCH_ROWS + 10)
        );
    }

    #[test]
    fn a_bad_event_past_the_first_batch_resumes_on_the_row_path() {
        let dir = tempfile::tempdir().unwrap();
        let line = EXPORT.lines().next().unwrap();
        let mut text: String = (0..BATCH_ROWS + 3).map(|_| format!("{line}\n")).collect();
        text.push_str(&line.replace("\"event_date\":\"20240101\"", "\"event_date\":\"soon\""));
        text.push('\n');
        text.push_str(line);
        text.push('\n');
        let path = write(dir.path(), "events_20240101.json", &text);
        let _ = loopql_connector_sdk::diagnostics::take();
        let events = read(&path, Table::Events, true).unwrap();
        assert_eq!(
            events[0].num_rows(),
            BATCH_ROWS,
            "the columnar path's first batch"
        );
        let rows: usize = events.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, BATCH_ROWS + 4, "every good event once");
        assert_eq!(loopql_connector_sdk::diagnostics::take().skipped_rows, 1);
        let params: usize = read(&path, Table::Params, true)
            .unwrap()
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(params, 4 * (BATCH_ROWS + 4));
    }

    fn flate2_writer(path: &Path) -> flate2::write::GzEncoder<std::fs::File> {
        flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::fast(),
        )
    }
}
