//! loopql connector for the GA4 BigQuery export (`events_YYYYMMDD`) saved as NDJSON (BigQuery's
//! JSON export: int64 values as strings) or Parquet, with nested `event_params`,
//! `traffic_source`, `collected_traffic_source`, `device`, `geo`, `ecommerce`. Two raw tables: `events`, with the
//! parameters and nested fields loopql uses flattened into columns, and `event_params`, every
//! parameter in long form.

mod events;

use events::{EVENTS_SCHEMA, PARAMS_SCHEMA};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, OptionKind, OptionSpec,
    ScanRequest, TableSpec, files,
};

#[derive(Debug, Default)]
pub struct Ga4;

impl Connector for Ga4 {
    fn manifest(&self) -> Manifest {
        let exact = |cols: &[&str]| {
            cols.iter()
                .map(|c| FilterSpec {
                    column: (*c).into(),
                    exact: true,
                })
                .collect()
        };
        Manifest {
            name: "ga4".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "GA4 BigQuery export events (NDJSON or Parquet, as BigQuery exports them)"
                .into(),
            options: vec![OptionSpec {
                name: "path".into(),
                kind: OptionKind::Glob,
                required: true,
                default: None,
                description:
                    "export files: NDJSON (.json, .ndjson, optionally .gz) or Parquet (.parquet)"
                        .into(),
            }],
            tables: vec![
                TableSpec {
                    name: "events".into(),
                    description: "one row per event, common parameters and nested fields flattened"
                        .into(),
                    filters: exact(&[
                        "event_date",
                        "event_timestamp",
                        "event_name",
                        "user_pseudo_id",
                    ]),
                    schema: EVENTS_SCHEMA.clone(),
                },
                TableSpec {
                    name: "event_params".into(),
                    description: "one row per event parameter".into(),
                    filters: exact(&["event_date", "event_timestamp", "event_name", "key"]),
                    schema: PARAMS_SCHEMA.clone(),
                },
            ],
            mappings: vec![],
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<BatchReader, ConnectorError> {
        let pattern = request
            .option_str("path")
            .ok_or_else(|| ConnectorError::InvalidOption {
                name: "path".into(),
                message: "required; set it to the export files, e.g. `exports/ga4/events_*.json`"
                    .into(),
            })?;
        let paths = files::expand(pattern)?;
        let (schema, batches): (_, Box<dyn Iterator<Item = _> + Send>) =
            match request.table.as_str() {
                "events" => (
                    EVENTS_SCHEMA.clone(),
                    Box::new(files::batches(paths, |p| {
                        events::read(p).and_then(|e| events::events_batch(&e))
                    })),
                ),
                "event_params" => (
                    PARAMS_SCHEMA.clone(),
                    Box::new(files::batches(paths, |p| {
                        events::read(p).and_then(|e| events::params_batch(&e))
                    })),
                ),
                other => {
                    return Err(ConnectorError::UnknownTable {
                        table: other.into(),
                        available: "events, event_params".into(),
                    });
                }
            };
        request
            .finish(&schema, batches)
            .map_err(|e| ConnectorError::Other(e.to_string()))
    }
}

loopql_connector_sdk::export_connector!(Ga4, Ga4);
