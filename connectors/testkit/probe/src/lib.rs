//! Test-only connector for loopql's plugin host tests: deterministic rows, pushdown that can be
//! observed, and tables that fail in each way a real connector might (panic on open, error
//! midway, panic midway).

use loopql_connector_sdk::arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array};
use loopql_connector_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use loopql_connector_sdk::arrow::error::ArrowError;
use loopql_connector_sdk::arrow::record_batch::{RecordBatch, RecordBatchIterator};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterOp, FilterSpec, Manifest, OptionKind, OptionSpec,
    Scalar, ScanRequest, TableSpec,
};
use std::sync::Arc;

/// 2024-01-01 as days since the epoch.
const DAY0: i32 = 19723;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("day", DataType::Date32, false),
        Field::new("value", DataType::Float64, false),
    ]))
}

fn table(name: &str, description: &str) -> TableSpec {
    TableSpec {
        name: name.into(),
        description: description.into(),
        filters: vec![
            FilterSpec {
                column: "day".into(),
                exact: true,
            },
            FilterSpec {
                column: "id".into(),
                exact: false,
            },
        ],
        activity_date: None,
        changes: None,
        schema: schema(),
    }
}

/// Rows `id = 0..n`, `day = 2024-01-01 + id % 10`, `value = id * 1.5`.
fn batch(from: i64, to: i64) -> Result<RecordBatch, ArrowError> {
    let ids: Vec<i64> = (from..to).collect();
    let days: Vec<i32> = ids.iter().map(|i| DAY0 + (i % 10) as i32).collect();
    let values: Vec<f64> = ids.iter().map(|&i| i as f64 * 1.5).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids)),
        Arc::new(Date32Array::from(days)),
        Arc::new(Float64Array::from(values)),
    ];
    RecordBatch::try_new(schema(), columns)
}

fn date_days(s: &str) -> Option<i32> {
    let mut parts = s.split('-').map(|p| p.parse::<i32>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    // Only January 2024 matters for these tests.
    (y == 2024 && m == 1).then_some(DAY0 + d - 1)
}

pub struct Probe;

impl Connector for Probe {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "probe".into(),
            version: "0.0.1".into(),
            description: "test connector".into(),
            options: vec![OptionSpec {
                name: "rows".into(),
                kind: OptionKind::Integer,
                required: false,
                default: Some(100.into()),
                description: "rows in `events`".into(),
            }],
            tables: vec![
                table("events", "deterministic rows"),
                table("panics_on_scan", "panics when a scan is opened"),
                table("fails_midway", "one batch, then an error"),
                table("panics_midway", "one batch, then a panic"),
            ],
            mappings: vec![],
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<BatchReader, ConnectorError> {
        let rows = request
            .options
            .get("rows")
            .and_then(|v| v.as_i64())
            .unwrap_or(100);
        match request.table.as_str() {
            "events" => {
                let all = batch(0, rows).map_err(|e| ConnectorError::Other(e.to_string()))?;
                let keep = filter_days(&all, &request)?;
                let batch = request
                    .project(keep)
                    .map_err(|e| ConnectorError::Other(e.to_string()))?;
                let schema = batch.schema();
                // Two batches, so limits and streaming cross a batch boundary.
                let half = batch.num_rows() / 2;
                let parts = vec![
                    Ok(batch.slice(0, half)),
                    Ok(batch.slice(half, batch.num_rows() - half)),
                ];
                Ok(Box::new(RecordBatchIterator::new(parts, schema)))
            }
            "panics_on_scan" => panic!("probe was told to panic on scan"),
            "fails_midway" => {
                let first = batch(0, 5).and_then(|b| request.project(b));
                let schema = request
                    .projected_schema(&schema())
                    .map_err(|e| ConnectorError::Other(e.to_string()))?;
                let parts = vec![
                    first,
                    Err(ArrowError::ExternalError(Box::new(ConnectorError::Other(
                        "probe lost its connection after 5 rows".into(),
                    )))),
                ];
                Ok(Box::new(RecordBatchIterator::new(parts, schema)))
            }
            "panics_midway" => {
                let schema = request
                    .projected_schema(&schema())
                    .map_err(|e| ConnectorError::Other(e.to_string()))?;
                let mut first = Some(batch(0, 5).and_then(|b| request.project(b)));
                let iter = std::iter::from_fn(move || match first.take() {
                    Some(b) => Some(b),
                    None => panic!("probe panicked midway"),
                });
                Ok(Box::new(RecordBatchIterator::new(iter, schema)))
            }
            other => Err(ConnectorError::UnknownTable {
                table: other.into(),
                available: "events".into(),
            }),
        }
    }
}

/// Applies the exact `day` filters; `id` filters are declared inexact and left to the host.
fn filter_days(batch: &RecordBatch, request: &ScanRequest) -> Result<RecordBatch, ConnectorError> {
    let mut bounds = Vec::new();
    for f in request.filters_on("day") {
        let Scalar::Date(s) = &f.value else {
            return Err(ConnectorError::Other(format!(
                "day filter needs a date, got {:?}",
                f.value
            )));
        };
        let d = date_days(s).ok_or_else(|| ConnectorError::Other(format!("bad date {s}")))?;
        bounds.push((f.op, d));
    }
    let days = batch
        .column(1)
        .as_any()
        .downcast_ref::<Date32Array>()
        .ok_or_else(|| ConnectorError::Other("day column".into()))?;
    let mask: Vec<bool> = days
        .values()
        .iter()
        .map(|&d| {
            bounds
                .iter()
                .all(|&(op, b): &(FilterOp, i32)| op.holds(d.cmp(&b)))
        })
        .collect();
    let mask = loopql_connector_sdk::arrow::array::BooleanArray::from(mask);
    loopql_connector_sdk::arrow::compute::filter_record_batch(batch, &mask)
        .map_err(|e| ConnectorError::Other(e.to_string()))
}

loopql_connector_sdk::export_connector!(Probe, Probe);
