//! loopql connector for the GA4 BigQuery export (`events_YYYYMMDD`) saved as NDJSON (BigQuery's
//! JSON export: int64 values as strings) or Parquet, with nested `event_params`,
//! `traffic_source`, `collected_traffic_source`, `device`, `geo`, `ecommerce`. Two raw tables: `events`, with the
//! parameters and nested fields loopql uses flattened into columns, and `event_params`, every
//! parameter in long form.

mod events;

use events::{EVENTS_SCHEMA, PARAMS_SCHEMA};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind, OptionSpec,
    ScanRequest, TableSpec, files,
};

/// A session is user_pseudo_id + ga_session_id; its source is the first collected traffic source
/// of the session (GA4's session-scoped attribution), its landing page the first page. Events
/// with the same timestamp are ordered by their other columns, so the same export always gives
/// the same sessions (a re-sync then changes nothing). A purchase counts once: a transaction id
/// seen again (the tag fired twice, the thank-you page reloaded, even in a later session) is
/// the same purchase, counted in the session of its first event. Its revenue is in the event's
/// `currency` parameter (NULL: the client's reporting currency).
const MAPPING_SESSIONS: &str = "SELECT
    client_id,
    'ga4' AS source_system,
    user_pseudo_id || '.' || CAST(ga_session_id AS VARCHAR) AS session_id,
    user_pseudo_id AS user_id,
    max(user_id) AS person_id,
    min(event_timestamp) AS session_start,
    max(event_timestamp) AS session_end,
    first_value(manual_source ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) FILTER (WHERE manual_source IS NOT NULL) AS source,
    first_value(manual_medium ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) FILTER (WHERE manual_medium IS NOT NULL) AS medium,
    first_value(manual_campaign_name ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) FILTER (WHERE manual_campaign_name IS NOT NULL) AS campaign,
    first_value(manual_term ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) FILTER (WHERE manual_term IS NOT NULL) AS term,
    first_value(manual_content ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) FILTER (WHERE manual_content IS NOT NULL) AS content,
    first_value(gclid ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) FILTER (WHERE gclid IS NOT NULL) AS click_id,
    first_value(page_location ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) FILTER (WHERE page_location IS NOT NULL) AS landing_page,
    count(*) FILTER (WHERE event_name = 'page_view') AS page_views,
    COALESCE(bool_or(session_engaged), false) OR COALESCE(sum(engagement_time_msec), 0) > 10000 AS engaged,
    count(*) FILTER (WHERE event_name = 'purchase' AND nth = 1) AS conversions,
    COALESCE(sum(purchase_revenue) FILTER (WHERE event_name = 'purchase' AND nth = 1), 0.0) AS revenue,
    first_value(currency ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) FILTER (WHERE event_name = 'purchase' AND nth = 1 AND currency IS NOT NULL) AS currency
FROM (
    SELECT events.*,
           CASE WHEN event_name = 'purchase' AND transaction_id IS NOT NULL THEN row_number() OVER (
               PARTITION BY client_id, event_name = 'purchase', transaction_id
               ORDER BY event_timestamp, user_pseudo_id, ga_session_id, purchase_revenue, currency)
           ELSE 1 END AS nth
    FROM ga4.events AS events
) AS events
WHERE ga_session_id IS NOT NULL AND user_pseudo_id IS NOT NULL
GROUP BY client_id, user_pseudo_id, ga_session_id";

/// Events after a session's first campaign-bearing event whose campaign differs from the
/// previous campaign-bearing event's.
const MAPPING_CAMPAIGN_CHANGES: &str = "SELECT
    client_id,
    'ga4' AS source_system,
    user_pseudo_id || '.' || CAST(ga_session_id AS VARCHAR) AS session_id,
    event_timestamp AS touch_ts,
    manual_source AS source,
    manual_medium AS medium,
    manual_campaign_name AS campaign,
    gclid AS click_id
FROM (
    SELECT client_id, user_pseudo_id, ga_session_id, event_timestamp, manual_source, manual_medium,
           manual_campaign_name, gclid,
           lag(lower(trim(manual_campaign_name))) OVER (
               PARTITION BY client_id, user_pseudo_id, ga_session_id ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS previous_campaign,
           row_number() OVER (
               PARTITION BY client_id, user_pseudo_id, ga_session_id ORDER BY event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS n
    FROM ga4.events
    WHERE ga_session_id IS NOT NULL AND user_pseudo_id IS NOT NULL
      AND nullif(trim(manual_campaign_name), '') IS NOT NULL
) AS campaign_events
WHERE n > 1 AND lower(trim(manual_campaign_name)) <> previous_campaign";

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
                    activity_date: Some("event_date".into()),
                    schema: EVENTS_SCHEMA.clone(),
                },
                TableSpec {
                    name: "event_params".into(),
                    description: "one row per event parameter".into(),
                    filters: exact(&["event_date", "event_timestamp", "event_name", "key"]),
                    activity_date: Some("event_date".into()),
                    schema: PARAMS_SCHEMA.clone(),
                },
            ],
            mappings: vec![
                Mapping {
                    view: "sessions".into(),
                    sql: MAPPING_SESSIONS.into(),
                },
                Mapping {
                    view: "campaign_changes".into(),
                    sql: MAPPING_CAMPAIGN_CHANGES.into(),
                },
            ],
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<BatchReader, ConnectorError> {
        let pattern = request.required_str(
            "path",
            "set it to the export files, e.g. `exports/ga4/events_*.json`",
        )?;
        let paths = files::expand(pattern)?;
        let skip = loopql_connector_sdk::diagnostics::skip_bad_rows(&request);
        let (schema, batches): (_, Box<dyn Iterator<Item = _> + Send>) =
            match request.table.as_str() {
                "events" => (
                    EVENTS_SCHEMA.clone(),
                    Box::new(files::batches(paths, move |p| {
                        events::read(p, skip).and_then(|e| events::events_batch(&e))
                    })),
                ),
                "event_params" => (
                    PARAMS_SCHEMA.clone(),
                    Box::new(files::batches(paths, move |p| {
                        events::read(p, skip).and_then(|e| events::params_batch(&e))
                    })),
                ),
                other => {
                    return Err(ConnectorError::UnknownTable {
                        table: other.into(),
                        available: "events, event_params".into(),
                    });
                }
            };
        request.finish(&schema, batches)
    }
}

loopql_connector_sdk::export_connector!(Ga4, Ga4);
