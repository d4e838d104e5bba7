//! `mode = "api"`: the Reporting API's configuration from a scan request — the customer and
//! accounts, the days (the query's `time_period` filters, else `since` / `until`, else the last
//! 30 days; SDK `window`), the developer token and OAuth2 client from the environment or a 0600
//! credentials file (SDK `secrets`) — and the raw table read through it.

use crate::api::{self, ApiConfig, Session};
use crate::{COLUMNS, DIALECT};
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::csv_table::{self, Dialect};
use loopql_connector_sdk::http::Retry;
use loopql_connector_sdk::oauth::{Grant, OAuth, Tokens};
use loopql_connector_sdk::secrets::Secrets;
use loopql_connector_sdk::{ConnectorError, ScanRequest, window};
use std::path::Path;
use std::time::Duration;

pub const DEFAULT_TOKEN_URL: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
const SCOPE: &str = "https://ads.microsoft.com/msads.manage offline_access";

fn ids(request: &ScanRequest, name: &str) -> Result<Vec<String>, ConnectorError> {
    let text = request.option_str(name).unwrap_or("");
    let ids: Vec<String> = text
        .split(',')
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    if ids.is_empty() || ids.iter().any(|a| !a.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ConnectorError::InvalidOption {
            name: name.into(),
            message: format!(
                "expected ids (digits, comma-separated) for mode = \"api\", found `{text}`"
            ),
        });
    }
    Ok(ids)
}

pub fn session(request: &ScanRequest) -> Result<Session, ConnectorError> {
    let text = |name: &str, default: &str| request.option_str(name).unwrap_or(default).to_string();
    let account_ids = ids(request, "account_ids")?;
    let customer_id = ids(request, "customer_id")?.remove(0);
    let (since, until) = window::days(request, "time_period", 30)?;
    let secrets = Secrets::new(request)?;
    let retry = Retry::default();
    let tokens = Tokens::new(
        OAuth {
            platform: "Microsoft identity platform".into(),
            token_url: text("token_url", DEFAULT_TOKEN_URL),
            client_id: secrets.required("client_id", "MSADS_CLIENT_ID")?,
            client_secret: secrets
                .optional("client_secret", "MSADS_CLIENT_SECRET")?
                .unwrap_or_default(),
            grant: Grant::RefreshToken(secrets.required("refresh_token", "MSADS_REFRESH_TOKEN")?),
            extra: vec![("scope".into(), SCOPE.into())],
            hint: "the client id (and secret, for a web app) and the refresh token \
                   (`client_id_env`, `client_secret_env`, `refresh_token_env` or the \
                   `credentials_file`)"
                .into(),
        },
        retry,
    );
    let poll_every = request.whole_number("poll_seconds", 5, 0..=3600)?;
    Ok(Session::new(
        ApiConfig {
            base_url: text("api_base_url", api::DEFAULT_BASE_URL),
            developer_token: secrets.required("developer_token", "MSADS_DEVELOPER_TOKEN")?,
            customer_id,
            account_ids,
            since,
            until,
            poll_every: Duration::from_secs(poll_every),
            poll_for: Duration::from_secs(600),
            retry,
        },
        tokens,
    ))
}

/// The raw table's batches from one report.
pub fn read(mut session: Session, dialect: &Dialect) -> Result<Vec<RecordBatch>, ConnectorError> {
    match session.report()? {
        None => Ok(Vec::new()),
        Some(text) => csv_table::read_text(
            Path::new("Microsoft Advertising campaign performance report"),
            &text,
            COLUMNS,
            dialect,
            None,
        ),
    }
}

/// The export dialect with the scan's bad-row setting.
pub fn dialect(skip: bool) -> Dialect {
    Dialect {
        skip_bad_rows: skip,
        ..DIALECT
    }
}
