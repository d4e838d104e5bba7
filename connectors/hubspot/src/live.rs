//! `mode = "api"`: the live API's configuration from a scan request — the private app's token
//! from the environment or a 0600 credentials file (SDK `secrets`), the pace and the retries —
//! and each raw table read through it.

use crate::api::{self, ApiConfig, Session};
use crate::tables::{ASSOCIATIONS, CONTACTS, DEALS};
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::csv_table::{self, Column, Dialect};
use loopql_connector_sdk::http::Retry;
use loopql_connector_sdk::secrets::Secrets;
use loopql_connector_sdk::{ConnectorError, ScanRequest};
use std::path::Path;
use std::time::Duration;

pub fn config(request: &ScanRequest) -> Result<ApiConfig, ConnectorError> {
    let secrets = Secrets::new(request)?;
    let var = request
        .option_str("access_token_env")
        .unwrap_or("HUBSPOT_ACCESS_TOKEN");
    let token = secrets.required("access_token", "HUBSPOT_ACCESS_TOKEN")?;
    let token_from = match request.option_str("credentials_file") {
        Some(file) => format!("${var} or `access_token` in {file}"),
        None => format!("${var}"),
    };
    Ok(ApiConfig {
        base_url: request
            .option_str("api_base_url")
            .unwrap_or(api::DEFAULT_BASE_URL)
            .to_string(),
        token,
        token_from,
        page_size: 100,
        search_cap: crate::search::QUERY_CAP,
        burst: request.whole_number("requests_per_10s", 100, 1..=1000)? as usize,
        window: Duration::from_secs(10),
        retry: Retry {
            attempts: request.whole_number("max_attempts", 6, 1..=20)? as u32,
            base: Duration::from_secs(1),
            max_wait: Duration::from_secs(10),
        },
    })
}

/// The modification property of `table`'s records (contacts, deals).
pub fn modified_property(table: &str) -> Option<&'static str> {
    match table {
        "contacts" => Some("lastmodifieddate"),
        "deals" => Some("hs_lastmodifieddate"),
        _ => None,
    }
}

/// The earliest modification time (ms since the epoch) the scan's filters allow on `table`'s
/// modification property, if they bound it from below: a sync's incremental read.
pub fn modified_since(request: &ScanRequest) -> Option<i64> {
    let column = modified_property(&request.table)?;
    loopql_connector_sdk::window::since_micros(request, column).map(|m| m.div_euclid(1000))
}

/// The batches of raw table `table`, read from the API: every record, or (`since`, ms) the
/// records modified since then, through the search endpoint.
pub fn read(
    config: ApiConfig,
    table: &str,
    since: Option<i64>,
    dialect: &Dialect,
    check: csv_table::TextCheck<'_>,
) -> Result<Vec<RecordBatch>, ConnectorError> {
    let mut session = Session::new(config);
    let names = |columns: &[Column]| -> Vec<&'static str> {
        // `archived` is the record's state, not a property.
        columns
            .iter()
            .map(|c| c.name)
            .filter(|n| *n != "archived")
            .collect()
    };
    let records = |session: &mut Session, object: &str, columns: &[Column]| match (
        since,
        modified_property(object),
    ) {
        (Some(ms), Some(modified)) => {
            let mut records = session.modified_since(object, &names(columns), modified, ms)?;
            records.extend(session.archived_since(object, &names(columns), modified, ms)?);
            Ok(records)
        }
        _ => session.records(object, &names(columns)),
    };
    let (columns, label, text): (&[Column], &str, String) = match table {
        "contacts" => {
            let records = records(&mut session, "contacts", CONTACTS)?;
            (
                CONTACTS,
                "HubSpot /crm/v3/objects/contacts",
                api::csv(CONTACTS, &records),
            )
        }
        "deals" => {
            let records = records(&mut session, "deals", DEALS)?;
            (
                DEALS,
                "HubSpot /crm/v3/objects/deals",
                api::csv(DEALS, &records),
            )
        }
        _ => {
            let deals = session.records("deals", &["hs_object_id"])?;
            let ids: Vec<String> = deals.into_iter().map(|(id, _)| id).collect();
            let pairs = session.deal_contacts(&ids)?;
            (
                ASSOCIATIONS,
                "HubSpot /crm/v4/associations/deals/contacts",
                api::pairs_csv(&pairs),
            )
        }
    };
    csv_table::read_text(Path::new(label), &text, columns, dialect, Some(check))
}
