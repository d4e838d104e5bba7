//! loopql connector for Snowplow atomic events: exported with a header row (`atomic.events`
//! unloaded from the warehouse as CSV or TSV), or read where the Snowplow loader keeps them, a
//! PostgreSQL `atomic.events` table (`mode = "postgres"`, with the projection, the filters and
//! the limit sent as SQL). One raw table, `events`, with the fields loopql uses for sessions,
//! touchpoints and transactions.

use loopql_connector_sdk::csv_table::{self, Column, Dialect, Empty, Kind};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind, OptionSpec,
    ScanRequest, TableSpec, files, pg,
};

/// A session is domain_sessionid; its source is the first marketing (mkt_*) source, else the
/// first referer classified by Snowplow's referer parser (search -> organic, unknown -> referral);
/// page pings (the tracker's heartbeat) mark it engaged. Events with the same
/// derived_tstamp are ordered by event_id, so the same export always gives the same sessions. An
/// order counts once: the first transaction event of a tr_orderid (a duplicated event, a
/// reloaded confirmation page) carries it, in tr_currency (NULL: the reporting currency). Orders
/// are numbered among transaction events only and joined to their sessions (numbering every
/// event would sort all of them); `first_by` is `first_value(… ORDER BY …) FILTER (WHERE … IS
/// NOT NULL)` without keeping the ordering keys per session; source and medium are one value
/// (a struct), so both come from the first event with a source even when its medium is NULL.
const MAPPING_SESSIONS: &str = "SELECT
    s.client_id,
    'snowplow' AS source_system,
    s.domain_sessionid AS session_id,
    s.domain_userid AS user_id,
    s.person_id,
    s.session_start,
    s.session_end,
    s.traffic['source'] AS source,
    s.traffic['medium'] AS medium,
    s.campaign,
    s.term,
    s.content,
    s.click_id,
    s.landing_page,
    s.page_views,
    s.engaged,
    COALESCE(o.conversions, 0) AS conversions,
    COALESCE(o.revenue, 0.0) AS revenue,
    o.currency
FROM (
    SELECT
        client_id,
        domain_sessionid,
        domain_userid,
        max(user_id) AS person_id,
        min(derived_tstamp) AS session_start,
        max(derived_tstamp) AS session_end,
        first_by(named_struct(
                'source', COALESCE(mkt_source, refr_source),
                'medium', COALESCE(mkt_medium, CASE refr_medium WHEN 'search' THEN 'organic' WHEN 'unknown' THEN 'referral' ELSE refr_medium END)),
            derived_tstamp, event_id)
            FILTER (WHERE COALESCE(mkt_source, refr_source) IS NOT NULL AND COALESCE(refr_medium, '') <> 'internal') AS traffic,
        first_by(mkt_campaign, derived_tstamp, event_id) AS campaign,
        first_by(mkt_term, derived_tstamp, event_id) AS term,
        first_by(mkt_content, derived_tstamp, event_id) AS content,
        first_by(mkt_clickid, derived_tstamp, event_id) AS click_id,
        first_by(page_url, derived_tstamp, event_id) AS landing_page,
        count(*) FILTER (WHERE event_name = 'page_view') AS page_views,
        count(*) FILTER (WHERE event_name = 'page_ping') > 0 AS engaged
    FROM snowplow.events
    WHERE domain_sessionid IS NOT NULL
    GROUP BY client_id, domain_sessionid, domain_userid
) AS s
LEFT JOIN (
    SELECT
        client_id,
        domain_sessionid,
        domain_userid,
        count(*) AS conversions,
        sum(tr_total) AS revenue,
        first_by(tr_currency, derived_tstamp, event_id) AS currency
    FROM (
        SELECT orders.*,
               row_number() OVER (PARTITION BY client_id, tr_orderid ORDER BY derived_tstamp, event_id) AS nth
        FROM snowplow.events AS orders
        WHERE tr_orderid IS NOT NULL
    ) AS orders
    WHERE nth = 1 AND domain_sessionid IS NOT NULL
    GROUP BY client_id, domain_sessionid, domain_userid
) AS o
    ON o.client_id = s.client_id AND o.domain_sessionid = s.domain_sessionid
    AND o.domain_userid IS NOT DISTINCT FROM s.domain_userid";

/// Events after a session's first campaign-bearing event whose mkt_campaign differs from the
/// previous campaign-bearing event's.
const MAPPING_CAMPAIGN_CHANGES: &str = "SELECT
    client_id,
    'snowplow' AS source_system,
    domain_sessionid AS session_id,
    derived_tstamp AS touch_ts,
    mkt_source AS source,
    mkt_medium AS medium,
    mkt_campaign AS campaign,
    mkt_clickid AS click_id
FROM (
    SELECT client_id, domain_sessionid, derived_tstamp, mkt_source, mkt_medium, mkt_campaign, mkt_clickid,
           lag(lower(trim(mkt_campaign))) OVER (
               PARTITION BY client_id, domain_sessionid ORDER BY derived_tstamp, event_id) AS previous_campaign,
           row_number() OVER (PARTITION BY client_id, domain_sessionid ORDER BY derived_tstamp, event_id) AS n
    FROM snowplow.events
    WHERE domain_sessionid IS NOT NULL AND nullif(trim(mkt_campaign), '') IS NOT NULL
) AS campaign_events
WHERE n > 1 AND lower(trim(mkt_campaign)) <> previous_campaign";

const fn text(name: &'static str, headers: &'static [&'static str]) -> Column {
    Column::new(name, headers, Kind::Utf8).optional()
}

pub const COLUMNS: &[Column] = &[
    Column::new("event_id", &["event_id"], Kind::Utf8).empty(Empty::Error),
    text("app_id", &["app_id"]),
    Column::new("collector_tstamp", &["collector_tstamp"], Kind::Timestamp).optional(),
    Column::new("derived_tstamp", &["derived_tstamp"], Kind::Timestamp).empty(Empty::Error),
    Column::new("event_name", &["event_name"], Kind::Utf8),
    text("user_id", &["user_id"]),
    text("domain_userid", &["domain_userid"]),
    text("domain_sessionid", &["domain_sessionid"]),
    Column::new("domain_sessionidx", &["domain_sessionidx"], Kind::Int64).optional(),
    text("page_url", &["page_url"]),
    text("page_referrer", &["page_referrer"]),
    text("refr_medium", &["refr_medium"]),
    text("refr_source", &["refr_source"]),
    text("mkt_medium", &["mkt_medium"]),
    text("mkt_source", &["mkt_source"]),
    text("mkt_campaign", &["mkt_campaign"]),
    text("mkt_term", &["mkt_term"]),
    text("mkt_content", &["mkt_content"]),
    text("mkt_clickid", &["mkt_clickid"]),
    text("mkt_network", &["mkt_network"]),
    text("tr_orderid", &["tr_orderid"]),
    Column::new("tr_total", &["tr_total"], Kind::Float64).optional(),
    text("tr_currency", &["tr_currency"]),
];

#[derive(Debug, Default)]
pub struct Snowplow;

fn option(name: &str, kind: OptionKind, default: Option<&str>, description: &str) -> OptionSpec {
    OptionSpec {
        name: name.into(),
        kind,
        required: false,
        default: default.map(Into::into),
        description: description.into(),
    }
}

fn options() -> Vec<OptionSpec> {
    let mut options = vec![
        option(
            "mode",
            OptionKind::String,
            Some("files"),
            "files (exports, `path`) or postgres (the loader's `atomic.events` table in PostgreSQL)",
        ),
        option(
            "path",
            OptionKind::Glob,
            None,
            "files mode: event files (.csv, .tsv, optionally .gz)",
        ),
        option(
            "format",
            OptionKind::String,
            Some("auto"),
            "files mode: auto (.tsv is tab-separated), csv or tsv",
        ),
    ];
    options.extend(pg::server_options("postgres mode: "));
    options.push(option(
        "schema",
        OptionKind::String,
        Some("atomic"),
        "postgres mode: schema of the events table",
    ));
    options.push(option(
        "table",
        OptionKind::String,
        Some("events"),
        "postgres mode: the events table",
    ));
    options
}

/// `mode = "postgres"`: the loader's table, every filter and the limit sent as SQL.
fn scan_postgres(request: &ScanRequest) -> Result<BatchReader, ConnectorError> {
    let server = pg::Server::from_request(request)?;
    let at = pg::Stored {
        schema: request.option_str("schema").unwrap_or("atomic"),
        table: request.option_str("table").unwrap_or("events"),
        schema_option: "schema",
        table_option: "table",
    };
    pg::scan(&server, &at, COLUMNS, request)
}

fn dialect(path: &std::path::Path, format: &str, skip_bad_rows: bool) -> Dialect {
    let tab = match format {
        "tsv" => true,
        "csv" => false,
        _ => files::format_extension(path).is_some_and(|e| e == "tsv"),
    };
    Dialect {
        delimiter: if tab { b'\t' } else { b',' },
        skip_bad_rows,
        ..Dialect::default()
    }
}

impl Connector for Snowplow {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "snowplow".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Snowplow atomic events: exports with a header row (CSV or TSV), or the loader's PostgreSQL table (mode = \"postgres\")".into(),
            options: options(),
            tables: vec![TableSpec {
                name: "events".into(),
                description: "one row per event".into(),
                filters: [
                    "derived_tstamp",
                    "event_name",
                    "domain_userid",
                    "domain_sessionid",
                ]
                .iter()
                .map(|c| FilterSpec {
                    column: (*c).into(),
                    exact: true,
                })
                .collect(),
                activity_date: Some("derived_tstamp".into()),
                changes: None,
                schema: csv_table::schema(COLUMNS),
            }],
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
        if request.table != "events" {
            return Err(ConnectorError::UnknownTable {
                table: request.table,
                available: "events".into(),
            });
        }
        match request.option_str("mode").unwrap_or("files") {
            "files" => {}
            "postgres" => return scan_postgres(&request),
            other => {
                return Err(ConnectorError::InvalidOption {
                    name: "mode".into(),
                    message: format!("expected files or postgres, found `{other}`"),
                });
            }
        }
        let format = request.option_str("format").unwrap_or("auto").to_string();
        if !matches!(format.as_str(), "auto" | "csv" | "tsv") {
            return Err(ConnectorError::InvalidOption {
                name: "format".into(),
                message: format!("expected auto, csv or tsv, found `{format}`"),
            });
        }
        let pattern = request.required_str(
            "path",
            "set it to the event files, or set mode = \"postgres\" and the server's options",
        )?;
        let paths = files::expand(pattern)?;
        let skip = loopql_connector_sdk::diagnostics::skip_bad_rows(&request);
        let batches = files::streamed(paths, move |p, sink| {
            csv_table::stream_batches(p, COLUMNS, &dialect(p, &format, skip), None, sink)
        });
        request.finish(&csv_table::schema(COLUMNS), batches)
    }
}

loopql_connector_sdk::export_connector!(Snowplow, Snowplow);

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::arrow::array::{Array, Float64Array, StringArray};
    use loopql_connector_sdk::{Filter, FilterOp, Scalar};

    const TSV: &str = "event_id\tderived_tstamp\tevent_name\tdomain_userid\tdomain_sessionid\tmkt_source\tmkt_medium\tmkt_clickid\ttr_orderid\ttr_total\n\
e1\t2024-01-01 10:00:00.000\tpage_view\td1\ts1\tgoogle\tcpc\tgclid-1\t\t\n\
e2\t2024-01-01 10:05:00.000\ttransaction\td1\ts1\t\t\t\to-1\t99.5\n";

    fn scan(
        filters: Vec<Filter>,
    ) -> Result<Vec<loopql_connector_sdk::arrow::record_batch::RecordBatch>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.tsv");
        std::fs::write(&path, TSV).unwrap();
        let mut request =
            ScanRequest::new("events").with_option("path", path.to_string_lossy().into_owned());
        request.filters = filters;
        Snowplow
            .scan(request)
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn tab_separated_by_extension_with_missing_columns_null() {
        let b = &scan(vec![]).unwrap()[0];
        assert_eq!(b.num_rows(), 2);
        let col = |n: &str| b.column(b.schema().index_of(n).unwrap()).clone();
        let total = col("tr_total");
        let total = total.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!(total.is_null(0));
        assert_eq!(total.value(1), 99.5);
        assert!(col("user_id").is_null(0), "absent column is NULL");
        let click = col("mkt_clickid");
        assert_eq!(
            click
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "gclid-1"
        );
    }

    #[test]
    fn exact_filter_on_event_name() {
        let filters = vec![Filter {
            column: "event_name".into(),
            op: FilterOp::Eq,
            value: Scalar::Utf8("transaction".into()),
        }];
        let rows: usize = scan(filters).unwrap().iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 1);
    }
}
