//! loopql connector for Google Ads campaign performance: CSV exports with GAQL column names and
//! files holding the API's `searchStream` JSON response. One raw table, `campaign_stats`.

mod csv_export;
mod rows;
mod search_stream;

use loopql_connector_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind, OptionSpec,
    ScanRequest, TableSpec, files,
};
use std::sync::{Arc, OnceLock};

pub use rows::{CampaignRow, RowFilter};

pub const TABLE: &str = "campaign_stats";

/// The raw table's schema: GAQL field paths with `.` written as `_`.
pub fn campaign_stats_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("segments_date", DataType::Date32, false),
                Field::new("customer_id", DataType::Int64, false),
                Field::new("customer_currency_code", DataType::Utf8, false),
                Field::new("campaign_id", DataType::Int64, false),
                Field::new("campaign_name", DataType::Utf8, true),
                Field::new("campaign_advertising_channel_type", DataType::Utf8, true),
                Field::new("metrics_impressions", DataType::Int64, false),
                Field::new("metrics_clicks", DataType::Int64, false),
                Field::new("metrics_cost_micros", DataType::Int64, false),
                Field::new("metrics_conversions", DataType::Float64, false),
                Field::new("metrics_conversions_value", DataType::Float64, false),
            ]))
        })
        .clone()
}

const MAPPING_AD_PERFORMANCE: &str = "SELECT
    segments_date AS date,
    client_id,
    'google_ads' AS platform,
    CAST(customer_id AS VARCHAR) AS account_id,
    CAST(campaign_id AS VARCHAR) AS campaign_id,
    campaign_name,
    metrics_impressions AS impressions,
    metrics_clicks AS clicks,
    CAST(metrics_cost_micros AS DOUBLE) / 1000000.0 AS spend,
    customer_currency_code AS currency,
    metrics_conversions AS conversions,
    metrics_conversions_value AS conversion_value,
    campaign_advertising_channel_type AS channel_type
FROM google_ads.campaign_stats";

#[derive(Debug, Default)]
pub struct GoogleAds;

impl Connector for GoogleAds {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "google_ads".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Google Ads campaign performance from CSV exports (GAQL column names) \
                          or searchStream JSON responses"
                .into(),
            options: vec![
                OptionSpec {
                    name: "path".into(),
                    kind: OptionKind::Glob,
                    required: true,
                    default: None,
                    description:
                        "files to read: .csv, .json (searchStream response), optionally .gz".into(),
                },
                OptionSpec {
                    name: "format".into(),
                    kind: OptionKind::String,
                    required: false,
                    default: Some("auto".into()),
                    description: "auto (by file extension), csv or json".into(),
                },
            ],
            tables: vec![TableSpec {
                name: TABLE.into(),
                description: "one row per customer x campaign x day".into(),
                filters: ["segments_date", "customer_id", "campaign_id"]
                    .into_iter()
                    .map(|c| FilterSpec {
                        column: c.into(),
                        exact: true,
                    })
                    .collect(),
                activity_date: Some("segments_date".into()),
                schema: campaign_stats_schema(),
            }],
            mappings: vec![Mapping {
                view: "ad_performance".into(),
                sql: MAPPING_AD_PERFORMANCE.into(),
            }],
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<BatchReader, ConnectorError> {
        if request.table != TABLE {
            return Err(ConnectorError::UnknownTable {
                table: request.table,
                available: TABLE.into(),
            });
        }
        let pattern = request.required_str(
            "path",
            "set it to the export files, e.g. `exports/google_ads/*.csv`",
        )?;
        let format = Format::parse(request.option_str("format").unwrap_or("auto"))?;
        let files = files::expand(pattern)?;
        let filter = RowFilter::new(&request.filters)?;
        let skip = loopql_connector_sdk::diagnostics::skip_bad_rows(&request);
        Ok(Box::new(rows::CampaignReader::new(
            files,
            filter,
            request.limit,
            Box::new(move |path| read_file(path, format, skip)),
        )))
    }
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Auto,
    Csv,
    Json,
}

impl Format {
    fn parse(s: &str) -> Result<Self, ConnectorError> {
        match s {
            "auto" => Ok(Format::Auto),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            other => Err(ConnectorError::InvalidOption {
                name: "format".into(),
                message: format!("expected auto, csv or json, found `{other}`"),
            }),
        }
    }
}

fn read_file(
    path: &std::path::Path,
    format: Format,
    skip: bool,
) -> Result<Vec<CampaignRow>, ConnectorError> {
    let format = match format {
        Format::Auto => match files::format_extension(path).as_deref() {
            Some("csv") => Format::Csv,
            Some("json") => Format::Json,
            other => {
                return Err(ConnectorError::Malformed {
                    path: path.to_path_buf(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "cannot tell the format from the extension `{}`; name files .csv or .json \
                         (optionally .gz), or set the source's `format` option",
                        other.unwrap_or("")
                    ),
                });
            }
        },
        f => f,
    };
    match format {
        Format::Csv => csv_export::read(path, skip),
        _ => search_stream::read(path, skip),
    }
}

loopql_connector_sdk::export_connector!(GoogleAds, GoogleAds);
