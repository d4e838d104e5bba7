//! The export read straight into Arrow: NDJSON through arrow-json's decoder into the export's
//! nested shape, Parquet through the Parquet reader (only the leaves loopql reads), and either
//! flattened into the two raw tables column by column. A file this path cannot take (a bad
//! value, a missing required field, an unexpected type) is read again row by row
//! ([`crate::events`]), which says where the problem is and skips the row when the source asks.

use crate::events::{self, EVENTS_SCHEMA, PARAMS_SCHEMA};
use loopql_connector_sdk::ahead::Sink;
use loopql_connector_sdk::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int64Array, ListArray,
    RecordBatch, StringArray, StringBuilder, StructArray, TimestampMicrosecondArray, UInt32Array,
};
use loopql_connector_sdk::arrow::buffer::NullBuffer;
use loopql_connector_sdk::arrow::compute::{CastOptions, cast_with_options, take};
use loopql_connector_sdk::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use loopql_connector_sdk::csv_table::{BATCH_ROWS, parse_date};
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

/// Why the columnar path gave up on a file (it is then read row by row).
type Failed = String;

fn fast(path: &Path, table: Table, sink: &mut Sink<'_>) -> Result<(), Failed> {
    let nested: Box<dyn Iterator<Item = Result<RecordBatch, Failed>>> =
        if files::format_extension(path).as_deref() == Some("parquet") {
            Box::new(parquet(path)?)
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

fn parquet(path: &Path) -> Result<impl Iterator<Item = Result<RecordBatch, Failed>>, Failed> {
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

/// A column of a nested batch by its path through structs, NULL where any parent is NULL;
/// `None` when the export does not have it.
fn leaf(columns: &[ArrayRef], names: &Fields, path: &[&str]) -> Option<ArrayRef> {
    let (first, rest) = path.split_first()?;
    let (i, _) = names.find(first)?;
    let column = columns[i].clone();
    match rest {
        [] => Some(column),
        _ => {
            let parent = column.as_struct_opt()?;
            let child = leaf(parent.columns(), parent.fields(), rest)?;
            with_parent_nulls(child, parent.nulls())
        }
    }
}

fn with_parent_nulls(child: ArrayRef, parent: Option<&NullBuffer>) -> Option<ArrayRef> {
    let Some(parent) = parent else {
        return Some(child);
    };
    // Both readers already leave a NULL record's fields NULL: check (a bitmap operation)
    // rather than rebuild the column.
    let valid_under_null = match child.nulls() {
        Some(c) => (&!parent.inner() & c.inner()).count_set_bits(),
        None => parent.null_count(),
    };
    if valid_under_null == 0 {
        return Some(child);
    }
    let parent_valid = BooleanArray::new(parent.inner().clone(), None);
    let not_valid = loopql_connector_sdk::arrow::compute::not(&parent_valid).ok()?;
    loopql_connector_sdk::arrow::compute::nullif(&child, &not_valid).ok()
}

fn cast_to(array: Option<ArrayRef>, rows: usize, to: &DataType) -> Result<ArrayRef, Failed> {
    let Some(array) = array else {
        return Ok(loopql_connector_sdk::arrow::array::new_null_array(to, rows));
    };
    if array.data_type() == to {
        return Ok(array);
    }
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(&array, to, &strict).map_err(|e| e.to_string())
}

fn strings(array: Option<ArrayRef>, rows: usize) -> Result<StringArray, Failed> {
    Ok(cast_to(array, rows, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

fn ints(array: Option<ArrayRef>, rows: usize) -> Result<Int64Array, Failed> {
    Ok(cast_to(array, rows, &DataType::Int64)?
        .as_primitive::<loopql_connector_sdk::arrow::datatypes::Int64Type>()
        .clone())
}

fn floats(array: Option<ArrayRef>, rows: usize) -> Result<Float64Array, Failed> {
    Ok(cast_to(array, rows, &DataType::Float64)?
        .as_primitive::<loopql_connector_sdk::arrow::datatypes::Float64Type>()
        .clone())
}

/// The columns every row of both tables carries: day, time, name (required) and the user.
struct Heads {
    day: Date32Array,
    time: TimestampMicrosecondArray,
    name: StringArray,
    user_pseudo_id: StringArray,
}

fn heads(batch: &RecordBatch) -> Result<Heads, Failed> {
    let (columns, fields, rows) = (
        batch.columns(),
        batch.schema().fields().clone(),
        batch.num_rows(),
    );
    let get = |name: &str| leaf(columns, &fields, &[name]);
    let day = match get("event_date") {
        Some(d) if d.data_type() == &DataType::Date32 => d
            .as_primitive::<loopql_connector_sdk::arrow::datatypes::Date32Type>()
            .clone(),
        other => {
            let text = strings(other, rows)?;
            let days: Option<Vec<i32>> = (0..rows)
                .map(|i| {
                    text.is_valid(i)
                        .then(|| parse_date(text.value(i)))
                        .flatten()
                })
                .collect();
            Date32Array::from(days.ok_or("event_date: missing or not YYYYMMDD")?)
        }
    };
    let micros = ints(get("event_timestamp"), rows)?;
    let name = strings(get("event_name"), rows)?;
    if day.null_count() + micros.null_count() + name.null_count() > 0 {
        return Err("a required field is missing".into());
    }
    let time = TimestampMicrosecondArray::new(micros.values().clone(), None).with_timezone("UTC");
    Ok(Heads {
        day,
        time,
        name,
        user_pseudo_id: strings(get("user_pseudo_id"), rows)?,
    })
}

/// `event_params`: the list, and its items' key and four values (all items of the batch).
struct Params {
    list: ListArray,
    key: StringArray,
    string_value: StringArray,
    int_value: Int64Array,
    float_value: Float64Array,
    double_value: Float64Array,
}

fn params(batch: &RecordBatch) -> Result<Option<Params>, Failed> {
    let Some(column) = batch.column_by_name("event_params") else {
        return Ok(None);
    };
    let list = column
        .as_list_opt::<i32>()
        .ok_or("event_params is not a list")?
        .clone();
    let items: &StructArray = list
        .values()
        .as_struct_opt()
        .ok_or("event_params items are not records")?;
    let n = items.len();
    let (columns, fields) = (items.columns(), items.fields());
    let key = strings(leaf(columns, fields, &["key"]), n)?;
    // Serde's row path needs `key` and `value` on every parameter; so does this one.
    let value = leaf(columns, fields, &["value"]).ok_or("a parameter has no value")?;
    let (start, end) = item_range(&list);
    if key.slice(start, end - start).null_count() > 0
        || value.slice(start, end - start).null_count() > 0
    {
        return Err("a parameter has no key or no value".into());
    }
    let value_of = |name: &str| leaf(columns, fields, &["value", name]);
    Ok(Some(Params {
        string_value: strings(value_of("string_value"), n)?,
        int_value: ints(value_of("int_value"), n)?,
        float_value: floats(value_of("float_value"), n)?,
        double_value: floats(value_of("double_value"), n)?,
        key,
        list,
    }))
}

/// The range of items the list's rows use.
fn item_range(list: &ListArray) -> (usize, usize) {
    let offsets = list.value_offsets();
    (offsets[0] as usize, offsets[offsets.len() - 1] as usize)
}

/// The items of row `row` (none when the list is NULL).
fn items_of(list: &ListArray, row: usize) -> std::ops::Range<usize> {
    if list.is_null(row) {
        return 0..0;
    }
    let offsets = list.value_offsets();
    offsets[row] as usize..offsets[row + 1] as usize
}

impl Params {
    /// For each parameter the `events` table flattens (in its column order: ga_session_id,
    /// ga_session_number, session_engaged, engagement_time_msec, page_location, page_referrer,
    /// currency), each row's first item with that key.
    fn firsts(&self, rows: usize) -> [Vec<Option<usize>>; 7] {
        let mut found: [Vec<Option<usize>>; 7] = std::array::from_fn(|_| vec![None; rows]);
        let items =
            (0..rows).flat_map(|row| items_of(&self.list, row).map(move |item| (row, item)));
        for (row, item) in items {
            let k = match self.key.value(item) {
                "ga_session_id" => 0,
                "ga_session_number" => 1,
                "session_engaged" => 2,
                "engagement_time_msec" => 3,
                "page_location" => 4,
                "page_referrer" => 5,
                "currency" => 6,
                _ => continue,
            };
            found[k][row].get_or_insert(item);
        }
        found
    }

    /// The parameter as an integer: its int value, else its string value if that is one, else
    /// its double or float value truncated (as the row path reads it).
    fn int(&self, item: Option<usize>) -> Option<i64> {
        let i = item?;
        if self.int_value.is_valid(i) {
            return Some(self.int_value.value(i));
        }
        if self.string_value.is_valid(i)
            && let Ok(v) = self.string_value.value(i).trim().parse()
        {
            return Some(v);
        }
        [&self.double_value, &self.float_value]
            .into_iter()
            .find(|a| a.is_valid(i))
            .map(|a| a.value(i) as i64)
    }

    /// The parameters as text: the string value, else the int value written out.
    fn texts(&self, items: &[Option<usize>]) -> StringArray {
        let mut out = StringBuilder::with_capacity(items.len(), items.len() * 32);
        for item in items {
            match *item {
                Some(i) if self.string_value.is_valid(i) => {
                    out.append_value(self.string_value.value(i));
                }
                Some(i) if self.int_value.is_valid(i) => {
                    out.append_value(self.int_value.value(i).to_string());
                }
                _ => out.append_null(),
            }
        }
        out.finish()
    }
}

fn flat_events(batch: &RecordBatch) -> Result<RecordBatch, Failed> {
    let rows = batch.num_rows();
    let heads = heads(batch)?;
    let (columns, fields) = (batch.columns(), batch.schema().fields().clone());
    let text = |path: &[&str]| -> Result<ArrayRef, Failed> {
        Ok(Arc::new(strings(leaf(columns, &fields, path), rows)?))
    };
    let params = params(batch)?;
    let firsts = params.as_ref().map(|p| p.firsts(rows));
    let int_param = |k: usize| -> Int64Array {
        match (&params, &firsts) {
            (Some(p), Some(f)) => f[k].iter().map(|&i| p.int(i)).collect(),
            _ => Int64Array::new_null(rows),
        }
    };
    let text_param = |k: usize| -> ArrayRef {
        Arc::new(match (&params, &firsts) {
            (Some(p), Some(f)) => p.texts(&f[k]),
            _ => StringArray::new_null(rows),
        })
    };
    let engaged: BooleanArray = int_param(2).iter().map(|v| v.map(|v| v != 0)).collect();
    let cts = |name: &'static str| text(&["collected_traffic_source", name]);
    let out: Vec<ArrayRef> = vec![
        Arc::new(heads.day),
        Arc::new(heads.time),
        Arc::new(heads.name),
        text(&["user_id"])?,
        Arc::new(heads.user_pseudo_id),
        Arc::new(int_param(0)),
        Arc::new(int_param(1)),
        Arc::new(engaged),
        Arc::new(int_param(3)),
        text_param(4),
        text_param(5),
        text(&["traffic_source", "name"])?,
        text(&["traffic_source", "medium"])?,
        text(&["traffic_source", "source"])?,
        cts("manual_source")?,
        cts("manual_medium")?,
        cts("manual_campaign_name")?,
        cts("manual_term")?,
        cts("manual_content")?,
        cts("gclid")?,
        text(&["device", "category"])?,
        text(&["geo", "country"])?,
        text(&["ecommerce", "transaction_id"])?,
        Arc::new(floats(
            leaf(columns, &fields, &["ecommerce", "purchase_revenue"]),
            rows,
        )?),
        text_param(6),
    ];
    RecordBatch::try_new(EVENTS_SCHEMA.clone(), out).map_err(|e| e.to_string())
}

fn flat_params(batch: &RecordBatch) -> Result<RecordBatch, Failed> {
    let rows = batch.num_rows();
    let heads = heads(batch)?;
    let Some(p) = params(batch)? else {
        return Ok(RecordBatch::new_empty(PARAMS_SCHEMA.clone()));
    };
    // Which event each item belongs to, and the items in order (NULL lists have none).
    let mut event_of = Vec::with_capacity(p.key.len());
    let mut item_of = Vec::with_capacity(p.key.len());
    for row in 0..rows {
        for item in items_of(&p.list, row) {
            event_of.push(row as u32);
            item_of.push(item as u32);
        }
    }
    let (event_of, item_of) = (UInt32Array::from(event_of), UInt32Array::from(item_of));
    let per_event = |a: &dyn Array| take(a, &event_of, None).map_err(|e| e.to_string());
    let per_item = |a: &dyn Array| take(a, &item_of, None).map_err(|e| e.to_string());
    let out: Vec<ArrayRef> = vec![
        per_event(&heads.day)?,
        per_event(&heads.time)?,
        per_event(&heads.name)?,
        per_event(&heads.user_pseudo_id)?,
        per_item(&p.key)?,
        per_item(&p.string_value)?,
        per_item(&p.int_value)?,
        per_item(&p.float_value)?,
        per_item(&p.double_value)?,
    ];
    RecordBatch::try_new(PARAMS_SCHEMA.clone(), out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::ahead::collect;
    use loopql_connector_sdk::arrow::json::reader::{ReaderBuilder, infer_json_schema};

    /// The columnar path alone.
    fn fast(path: &Path, table: Table) -> Result<Vec<RecordBatch>, Failed> {
        let mut out = Vec::new();
        let mut push = |b: RecordBatch| {
            out.push(b);
            true
        };
        super::fast(path, table, &mut Sink::new(&mut push))?;
        Ok(out)
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
        let (schema, _) = infer_json_schema(std::io::Cursor::new(&typed), None).unwrap();
        let schema = Arc::new(schema);
        assert_eq!(
            schema
                .field_with_name("event_timestamp")
                .unwrap()
                .data_type(),
            &DataType::Int64
        );
        let batches: Vec<RecordBatch> = ReaderBuilder::new(schema.clone())
            .build(std::io::Cursor::new(typed))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let parquet_path = dir.path().join("events_20240101.parquet");
        let file = std::fs::File::create(&parquet_path).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
        for b in &batches {
            writer.write(b).unwrap();
        }
        writer.close().unwrap();
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
    fn a_null_record_makes_its_fields_null() {
        let names = StringArray::from(vec![Some("a"), Some("b"), None]);
        let record = StructArray::new(
            Fields::from(vec![text("category")]),
            vec![Arc::new(names) as ArrayRef],
            Some(NullBuffer::from(vec![true, false, true])),
        );
        let fields = Fields::from(vec![Field::new("device", record.data_type().clone(), true)]);
        let got = leaf(
            &[Arc::new(record) as ArrayRef],
            &fields,
            &["device", "category"],
        )
        .unwrap();
        let got = got.as_string::<i32>();
        assert_eq!(got.iter().collect::<Vec<_>>(), [Some("a"), None, None]);
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
