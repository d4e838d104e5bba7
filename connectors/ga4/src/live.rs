//! `mode = "api"`: the BigQuery session from a scan request — the service account key (the file
//! `service_account_file` or `$GOOGLE_APPLICATION_CREDENTIALS` names, refused unless only its
//! owner may read it), the export's `project.dataset`, and the days (the query's `event_date`
//! filters, else `since` / `until`, else the last 30 days; SDK `window`) — and a raw table read
//! through it: the events as the export's NDJSON, decoded by the file mode's own reader.

use crate::bigquery::{self, ApiConfig, ServiceAccount, Session};
use crate::columnar::{self, Table};
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::http::Retry;
use loopql_connector_sdk::{ConnectorError, ScanRequest, ahead, secrets, window};
use std::path::{Path, PathBuf};

pub fn session(request: &ScanRequest) -> Result<Session, ConnectorError> {
    let text = |name: &str| request.option_str(name).map(str::to_string);
    let key_path = text("service_account_file")
        .or_else(|| std::env::var("GOOGLE_APPLICATION_CREDENTIALS").ok())
        .ok_or_else(|| ConnectorError::InvalidOption {
            name: "service_account_file".into(),
            message: "name the service account's JSON key (or set $GOOGLE_APPLICATION_CREDENTIALS) for mode = \"api\"".into(),
        })?;
    let key = secrets::read_private(Path::new(&key_path), "service_account_file")?;
    let account = ServiceAccount::parse(&key, &key_path)?;
    let dataset = text("dataset").ok_or_else(|| ConnectorError::InvalidOption {
        name: "dataset".into(),
        message: "name the export's dataset, `project.analytics_123456789`, for mode = \"api\""
            .into(),
    })?;
    let project = match text("project") {
        Some(p) => p,
        None => dataset
            .split_once('.')
            .map(|(p, _)| p.to_string())
            .ok_or_else(|| ConnectorError::InvalidOption {
                name: "dataset".into(),
                message: format!("expected `project.dataset`, found `{dataset}`"),
            })?,
    };
    let (since, until) = window::days(request, "event_date", 30)?;
    Ok(Session::new(
        ApiConfig {
            base_url: text("api_base_url").unwrap_or_else(|| bigquery::DEFAULT_BASE_URL.into()),
            project,
            dataset,
            location: text("location"),
            since: since.format("%Y%m%d").to_string(),
            until: until.format("%Y%m%d").to_string(),
            page_rows: 50_000,
            retry: Retry::default(),
        },
        account,
    ))
}

/// A file in the temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The batches of `table` from the events the session fetches.
pub fn read(
    mut session: Session,
    table: Table,
    skip: bool,
) -> Result<Vec<RecordBatch>, ConnectorError> {
    let ndjson = session.events_ndjson()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "loopql-ga4-bigquery-{}-{nanos}.json",
        std::process::id()
    )));
    std::fs::write(&scratch.0, ndjson).map_err(|source| ConnectorError::Io {
        path: scratch.0.clone(),
        source,
    })?;
    ahead::collect(|sink| columnar::stream(&scratch.0, table, skip, sink))
}
