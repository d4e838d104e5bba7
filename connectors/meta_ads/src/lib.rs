//! loopql connector for Meta Ads Insights: files holding pages of the `/act_<id>/insights` API
//! response (`time_increment=1`), as saved from the API or by a pipeline. Every number arrives as
//! a string; conversions are in `actions[]` / `action_values[]`, where one purchase appears under
//! several action types, so a priority list picks one type per row.
//!
//! Two ways in: saved response files (`path`), or the live API (`account_ids`, token from an
//! environment variable), where a `date_start` range in the query becomes the API's `time_range`.

mod api;
mod insights;
mod live;

use insights::{ACTIONS_SCHEMA, INSIGHTS_SCHEMA};
use loopql_connector_sdk::arrow::error::ArrowError;
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind, OptionSpec,
    ScanRequest, TableSpec, files,
};

/// Purchase action types, most deduplicated first (`omni_purchase` counts each purchase once
/// across web, app and offline).
pub const DEFAULT_PURCHASE_TYPES: &str = "omni_purchase,purchase,offsite_conversion.fb_pixel_purchase,onsite_web_purchase,app_custom_event.fb_mobile_purchase";
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com/v19.0";
pub const DEFAULT_LEAD_TYPES: &str =
    "lead,onsite_conversion.lead_grouped,offsite_conversion.fb_pixel_lead";

const MAPPING_AD_PERFORMANCE: &str = "SELECT
    date_start AS date,
    client_id,
    'meta_ads' AS platform,
    account_id,
    campaign_id,
    max(campaign_name) AS campaign_name,
    sum(impressions) AS impressions,
    sum(coalesce(inline_link_clicks, clicks)) AS clicks,
    sum(spend) AS spend,
    max(account_currency) AS currency,
    sum(purchases) AS conversions,
    sum(purchase_value) AS conversion_value,
    CAST(NULL AS VARCHAR) AS channel_type
FROM meta_ads.insights
GROUP BY date_start, client_id, account_id, campaign_id";

#[derive(Debug, Default)]
pub struct MetaAds;

fn exact(columns: &[&str]) -> Vec<FilterSpec> {
    columns
        .iter()
        .map(|c| FilterSpec {
            column: (*c).into(),
            exact: true,
        })
        .collect()
}

impl Connector for MetaAds {
    fn manifest(&self) -> Manifest {
        let option =
            |name: &str, kind, required, default: Option<&str>, description: &str| OptionSpec {
                name: name.into(),
                kind,
                required,
                default: default.map(Into::into),
                description: description.into(),
            };
        Manifest {
            name: "meta_ads".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Meta Ads Insights API pages (JSON, one page, an array of pages, or NDJSON)".into(),
            options: vec![
                option("path", OptionKind::Glob, false, None, "files of Insights API response pages (.json, .ndjson, optionally .gz); or use account_ids"),
                option("account_ids", OptionKind::String, false, None, "read the live API for these ad accounts (comma-separated, `act_` optional)"),
                option("api_base_url", OptionKind::String, false, Some(DEFAULT_BASE_URL), "Graph API base URL (with version)"),
                option("token_env", OptionKind::String, false, Some("META_ACCESS_TOKEN"), "environment variable holding the access token"),
                option("level", OptionKind::String, false, Some("ad"), "Insights level: account, campaign, adset or ad"),
                option("since", OptionKind::String, false, None, "first day to read (YYYY-MM-DD) when the query gives no date_start range; default 30 days ago"),
                option("until", OptionKind::String, false, None, "last day to read (YYYY-MM-DD); default today"),
                option("purchase_action_types", OptionKind::String, false, Some(DEFAULT_PURCHASE_TYPES), "action types counted as a purchase, in priority order (the first present counts)"),
                option("lead_action_types", OptionKind::String, false, Some(DEFAULT_LEAD_TYPES), "action types counted as a lead, in priority order"),
            ],
            tables: vec![
                TableSpec {
                    name: "insights".into(),
                    description: "one row per Insights row (account/campaign/ad set/ad x day)".into(),
                    filters: exact(&["date_start", "account_id", "campaign_id"]),
                    activity_date: Some("date_start".into()),
                    changes: None,
                    schema: INSIGHTS_SCHEMA.clone(),
                },
                TableSpec {
                    name: "insights_actions".into(),
                    description: "actions[] and action_values[] unnested: one row per Insights row x kind x action type".into(),
                    filters: exact(&["date_start", "account_id", "campaign_id", "kind", "action_type"]),
                    activity_date: Some("date_start".into()),
                    changes: None,
                    schema: ACTIONS_SCHEMA.clone(),
                },
            ],
            mappings: vec![Mapping { view: "ad_performance".into(), sql: MAPPING_AD_PERFORMANCE.into() }],
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<BatchReader, ConnectorError> {
        let priorities = |name: &str, default: &str| -> Vec<String> {
            request
                .option_str(name)
                .unwrap_or(default)
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let purchase = priorities("purchase_action_types", DEFAULT_PURCHASE_TYPES);
        let lead = priorities("lead_action_types", DEFAULT_LEAD_TYPES);
        let schema = match request.table.as_str() {
            "insights" => INSIGHTS_SCHEMA.clone(),
            "insights_actions" => ACTIONS_SCHEMA.clone(),
            other => {
                return Err(ConnectorError::UnknownTable {
                    table: other.into(),
                    available: "insights, insights_actions".into(),
                });
            }
        };
        let table = request.table.clone();
        let skip = loopql_connector_sdk::diagnostics::skip_bad_rows(&request);
        let build = move |rows: &[insights::Row]| match table.as_str() {
            "insights" => insights::insights_batch(rows, &purchase, &lead),
            _ => insights::actions_batch(rows),
        };
        let batches: Box<dyn Iterator<Item = _> + Send> = match (
            request.option_str("path"),
            request.option_str("account_ids"),
        ) {
            (Some(pattern), None) => {
                let paths = files::expand(pattern)?;
                Box::new(files::batches(paths, move |p| {
                    insights::read(p, skip).and_then(|rows| build(&rows))
                }))
            }
            (None, Some(_)) => {
                let config = live::config(&request)?;
                let batch = api::fetch(&config, skip)
                    .and_then(|rows| build(&rows))
                    .map_err(|e| ArrowError::ExternalError(Box::new(e)));
                Box::new(std::iter::once(batch))
            }
            _ => {
                return Err(ConnectorError::InvalidOption {
                        name: "path".into(),
                        message: "set either `path` (saved responses) or `account_ids` (the live API), not both or neither".into(),
                    });
            }
        };
        request.finish(&schema, batches)
    }
}

loopql_connector_sdk::export_connector!(MetaAds, MetaAds);
