//! loopql connector for Microsoft Advertising campaign performance reports, as the UI or the
//! Reporting API's CSV download writes them: a report preamble (`Report Name: ...`), the header
//! row, daily rows, and a copyright footer — from files, or (`mode = "api"`) requested from the
//! live Reporting API and downloaded (`api.rs`, `live.rs`). One raw table,
//! `campaign_performance`.

pub mod api;
mod live;

use loopql_connector_sdk::csv_table::{self, Column, Dialect, Empty, Kind};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind, OptionSpec,
    ScanRequest, TableSpec, files,
};

pub const TABLE: &str = "campaign_performance";

/// Report columns (the API's names; UI exports' spaced names are accepted too).
pub const COLUMNS: &[Column] = &[
    Column::new(
        "time_period",
        &["TimePeriod", "Time period", "Day", "GregorianDate"],
        Kind::Date,
    )
    .empty(Empty::Error),
    Column::new("account_id", &["AccountId", "Account ID"], Kind::Int64).empty(Empty::Error),
    Column::new("account_name", &["AccountName", "Account name"], Kind::Utf8).optional(),
    Column::new("campaign_id", &["CampaignId", "Campaign ID"], Kind::Int64).empty(Empty::Error),
    Column::new(
        "campaign_name",
        &["CampaignName", "Campaign name", "Campaign"],
        Kind::Utf8,
    )
    .optional(),
    Column::new(
        "currency_code",
        &["CurrencyCode", "Currency code", "Currency"],
        Kind::Utf8,
    )
    .empty(Empty::Error),
    Column::new("impressions", &["Impressions", "Impr."], Kind::Int64).empty(Empty::Zero),
    Column::new("clicks", &["Clicks"], Kind::Int64).empty(Empty::Zero),
    Column::new("spend", &["Spend"], Kind::Float64).empty(Empty::Zero),
    Column::new("conversions", &["Conversions", "Conv."], Kind::Float64).empty(Empty::Zero),
    Column::new("revenue", &["Revenue"], Kind::Float64).empty(Empty::Zero),
];

pub(crate) const DIALECT: Dialect = Dialect {
    delimiter: b',',
    preamble: true,
    footer_prefixes: &["©", "(c)", "Copyright"],
    thousands_separator: true,
    skip_bad_rows: false,
};

const MAPPING_AD_PERFORMANCE: &str = "SELECT
    time_period AS date,
    client_id,
    'microsoft_ads' AS platform,
    CAST(account_id AS VARCHAR) AS account_id,
    CAST(campaign_id AS VARCHAR) AS campaign_id,
    campaign_name,
    impressions,
    clicks,
    spend,
    upper(currency_code) AS currency,
    conversions,
    revenue AS conversion_value,
    CAST(NULL AS VARCHAR) AS channel_type
FROM microsoft_ads.campaign_performance";

#[derive(Debug, Default)]
pub struct MicrosoftAds;

impl Connector for MicrosoftAds {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "microsoft_ads".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Microsoft Advertising campaign performance reports (CSV, daily; files, or the live Reporting API with mode = \"api\")".into(),
            options: options(),
            tables: vec![TableSpec {
                name: TABLE.into(),
                description: "one row per account x campaign x day".into(),
                filters: ["time_period", "account_id", "campaign_id", "currency_code"]
                    .into_iter()
                    .map(|c| FilterSpec {
                        column: c.into(),
                        exact: true,
                    })
                    .collect(),
                activity_date: Some("time_period".into()),
                changes: None,
                schema: csv_table::schema(COLUMNS),
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
        let skip = loopql_connector_sdk::diagnostics::skip_bad_rows(&request);
        match request.option_str("mode").unwrap_or("files") {
            "files" => {}
            "api" => {
                let session = live::session(&request)?;
                let dialect = live::dialect(skip);
                // Requested when the host first asks for a batch.
                let batches =
                    loopql_connector_sdk::fetched_later(move || live::read(session, &dialect));
                return request.finish(&csv_table::schema(COLUMNS), batches);
            }
            other => {
                return Err(ConnectorError::InvalidOption {
                    name: "mode".into(),
                    message: format!("expected files or api, found `{other}`"),
                });
            }
        }
        let pattern = request.required_str(
            "path",
            "set it to the report files, e.g. `exports/microsoft_ads/*.csv` (or set mode = \"api\")",
        )?;
        let paths = files::expand(pattern)?;
        let dialect = live::dialect(skip);
        let batches = files::streamed(paths, move |path, sink| {
            csv_table::stream_batches(path, COLUMNS, &dialect, None, sink)
        });
        request.finish(&csv_table::schema(COLUMNS), batches)
    }
}

/// The files mode's `path` and the options of `mode = "api"`.
fn options() -> Vec<OptionSpec> {
    use loopql_connector_sdk::serde_json::Value;
    let text = |v: &str| Some(Value::from(v));
    [
        ("mode", OptionKind::String, text("files"), "files (report CSVs) or api (the live Reporting API)"),
        ("path", OptionKind::Glob, None, "files mode: report files (.csv, optionally .gz)"),
        ("customer_id", OptionKind::String, None, "api mode: the customer (manager) id the accounts belong to"),
        ("account_ids", OptionKind::String, None, "api mode: the ad account ids to report (comma-separated)"),
        ("developer_token_env", OptionKind::String, text("MSADS_DEVELOPER_TOKEN"), "api mode: environment variable holding the developer token"),
        ("client_id_env", OptionKind::String, text("MSADS_CLIENT_ID"), "api mode: environment variable holding the app's client id"),
        ("client_secret_env", OptionKind::String, text("MSADS_CLIENT_SECRET"), "api mode: environment variable holding the app's client secret (web apps)"),
        ("refresh_token_env", OptionKind::String, text("MSADS_REFRESH_TOKEN"), "api mode: environment variable holding the refresh token"),
        ("credentials_file", OptionKind::Path, None, "api mode: a 0600 file of `key: value` secrets (developer_token, client_id, client_secret, refresh_token)"),
        ("since", OptionKind::String, None, "api mode: first day (YYYY-MM-DD) when the query names none; default 30 days ago"),
        ("until", OptionKind::String, None, "api mode: last day (YYYY-MM-DD); default today"),
        ("poll_seconds", OptionKind::Integer, Some(Value::from(5)), "api mode: seconds between two polls of a pending report"),
        ("api_base_url", OptionKind::String, text(api::DEFAULT_BASE_URL), "api mode: the Reporting API's base URL"),
        ("token_url", OptionKind::String, text(live::DEFAULT_TOKEN_URL), "api mode: the OAuth2 token endpoint"),
    ]
    .into_iter()
    .map(|(name, kind, default, description)| OptionSpec {
        name: name.into(),
        kind,
        required: false,
        default,
        description: description.into(),
    })
    .collect()
}

loopql_connector_sdk::export_connector!(MicrosoftAds, MicrosoftAds);

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::arrow::array::{Array, Float64Array, Int64Array};
    use loopql_connector_sdk::{Filter, FilterOp, Scalar};

    const REPORT: &str = "\"Report Name: Campaign performance\"\n\"Report Time: 1/1/2024 - 1/31/2024\"\n\"Time Zone: (GMT-05:00) Eastern Time (US & Canada)\"\n\"Rows: 3\"\n\n\"TimePeriod\",\"AccountId\",\"AccountName\",\"CampaignId\",\"CampaignName\",\"CurrencyCode\",\"Impressions\",\"Clicks\",\"Spend\",\"Conversions\",\"Revenue\"\n\"1/1/2024\",\"555\",\"Acme\",\"71\",\"Brand\",\"USD\",\"1,500\",\"60\",\"45.00\",\"3\",\"210.00\"\n\"1/2/2024\",\"555\",\"Acme\",\"71\",\"Brand\",\"USD\",\"1,400\",\"50\",\"40.50\",\"2\",\"150.00\"\n\"1/2/2024\",\"555\",\"Acme\",\"72\",\"Generic\",\"USD\",\"900\",\"9\",\"12.30\",\"\",\"\"\n\"©2024 Microsoft Corporation. All rights reserved. \"\n";

    fn request(
        dir: &std::path::Path,
        filters: Vec<Filter>,
        projection: Option<Vec<usize>>,
    ) -> ScanRequest {
        let mut map = loopql_connector_sdk::OptionsMap::new();
        map.insert("path".into(), format!("{}/*.csv", dir.display()).into());
        ScanRequest {
            table: TABLE.into(),
            options: map,
            projection,
            filters,
            limit: None,
        }
    }

    #[test]
    fn reads_a_report_with_preamble_and_footer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.csv"), REPORT).unwrap();
        let batches: Vec<_> = MicrosoftAds
            .scan(request(dir.path(), vec![], None))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let b = &batches[0];
        assert_eq!(b.num_rows(), 3);
        let impressions = b.column(6).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(impressions.values().as_ref(), [1500, 1400, 900]);
        let revenue = b
            .column(10)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(revenue.value(2), 0.0);
    }

    #[test]
    fn filters_apply_exactly_before_projection() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.csv"), REPORT).unwrap();
        let filters = vec![
            Filter {
                column: "time_period".into(),
                op: FilterOp::Eq,
                value: Scalar::Date("2024-01-02".into()),
            },
            Filter {
                column: "campaign_id".into(),
                op: FilterOp::Eq,
                value: Scalar::Int64(72),
            },
        ];
        let batches: Vec<_> = MicrosoftAds
            .scan(request(dir.path(), filters, Some(vec![8])))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let spend: Vec<f64> = batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(spend, [12.3]);
        assert_eq!(batches[0].num_columns(), 1);
        assert!(!batches[0].column(0).is_empty());
    }

    #[test]
    fn bad_number_is_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("r.csv"),
            REPORT.replace("\"40.50\"", "\"40,5O\""),
        )
        .unwrap();
        let mut reader = MicrosoftAds
            .scan(request(dir.path(), vec![], None))
            .unwrap();
        let err = reader.next().unwrap().unwrap_err().to_string();
        assert!(
            err.contains("r.csv:8:9: column `Spend`: expected a number, found `40,5O`"),
            "{err}"
        );
    }
}
