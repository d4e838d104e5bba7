//! The export's event shape and the two raw tables built from it.

use loopql_connector_sdk::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use loopql_connector_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::csv_table::parse_date;
use loopql_connector_sdk::json::{FlexF64, FlexI64, located};
use loopql_connector_sdk::{ConnectorError, files};
use serde::Deserialize;
use std::path::Path;
use std::sync::{Arc, LazyLock};

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// A column of `events`: its name and how to make its type.
type ColumnDef = (&'static str, fn() -> DataType);

/// The columns of `events`, in order.
const EVENT_COLUMNS: &[ColumnDef] = &[
    ("event_date", || DataType::Date32),
    ("event_timestamp", ts),
    ("event_name", || DataType::Utf8),
    ("user_id", || DataType::Utf8),
    ("user_pseudo_id", || DataType::Utf8),
    ("ga_session_id", || DataType::Int64),
    ("ga_session_number", || DataType::Int64),
    ("session_engaged", || DataType::Boolean),
    ("engagement_time_msec", || DataType::Int64),
    ("page_location", || DataType::Utf8),
    ("page_referrer", || DataType::Utf8),
    ("traffic_source_name", || DataType::Utf8),
    ("traffic_source_medium", || DataType::Utf8),
    ("traffic_source_source", || DataType::Utf8),
    ("manual_source", || DataType::Utf8),
    ("manual_medium", || DataType::Utf8),
    ("manual_campaign_name", || DataType::Utf8),
    ("manual_term", || DataType::Utf8),
    ("manual_content", || DataType::Utf8),
    ("gclid", || DataType::Utf8),
    ("device_category", || DataType::Utf8),
    ("geo_country", || DataType::Utf8),
    ("transaction_id", || DataType::Utf8),
    ("purchase_revenue", || DataType::Float64),
    ("currency", || DataType::Utf8),
];

pub static EVENTS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(
        EVENT_COLUMNS
            .iter()
            .map(|(name, t)| {
                Field::new(
                    *name,
                    t(),
                    !matches!(*name, "event_date" | "event_timestamp" | "event_name"),
                )
            })
            .collect::<Vec<_>>(),
    ))
});

pub static PARAMS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("event_date", DataType::Date32, false),
        Field::new("event_timestamp", ts(), false),
        Field::new("event_name", DataType::Utf8, false),
        Field::new("user_pseudo_id", DataType::Utf8, true),
        Field::new("key", DataType::Utf8, false),
        Field::new("string_value", DataType::Utf8, true),
        Field::new("int_value", DataType::Int64, true),
        Field::new("float_value", DataType::Float64, true),
        Field::new("double_value", DataType::Float64, true),
    ]))
});

#[derive(Deserialize)]
pub struct Event {
    event_date: Date,
    event_timestamp: FlexI64,
    event_name: String,
    #[serde(default)]
    event_params: Option<Vec<Param>>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user_pseudo_id: Option<String>,
    #[serde(default)]
    traffic_source: Option<TrafficSource>,
    #[serde(default)]
    collected_traffic_source: Option<Collected>,
    #[serde(default)]
    device: Option<Device>,
    #[serde(default)]
    geo: Option<Geo>,
    #[serde(default)]
    ecommerce: Option<Ecommerce>,
}

#[derive(Deserialize)]
struct Param {
    key: String,
    value: ParamValue,
}

#[derive(Deserialize, Default)]
struct ParamValue {
    #[serde(default)]
    string_value: Option<String>,
    #[serde(default)]
    int_value: Option<FlexI64>,
    #[serde(default)]
    float_value: Option<FlexF64>,
    #[serde(default)]
    double_value: Option<FlexF64>,
}

#[derive(Deserialize, Default)]
struct TrafficSource {
    name: Option<String>,
    medium: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize, Default)]
struct Collected {
    manual_source: Option<String>,
    manual_medium: Option<String>,
    manual_campaign_name: Option<String>,
    manual_term: Option<String>,
    manual_content: Option<String>,
    gclid: Option<String>,
}

#[derive(Deserialize)]
struct Device {
    category: Option<String>,
}

#[derive(Deserialize)]
struct Geo {
    country: Option<String>,
}

#[derive(Deserialize)]
struct Ecommerce {
    #[serde(default)]
    transaction_id: Option<String>,
    #[serde(default)]
    purchase_revenue: Option<FlexF64>,
}

/// `event_date`: the property's day, `YYYYMMDD`.
struct Date(i32);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_date(&s).map(Date).ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(&s), &"a date YYYYMMDD")
        })
    }
}

impl Event {
    fn param(&self, key: &str) -> Option<&ParamValue> {
        self.event_params
            .as_ref()?
            .iter()
            .find(|p| p.key == key)
            .map(|p| &p.value)
    }

    fn param_int(&self, key: &str) -> Option<i64> {
        let v = self.param(key)?;
        v.int_value
            .map(|i| i.0)
            .or_else(|| {
                v.string_value
                    .as_deref()
                    .and_then(|s| s.trim().parse().ok())
            })
            .or_else(|| v.double_value.or(v.float_value).map(|f| f.0 as i64))
    }

    fn param_str(&self, key: &str) -> Option<String> {
        let v = self.param(key)?;
        v.string_value
            .clone()
            .or_else(|| v.int_value.map(|i| i.0.to_string()))
    }
}

/// Reads one export file: NDJSON (optionally gzipped; errors carry the line) or Parquet (errors
/// carry the row number as the line).
pub fn read(path: &Path, skip_bad_rows: bool) -> Result<Vec<Event>, ConnectorError> {
    let text = if files::format_extension(path).as_deref() == Some("parquet") {
        parquet_as_ndjson(path)?
    } else {
        files::read_to_string(path)?
    };
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(event) => events.push(event),
            Err(e) => {
                let error = located(
                    path,
                    &e,
                    i as u64,
                    "reading a GA4 BigQuery export event (one JSON object per line)",
                );
                if !skip_bad_rows {
                    return Err(error);
                }
                loopql_connector_sdk::diagnostics::skipped(&error);
            }
        }
    }
    Ok(events)
}

use loopql_connector_sdk::serde_json;

/// A Parquet export, one JSON object per row, so both shapes share one parser: BigQuery's Parquet
/// and JSON exports carry the same nested records.
fn parquet_as_ndjson(path: &Path) -> Result<String, ConnectorError> {
    let io = |e: &dyn std::fmt::Display| ConnectorError::Malformed {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("reading Parquet: {e}"),
    };
    let file = std::fs::File::open(path).map_err(|source| ConnectorError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| io(&e))?
        .build()
        .map_err(|e| io(&e))?;
    let mut out = Vec::new();
    {
        let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
        for batch in reader {
            let batch = batch.map_err(|e| io(&e))?;
            writer.write(&batch).map_err(|e| io(&e))?;
        }
        writer.finish().map_err(|e| io(&e))?;
    }
    String::from_utf8(out).map_err(|e| io(&e))
}

fn ts_source(e: &Event) -> Option<&TrafficSource> {
    e.traffic_source.as_ref()
}

fn cts(e: &Event) -> Option<&Collected> {
    e.collected_traffic_source.as_ref()
}

pub fn events_batch(events: &[Event]) -> Result<RecordBatch, ConnectorError> {
    let text = |f: &dyn Fn(&Event) -> Option<String>| -> ArrayRef {
        Arc::new(events.iter().map(f).collect::<StringArray>())
    };
    let int = |f: &dyn Fn(&Event) -> Option<i64>| -> ArrayRef {
        Arc::new(events.iter().map(f).collect::<Int64Array>())
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            events
                .iter()
                .map(|e| Some(e.event_date.0))
                .collect::<Date32Array>(),
        ),
        Arc::new(
            events
                .iter()
                .map(|e| Some(e.event_timestamp.0))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        text(&|e| Some(e.event_name.clone())),
        text(&|e| e.user_id.clone()),
        text(&|e| e.user_pseudo_id.clone()),
        int(&|e| e.param_int("ga_session_id")),
        int(&|e| e.param_int("ga_session_number")),
        Arc::new(
            events
                .iter()
                .map(|e| e.param_int("session_engaged").map(|v| v != 0))
                .collect::<BooleanArray>(),
        ),
        int(&|e| e.param_int("engagement_time_msec")),
        text(&|e| e.param_str("page_location")),
        text(&|e| e.param_str("page_referrer")),
        text(&|e| ts_source(e).and_then(|t| t.name.clone())),
        text(&|e| ts_source(e).and_then(|t| t.medium.clone())),
        text(&|e| ts_source(e).and_then(|t| t.source.clone())),
        text(&|e| cts(e).and_then(|t| t.manual_source.clone())),
        text(&|e| cts(e).and_then(|t| t.manual_medium.clone())),
        text(&|e| cts(e).and_then(|t| t.manual_campaign_name.clone())),
        text(&|e| cts(e).and_then(|t| t.manual_term.clone())),
        text(&|e| cts(e).and_then(|t| t.manual_content.clone())),
        text(&|e| cts(e).and_then(|t| t.gclid.clone())),
        text(&|e| e.device.as_ref().and_then(|d| d.category.clone())),
        text(&|e| e.geo.as_ref().and_then(|g| g.country.clone())),
        text(&|e| e.ecommerce.as_ref().and_then(|c| c.transaction_id.clone())),
        Arc::new(
            events
                .iter()
                .map(|e| {
                    e.ecommerce
                        .as_ref()
                        .and_then(|c| c.purchase_revenue)
                        .map(|v| v.0)
                })
                .collect::<Float64Array>(),
        ),
        text(&|e| e.param_str("currency")),
    ];
    RecordBatch::try_new(EVENTS_SCHEMA.clone(), columns)
        .map_err(|e| ConnectorError::Other(e.to_string()))
}

pub fn params_batch(events: &[Event]) -> Result<RecordBatch, ConnectorError> {
    let rows: Vec<(&Event, &Param)> = events
        .iter()
        .flat_map(|e| e.event_params.iter().flatten().map(move |p| (e, p)))
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            rows.iter()
                .map(|(e, _)| Some(e.event_date.0))
                .collect::<Date32Array>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(e, _)| Some(e.event_timestamp.0))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        Arc::new(
            rows.iter()
                .map(|(e, _)| Some(e.event_name.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(e, _)| e.user_pseudo_id.as_deref())
                .collect::<StringArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(_, p)| Some(p.key.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(_, p)| p.value.string_value.as_deref())
                .collect::<StringArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(_, p)| p.value.int_value.map(|v| v.0))
                .collect::<Int64Array>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(_, p)| p.value.float_value.map(|v| v.0))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(_, p)| p.value.double_value.map(|v| v.0))
                .collect::<Float64Array>(),
        ),
    ];
    RecordBatch::try_new(PARAMS_SCHEMA.clone(), columns)
        .map_err(|e| ConnectorError::Other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::arrow::array::Array;

    pub const EXPORT: &str = concat!(
        r#"{"event_date":"20240101","event_timestamp":"1704067200000000","event_name":"session_start","event_params":[{"key":"ga_session_id","value":{"string_value":null,"int_value":"1704067200","float_value":null,"double_value":null}},{"key":"page_location","value":{"string_value":"https://shop.example/?utm_source=google&utm_medium=cpc&gclid=abc"}},{"key":"session_engaged","value":{"string_value":"1"}}],"user_id":null,"user_pseudo_id":"111.222","traffic_source":{"name":"(direct)","medium":"(none)","source":"(direct)"},"collected_traffic_source":{"manual_source":"google","manual_medium":"cpc","manual_campaign_name":"brand","gclid":"abc"},"device":{"category":"desktop"},"geo":{"country":"Germany"},"ecommerce":null}"#,
        "\n",
        r#"{"event_date":"20240101","event_timestamp":"1704067500000000","event_name":"purchase","event_params":[{"key":"ga_session_id","value":{"int_value":"1704067200"}},{"key":"engagement_time_msec","value":{"int_value":"5400"}}],"user_pseudo_id":"111.222","ecommerce":{"transaction_id":"T-1","purchase_revenue":"89.9"}}"#,
        "\n"
    );

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events_20240101.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn flattens_params_and_nested_records() {
        let (_d, path) = write(EXPORT);
        let b = events_batch(&read(&path, false).unwrap()).unwrap();
        let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let session = col("ga_session_id");
        let session = session.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(
            (session.value(0), session.value(1)),
            (1_704_067_200, 1_704_067_200)
        );
        let engaged = col("session_engaged");
        let engaged = engaged.as_any().downcast_ref::<BooleanArray>().unwrap();
        assert!(engaged.value(0) && engaged.is_null(1));
        let source = col("manual_source");
        assert_eq!(
            source
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "google"
        );
        let revenue = col("purchase_revenue");
        let revenue = revenue.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!(revenue.is_null(0));
        assert_eq!(revenue.value(1), 89.9);
        let day = col("event_date");
        assert_eq!(
            day.as_any().downcast_ref::<Date32Array>().unwrap().value(0),
            19723
        );
    }

    #[test]
    fn parquet_export_reads_like_the_json_export() {
        let (dir, path) = write(EXPORT);
        let parquet_path = dir.path().join("events_20240101.parquet");
        crate::test_parquet::write(EXPORT, &parquet_path);
        let from_json = events_batch(&read(&path, false).unwrap()).unwrap();
        let from_parquet = events_batch(&read(&parquet_path, false).unwrap()).unwrap();
        assert_eq!(from_json, from_parquet);
    }

    #[test]
    fn params_in_long_form() {
        let (_d, path) = write(EXPORT);
        let b = params_batch(&read(&path, false).unwrap()).unwrap();
        assert_eq!(b.num_rows(), 5);
        let keys = b.column(4).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(keys.value(1), "page_location");
    }

    #[test]
    fn a_malformed_line_is_located() {
        let (_d, path) = write(&EXPORT.replace(
            "\"event_timestamp\":\"1704067500000000\"",
            "\"event_timestamp\":\"soon\"",
        ));
        let err = read(&path, false).err().unwrap().to_string();
        assert!(err.contains("events_20240101.json:2:"), "{err}");
        assert!(
            err.contains("invalid value: string \"soon\", expected an integer"),
            "{err}"
        );
    }
}
