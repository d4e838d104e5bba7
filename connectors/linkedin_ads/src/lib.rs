//! loopql connector for LinkedIn Ads: files holding `adAnalytics` responses (`pivot=CAMPAIGN`,
//! `timeGranularity=DAILY`) and, optionally, `adCampaigns` responses for names and accounts —
//! or, with `mode = "api"`, the live Marketing API (`api.rs`, `live.rs`). adAnalytics carries
//! neither currency nor names, so the currency is a source option.

mod analytics;
pub mod api;
#[cfg(test)]
mod fault_tests;
mod live;

use analytics::{ANALYTICS_SCHEMA, CAMPAIGNS_SCHEMA};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind, OptionSpec,
    ScanRequest, TableSpec, files,
};

const MAPPING_AD_PERFORMANCE: &str = "SELECT
    a.date,
    a.client_id,
    'linkedin_ads' AS platform,
    c.account_id,
    a.campaign_id,
    c.name AS campaign_name,
    a.impressions,
    a.clicks,
    a.cost_in_local_currency AS spend,
    a.currency,
    a.external_website_conversions + CAST(a.one_click_leads AS DOUBLE) AS conversions,
    a.conversion_value_in_local_currency AS conversion_value,
    CAST(NULL AS VARCHAR) AS channel_type
FROM linkedin_ads.ad_analytics a
LEFT JOIN linkedin_ads.campaigns c ON a.campaign_id = c.campaign_id AND a.client_id = c.client_id";

#[derive(Debug, Default)]
pub struct LinkedInAds;

impl Connector for LinkedInAds {
    fn manifest(&self) -> Manifest {
        let option =
            |name: &str, kind, required, default: Option<&str>, description: &str| OptionSpec {
                name: name.into(),
                kind,
                required,
                default: default.map(Into::into),
                description: description.into(),
            };
        let exact = |cols: &[&str]| {
            cols.iter()
                .map(|c| FilterSpec {
                    column: (*c).into(),
                    exact: true,
                })
                .collect()
        };
        Manifest {
            name: "linkedin_ads".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "LinkedIn Ads adAnalytics (campaign x day) and adCampaigns responses (JSON)".into(),
            options: vec![
                option(
                    "mode",
                    OptionKind::String,
                    false,
                    Some("files"),
                    "files (saved responses) or api (the live Marketing API)",
                ),
                option(
                    "path",
                    OptionKind::Glob,
                    false,
                    None,
                    "files mode: adAnalytics response files (.json, NDJSON, optionally .gz)",
                ),
                option(
                    "campaigns_path",
                    OptionKind::Glob,
                    false,
                    None,
                    "adCampaigns response files, for campaign names and accounts",
                ),
                option(
                    "account_ids",
                    OptionKind::String,
                    false,
                    None,
                    "api mode: the ad account ids (comma-separated)",
                ),
                option(
                    "access_token_env",
                    OptionKind::String,
                    false,
                    Some("LINKEDIN_ACCESS_TOKEN"),
                    "api mode: environment variable holding the access token",
                ),
                option(
                    "refresh_token_env",
                    OptionKind::String,
                    false,
                    Some("LINKEDIN_REFRESH_TOKEN"),
                    "api mode: environment variable holding a refresh token (then client_id_env and client_secret_env too)",
                ),
                option(
                    "client_id_env",
                    OptionKind::String,
                    false,
                    Some("LINKEDIN_CLIENT_ID"),
                    "api mode: environment variable holding the app's client id",
                ),
                option(
                    "client_secret_env",
                    OptionKind::String,
                    false,
                    Some("LINKEDIN_CLIENT_SECRET"),
                    "api mode: environment variable holding the app's client secret",
                ),
                option(
                    "credentials_file",
                    OptionKind::Path,
                    false,
                    None,
                    "api mode: a 0600 file of `key: value` secrets (access_token, or refresh_token, client_id, client_secret)",
                ),
                option(
                    "since",
                    OptionKind::String,
                    false,
                    None,
                    "api mode: first day (YYYY-MM-DD) when the query names none; default 30 days ago",
                ),
                option(
                    "until",
                    OptionKind::String,
                    false,
                    None,
                    "api mode: last day (YYYY-MM-DD); default today",
                ),
                option(
                    "api_base_url",
                    OptionKind::String,
                    false,
                    Some(api::DEFAULT_BASE_URL),
                    "api mode: the API's base URL",
                ),
                option(
                    "api_version",
                    OptionKind::String,
                    false,
                    Some(api::DEFAULT_VERSION),
                    "api mode: the LinkedIn-Version header (YYYYMM)",
                ),
                option(
                    "token_url",
                    OptionKind::String,
                    false,
                    Some(live::DEFAULT_TOKEN_URL),
                    "api mode: the OAuth2 token endpoint",
                ),
                option(
                    "currency",
                    OptionKind::String,
                    false,
                    Some("USD"),
                    "the ad account's currency (costInLocalCurrency is in it)",
                ),
            ],
            tables: vec![
                TableSpec {
                    name: "ad_analytics".into(),
                    description: "one row per pivot value (campaign) x day".into(),
                    filters: exact(&["date", "campaign_id"]),
                    activity_date: Some("date".into()),
                    changes: None,
                    schema: ANALYTICS_SCHEMA.clone(),
                },
                TableSpec {
                    name: "campaigns".into(),
                    description: "one row per campaign (empty without campaigns_path)".into(),
                    filters: exact(&["campaign_id", "account_id"]),
                    activity_date: None,
                    changes: None,
                    schema: CAMPAIGNS_SCHEMA.clone(),
                },
            ],
            mappings: vec![Mapping {
                view: "ad_performance".into(),
                sql: MAPPING_AD_PERFORMANCE.into(),
            }],
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<BatchReader, ConnectorError> {
        let currency = request
            .option_str("currency")
            .unwrap_or("USD")
            .to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ConnectorError::InvalidOption {
                name: "currency".into(),
                message: format!("expected a 3-letter ISO 4217 code, found `{currency}`"),
            });
        }
        let skip = loopql_connector_sdk::diagnostics::skip_bad_rows(&request);
        let schema = match request.table.as_str() {
            "ad_analytics" => ANALYTICS_SCHEMA.clone(),
            "campaigns" => CAMPAIGNS_SCHEMA.clone(),
            other => {
                return Err(ConnectorError::UnknownTable {
                    table: other.into(),
                    available: "ad_analytics, campaigns".into(),
                });
            }
        };
        match request.option_str("mode").unwrap_or("files") {
            "files" => {}
            "api" => {
                let session = live::session(&request)?;
                let table = request.table.clone();
                // Fetched when the host first asks for a batch.
                let batches = loopql_connector_sdk::fetched_later(move || {
                    live::read(session, &table, &currency, skip)
                });
                return request.finish(&schema, batches);
            }
            other => {
                return Err(ConnectorError::InvalidOption {
                    name: "mode".into(),
                    message: format!("expected files or api, found `{other}`"),
                });
            }
        }
        let (schema, batches): (_, Box<dyn Iterator<Item = _> + Send>) =
            match request.table.as_str() {
                "ad_analytics" => {
                    let pattern = request.required_str(
                        "path",
                        "set it to the adAnalytics response files (or set mode = \"api\")",
                    )?;
                    let paths = files::expand(pattern)?;
                    (
                        ANALYTICS_SCHEMA.clone(),
                        Box::new(files::batches(paths, move |p| {
                            analytics::analytics(p, &currency, skip)
                        })),
                    )
                }
                "campaigns" => {
                    let paths = match request.option_str("campaigns_path") {
                        Some(pattern) => files::expand(pattern)?,
                        None => Vec::new(),
                    };
                    (
                        CAMPAIGNS_SCHEMA.clone(),
                        Box::new(files::batches(paths, move |p| {
                            analytics::campaigns(p, skip)
                        })),
                    )
                }
                other => {
                    return Err(ConnectorError::UnknownTable {
                        table: other.into(),
                        available: "ad_analytics, campaigns".into(),
                    });
                }
            };
        request.finish(&schema, batches)
    }
}

loopql_connector_sdk::export_connector!(LinkedInAds, LinkedInAds);
