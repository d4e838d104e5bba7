//! loopql connector for LinkedIn Ads: files holding `adAnalytics` responses (`pivot=CAMPAIGN`,
//! `timeGranularity=DAILY`) and, optionally, `adCampaigns` responses for names and accounts.
//! adAnalytics carries neither currency nor names, so the currency is a source option.

mod analytics;

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
                    "path",
                    OptionKind::Glob,
                    true,
                    None,
                    "adAnalytics response files (.json, NDJSON, optionally .gz)",
                ),
                option(
                    "campaigns_path",
                    OptionKind::Glob,
                    false,
                    None,
                    "adCampaigns response files, for campaign names and accounts",
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
                    schema: ANALYTICS_SCHEMA.clone(),
                },
                TableSpec {
                    name: "campaigns".into(),
                    description: "one row per campaign (empty without campaigns_path)".into(),
                    filters: exact(&["campaign_id", "account_id"]),
                    activity_date: None,
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
        let (schema, batches): (_, Box<dyn Iterator<Item = _> + Send>) =
            match request.table.as_str() {
                "ad_analytics" => {
                    let pattern =
                        request.required_str("path", "set it to the adAnalytics response files")?;
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
