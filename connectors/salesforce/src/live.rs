//! `mode = "api"`: the live API's configuration from a scan request — the connected app's
//! client id and secret and (for the refresh-token grant) the refresh token from the
//! environment or a 0600 credentials file (SDK `secrets`) — and a raw table read through it.

use crate::api::{ApiConfig, Session};
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::csv_table::{self, Column, Dialect};
use loopql_connector_sdk::http::Retry;
use loopql_connector_sdk::oauth::{Grant, OAuth};
use loopql_connector_sdk::secrets::Secrets;
use loopql_connector_sdk::{ConnectorError, ScanRequest};
use std::path::Path;
use std::time::Duration;

pub const DEFAULT_LOGIN_URL: &str = "https://login.salesforce.com";
pub const DEFAULT_VERSION: &str = "v62.0";

pub fn config(request: &ScanRequest) -> Result<ApiConfig, ConnectorError> {
    let text = |name: &str, default: &str| request.option_str(name).unwrap_or(default).to_string();
    let secrets = Secrets::new(request)?;
    let grant = match text("grant", "refresh_token").as_str() {
        "refresh_token" => {
            Grant::RefreshToken(secrets.required("refresh_token", "SALESFORCE_REFRESH_TOKEN")?)
        }
        "client_credentials" => Grant::ClientCredentials,
        other => {
            return Err(ConnectorError::InvalidOption {
                name: "grant".into(),
                message: format!("expected refresh_token or client_credentials, found `{other}`"),
            });
        }
    };
    let attempts = request.whole_number("max_attempts", 5, 1..=20)? as u32;
    let version = text("api_version", DEFAULT_VERSION);
    let version = if version.starts_with('v') {
        version
    } else {
        format!("v{version}")
    };
    Ok(ApiConfig {
        oauth: OAuth {
            platform: "Salesforce".into(),
            token_url: format!(
                "{}/services/oauth2/token",
                text("login_url", DEFAULT_LOGIN_URL).trim_end_matches('/')
            ),
            client_id: secrets.required("client_id", "SALESFORCE_CLIENT_ID")?,
            client_secret: secrets.required("client_secret", "SALESFORCE_CLIENT_SECRET")?,
            grant,
            extra: Vec::new(),
            hint: "the connected app's client id and secret and the refresh token \
                   (`client_id_env`, `client_secret_env`, `refresh_token_env` or the \
                   `credentials_file`), and `login_url` (your My Domain URL for client credentials)"
                .into(),
        },
        instance_url: request.option_str("instance_url").map(str::to_string),
        version,
        retry: Retry {
            attempts,
            base: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        },
    })
}

/// The earliest `SystemModstamp` (µs since the epoch) the scan's filters allow, if they bound it
/// from below: a sync's incremental read.
pub fn modified_since(request: &ScanRequest) -> Option<i64> {
    loopql_connector_sdk::window::since_micros(request, MODIFIED)
}

/// The raw column of an object's last modification (`SystemModstamp`), where it has one.
pub const MODIFIED: &str = "system_modstamp";

/// The batches of `object`'s raw table (`columns`), read from the API: every record, or those
/// modified at or after `since` (µs since the epoch).
pub fn read(
    config: ApiConfig,
    object: &str,
    columns: &[Column],
    since: Option<i64>,
    dialect: &Dialect,
    check: csv_table::TextCheck<'_>,
) -> Result<Vec<RecordBatch>, ConnectorError> {
    let since = since.filter(|_| columns.iter().any(|c| c.name == MODIFIED));
    let text = Session::new(config).object_csv(object, columns, since)?;
    let label = format!("Salesforce {object} records");
    csv_table::read_text(Path::new(&label), &text, columns, dialect, Some(check))
}
