//! loopql connector for Google Ads campaign performance: CSV exports with GAQL column names,
//! files holding the API's `searchStream` JSON response, or (`mode = "api"`) the live Google Ads
//! API's `searchStream`. One raw table, `campaign_stats`.

pub mod api;
mod csv_export;
mod live;
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
            description: "Google Ads campaign performance from CSV exports (GAQL column names), \
                          searchStream JSON responses, or the live API (mode = \"api\")"
                .into(),
            options: [
                ("mode", false, Some("files"), "files (exports, `path`) or api (the live Google Ads API)"),
                ("path", false, None, "files mode: files to read: .csv, .json (searchStream response), optionally .gz"),
                ("format", false, Some("auto"), "files mode: auto (by file extension), csv or json"),
                ("customer_ids", false, None, "api mode: the customer ids to read (comma-separated, dashes allowed)"),
                ("login_customer_id", false, None, "api mode: the manager account the calls go through, if any"),
                ("credentials_file", false, None, "api mode: a 0600 file of `key: value` secrets (developer_token, client_id, client_secret, refresh_token, login_customer_id), as google-ads.yaml"),
                ("developer_token_env", false, Some("GOOGLE_ADS_DEVELOPER_TOKEN"), "api mode: environment variable holding the developer token"),
                ("client_id_env", false, Some("GOOGLE_ADS_CLIENT_ID"), "api mode: environment variable holding the OAuth2 client id"),
                ("client_secret_env", false, Some("GOOGLE_ADS_CLIENT_SECRET"), "api mode: environment variable holding the OAuth2 client secret"),
                ("refresh_token_env", false, Some("GOOGLE_ADS_REFRESH_TOKEN"), "api mode: environment variable holding the OAuth2 refresh token"),
                ("since", false, None, "api mode: first day (YYYY-MM-DD) when the query gives no segments_date range; default 30 days ago"),
                ("until", false, None, "api mode: last day (YYYY-MM-DD); default today"),
                ("max_attempts", false, Some("5"), "api mode: attempts per call when the API throttles (429) or fails (5xx, no connection)"),
                ("api_base_url", false, Some(live::DEFAULT_BASE_URL), "api mode: the API's base URL"),
                ("api_version", false, Some(live::DEFAULT_VERSION), "api mode: the API version"),
                ("token_url", false, Some(live::DEFAULT_TOKEN_URL), "api mode: the OAuth2 token endpoint"),
            ]
            .into_iter()
            .map(|(name, required, default, description)| {
                let kind = match name {
                    "path" => OptionKind::Glob,
                    "credentials_file" => OptionKind::Path,
                    "max_attempts" => OptionKind::Integer,
                    _ => OptionKind::String,
                };
                let default = default.map(|d| match (kind, d.parse::<i64>()) {
                    (OptionKind::Integer, Ok(n)) => n.into(),
                    _ => d.into(),
                });
                OptionSpec {
                    name: name.into(),
                    kind,
                    required,
                    default,
                    description: description.into(),
                }
            })
            .collect(),
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
                changes: None,
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
        let filter = RowFilter::new(&request.filters)?;
        let skip = loopql_connector_sdk::diagnostics::skip_bad_rows(&request);
        match request.option_str("mode").unwrap_or("files") {
            "files" => {
                let pattern = request.required_str(
                    "path",
                    "set it to the export files, e.g. `exports/google_ads/*.csv` (or set mode = \"api\")",
                )?;
                let format = Format::parse(request.option_str("format").unwrap_or("auto"))?;
                let files = files::expand(pattern)?;
                Ok(Box::new(rows::CampaignReader::new(
                    files,
                    filter,
                    request.limit,
                    Box::new(move |path| read_file(path, format, skip)),
                )))
            }
            "api" => {
                // One call per customer, made when the reader gets to it.
                let config = live::config(&request)?;
                let customers = config.customer_ids.iter().map(Into::into).collect();
                let session = std::sync::Mutex::new(api::Session::new(config));
                Ok(Box::new(rows::CampaignReader::new(
                    customers,
                    filter,
                    request.limit,
                    Box::new(move |customer| {
                        let customer = customer.to_string_lossy();
                        session
                            .lock()
                            .map_err(|_| ConnectorError::Other("the API session broke".into()))?
                            .fetch(&customer, skip)
                    }),
                )))
            }
            other => Err(ConnectorError::InvalidOption {
                name: "mode".into(),
                message: format!("expected files or api, found `{other}`"),
            }),
        }
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
