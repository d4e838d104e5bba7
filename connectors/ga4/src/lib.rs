//! loopql connector for the GA4 BigQuery export (`events_YYYYMMDD`) saved as NDJSON (BigQuery's
//! JSON export: int64 values as strings) or Parquet, with nested `event_params`,
//! `traffic_source`, `collected_traffic_source`, `device`, `geo`, `ecommerce`. Two raw tables: `events`, with the
//! parameters and nested fields loopql uses flattened into columns, and `event_params`, every
//! parameter in long form. With `mode = "api"` the same tables come from the export's BigQuery
//! dataset through the BigQuery REST API (`bigquery.rs`, `live.rs`).

mod bigquery;
mod columnar;
mod events;
mod flatten;
mod live;
#[cfg(test)]
mod test_parquet;

use columnar::Table;
use events::{EVENTS_SCHEMA, PARAMS_SCHEMA};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind, OptionSpec,
    Scalar, ScanRequest, TableSpec, files,
};

/// A session is user_pseudo_id + ga_session_id; its source is the first collected traffic source
/// of the session (GA4's session-scoped attribution), its landing page the first page. Events
/// with the same timestamp are ordered by their other columns, so the same export always gives
/// the same sessions (a re-sync then changes nothing). A purchase counts once: a transaction id
/// seen again (the tag fired twice, the thank-you page reloaded, even in a later session) is
/// the same purchase, counted in the session of its first event. Its revenue is in the event's
/// `currency` parameter (NULL: the client's reporting currency). Purchases are numbered among
/// purchase events only and joined to their sessions (numbering every event would sort all of
/// them); `first_by` is `first_value(… ORDER BY …) FILTER (WHERE … IS NOT NULL)` without keeping
/// the ordering keys per session.
const MAPPING_SESSIONS: &str = "SELECT
    s.client_id,
    'ga4' AS source_system,
    s.user_pseudo_id || '.' || CAST(s.ga_session_id AS VARCHAR) AS session_id,
    s.user_pseudo_id AS user_id,
    s.person_id,
    s.session_start,
    s.session_end,
    s.source,
    s.medium,
    s.campaign,
    s.term,
    s.content,
    s.click_id,
    s.landing_page,
    s.page_views,
    s.engaged,
    COALESCE(p.conversions, 0) AS conversions,
    COALESCE(p.revenue, 0.0) AS revenue,
    p.currency
FROM (
    SELECT
        client_id,
        user_pseudo_id,
        ga_session_id,
        max(user_id) AS person_id,
        min(event_timestamp) AS session_start,
        max(event_timestamp) AS session_end,
        first_by(manual_source, event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS source,
        first_by(manual_medium, event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS medium,
        first_by(manual_campaign_name, event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS campaign,
        first_by(manual_term, event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS term,
        first_by(manual_content, event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS content,
        first_by(gclid, event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS click_id,
        first_by(page_location, event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS landing_page,
        count(*) FILTER (WHERE event_name = 'page_view') AS page_views,
        COALESCE(bool_or(session_engaged), false) OR COALESCE(sum(engagement_time_msec), 0) > 10000 AS engaged
    FROM ga4.events
    WHERE ga_session_id IS NOT NULL AND user_pseudo_id IS NOT NULL
    GROUP BY client_id, user_pseudo_id, ga_session_id
) AS s
LEFT JOIN (
    SELECT
        client_id,
        user_pseudo_id,
        ga_session_id,
        count(*) AS conversions,
        sum(purchase_revenue) AS revenue,
        first_by(currency, event_timestamp, event_name, manual_source, manual_medium, manual_campaign_name, gclid, page_location) AS currency
    FROM (
        SELECT purchases.*,
               CASE WHEN transaction_id IS NOT NULL THEN row_number() OVER (
                   PARTITION BY client_id, transaction_id
                   ORDER BY event_timestamp, user_pseudo_id, ga_session_id, purchase_revenue, currency)
               ELSE 1 END AS nth
        FROM ga4.events AS purchases
        WHERE event_name = 'purchase'
    ) AS purchases
    WHERE nth = 1 AND ga_session_id IS NOT NULL AND user_pseudo_id IS NOT NULL
    GROUP BY client_id, user_pseudo_id, ga_session_id
) AS p
    ON p.client_id = s.client_id AND p.user_pseudo_id = s.user_pseudo_id AND p.ga_session_id = s.ga_session_id";

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
            options: options(),
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
                    changes: None,
                    schema: EVENTS_SCHEMA.clone(),
                },
                TableSpec {
                    name: "event_params".into(),
                    description: "one row per event parameter".into(),
                    filters: exact(&["event_date", "event_timestamp", "event_name", "key"]),
                    activity_date: Some("event_date".into()),
                    changes: None,
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
        if request.option_str("mode") == Some("api") {
            return scan_bigquery(request);
        }
        if let Some(other) = request.option_str("mode").filter(|m| *m != "files") {
            return Err(ConnectorError::InvalidOption {
                name: "mode".into(),
                message: format!("expected files or api, found `{other}`"),
            });
        }
        let pattern = request.required_str(
            "path",
            "set it to the export files, e.g. `exports/ga4/events_*.json` (or set mode = \"api\")",
        )?;
        let paths: Vec<_> = files::expand(pattern)?
            .into_iter()
            .filter(|p| day_of_file(p).is_none_or(|day| day_kept(&request, day)))
            .collect();
        let skip = loopql_connector_sdk::diagnostics::skip_bad_rows(&request);
        let (schema, table) = match request.table.as_str() {
            "events" => (EVENTS_SCHEMA.clone(), Table::Events),
            "event_params" => (PARAMS_SCHEMA.clone(), Table::Params),
            other => {
                return Err(ConnectorError::UnknownTable {
                    table: other.into(),
                    available: "events, event_params".into(),
                });
            }
        };
        let batches = files::streamed(paths, move |p, sink| columnar::stream(p, table, skip, sink));
        request.finish(&schema, batches)
    }
}

/// `mode = "api"`: the tables from the export's BigQuery dataset, queried when the host first
/// asks for a batch.
fn scan_bigquery(request: ScanRequest) -> Result<BatchReader, ConnectorError> {
    let (schema, table) = match request.table.as_str() {
        "events" => (EVENTS_SCHEMA.clone(), Table::Events),
        "event_params" => (PARAMS_SCHEMA.clone(), Table::Params),
        other => {
            return Err(ConnectorError::UnknownTable {
                table: other.into(),
                available: "events, event_params".into(),
            });
        }
    };
    let session = live::session(&request)?;
    let skip = loopql_connector_sdk::diagnostics::skip_bad_rows(&request);
    let batches = loopql_connector_sdk::fetched_later(move || live::read(session, table, skip));
    request.finish(&schema, batches)
}

/// The files mode's `path` and the options of `mode = "api"`.
fn options() -> Vec<OptionSpec> {
    use loopql_connector_sdk::serde_json::Value;
    [
        ("mode", OptionKind::String, Some(Value::from("files")), "files (export files) or api (the export's BigQuery dataset)"),
        ("path", OptionKind::Glob, None, "files mode: export files: NDJSON (.json, .ndjson, optionally .gz) or Parquet (.parquet)"),
        ("dataset", OptionKind::String, None, "api mode: the export's dataset, `project.analytics_123456789`"),
        ("project", OptionKind::String, None, "api mode: the project the query runs in (default: the dataset's)"),
        ("location", OptionKind::String, None, "api mode: the dataset's location (e.g. EU), when BigQuery needs it"),
        ("service_account_file", OptionKind::Path, None, "api mode: the service account's JSON key (0600; default $GOOGLE_APPLICATION_CREDENTIALS)"),
        ("since", OptionKind::String, None, "api mode: first day (YYYY-MM-DD) when the query names none; default 30 days ago"),
        ("until", OptionKind::String, None, "api mode: last day (YYYY-MM-DD); default today"),
        ("api_base_url", OptionKind::String, Some(Value::from(bigquery::DEFAULT_BASE_URL)), "api mode: the BigQuery API's base URL"),
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

/// The day of an export file named after its BigQuery table (`events_YYYYMMDD…`,
/// `events_intraday_YYYYMMDD…`): every event in it has that `event_date`.
fn day_of_file(path: &std::path::Path) -> Option<i32> {
    let name = path.file_name()?.to_str()?;
    let rest = name
        .strip_prefix("events_intraday_")
        .or_else(|| name.strip_prefix("events_"))?;
    let digits = rest.get(..8)?;
    let after = rest.as_bytes().get(8).copied();
    if after.is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    loopql_connector_sdk::text::parse_date(digits)
        .filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether the scan's `event_date` filters can hold on `day`: a file of another day is not
/// read at all (a one-week query reads a week of files).
fn day_kept(request: &ScanRequest, day: i32) -> bool {
    request.filters_on("event_date").all(|f| match &f.value {
        Scalar::Date(text) => loopql_connector_sdk::text::parse_date(text)
            .is_none_or(|bound| f.op.holds(day.cmp(&bound))),
        _ => true,
    })
}

loopql_connector_sdk::export_connector!(Ga4, Ga4);

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::{Filter, FilterOp};
    use std::path::Path;

    #[test]
    fn files_are_read_only_for_the_days_asked() {
        let day = |name: &str| day_of_file(Path::new(name));
        let jan2 = loopql_connector_sdk::text::parse_date("2024-01-02");
        assert_eq!(day("exports/events_20240102.json"), jan2);
        assert_eq!(day("events_intraday_20240102.json.gz"), jan2);
        assert_eq!(day("events_20240102_000000000000.json"), jan2);
        assert_eq!(day("events_202401020.json"), None, "not a day");
        assert_eq!(day("events_all.parquet"), None);
        assert_eq!(day("sessions_20240102.json"), None);

        let request = |op, value: &str| {
            let mut r = ScanRequest::new("events");
            r.filters.push(Filter {
                column: "event_date".into(),
                op,
                value: Scalar::Date(value.into()),
            });
            r
        };
        let jan2 = jan2.unwrap();
        assert!(day_kept(&request(FilterOp::GtEq, "2024-01-02"), jan2));
        assert!(!day_kept(&request(FilterOp::Gt, "2024-01-02"), jan2));
        assert!(!day_kept(&request(FilterOp::Lt, "2024-01-02"), jan2));
        assert!(day_kept(&request(FilterOp::Eq, "2024-01-02"), jan2));
        assert!(!day_kept(&request(FilterOp::Eq, "2024-01-03"), jan2));
        assert!(day_kept(&ScanRequest::new("events"), jan2));
    }

    #[test]
    fn a_scan_skips_the_files_of_other_days_but_never_finds_nothing_by_mistake() {
        let dir = tempfile::tempdir().unwrap();
        let line = |day: &str, ts: &str| {
            format!(
                "{{\"event_date\":\"{day}\",\"event_timestamp\":\"{ts}\",\"event_name\":\"page_view\"}}\n"
            )
        };
        std::fs::write(
            dir.path().join("events_20240101.json"),
            line("20240101", "1704067200000000"),
        )
        .unwrap();
        std::fs::write(dir.path().join("events_20240102.json"), "not json at all\n").unwrap();
        let mut request = ScanRequest::new("events")
            .with_option("path", format!("{}/events_*.json", dir.path().display()));
        request.filters.push(Filter {
            column: "event_date".into(),
            op: FilterOp::LtEq,
            value: Scalar::Date("2024-01-01".into()),
        });
        let rows: usize = Ga4
            .scan(request)
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 1, "the broken file of another day was never opened");
    }
}
