//! `mode = "api"`: the live API's configuration from a scan request — the accounts, the days
//! (the query's `date` filters, else `since` / `until`, else the last 30 days; SDK `window`),
//! the token (an access token, or a refresh token with the app's client id and secret; SDK
//! `secrets`) — and each raw table read through it, page by page, by the file mode's code.

use crate::analytics;
use crate::api::{self, ApiConfig, Session, Token};
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::http::Retry;
use loopql_connector_sdk::oauth::{Grant, OAuth, Tokens};
use loopql_connector_sdk::secrets::Secrets;
use loopql_connector_sdk::{ConnectorError, ScanRequest, window};
use std::path::Path;

pub const DEFAULT_TOKEN_URL: &str = "https://www.linkedin.com/oauth/v2/accessToken";

pub fn session(request: &ScanRequest) -> Result<Session, ConnectorError> {
    let text = |name: &str, default: &str| request.option_str(name).unwrap_or(default).to_string();
    let account_ids: Vec<String> = text("account_ids", "")
        .split(',')
        .map(|a| {
            a.trim()
                .trim_start_matches("urn:li:sponsoredAccount:")
                .to_string()
        })
        .filter(|a| !a.is_empty())
        .collect();
    if account_ids.is_empty()
        || account_ids
            .iter()
            .any(|a| !a.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ConnectorError::InvalidOption {
            name: "account_ids".into(),
            message: format!(
                "expected ad account ids (comma-separated digits) for mode = \"api\", found `{}`",
                text("account_ids", "")
            ),
        });
    }
    let (since, until) = window::days(request, "date", 30)?;
    let retry = Retry::default();
    let secrets = Secrets::new(request)?;
    let token = match secrets.optional("refresh_token", "LINKEDIN_REFRESH_TOKEN")? {
        Some(refresh) => Token::Refreshed(Box::new(Tokens::new(
            OAuth {
                platform: "LinkedIn".into(),
                token_url: text("token_url", DEFAULT_TOKEN_URL),
                client_id: secrets.required("client_id", "LINKEDIN_CLIENT_ID")?,
                client_secret: secrets.required("client_secret", "LINKEDIN_CLIENT_SECRET")?,
                grant: Grant::RefreshToken(refresh),
                extra: Vec::new(),
                hint: "the app's client id and secret and the refresh token (`client_id_env`, \
                       `client_secret_env`, `refresh_token_env` or the `credentials_file`)"
                    .into(),
            },
            retry,
        ))),
        None => {
            let var = text("access_token_env", "LINKEDIN_ACCESS_TOKEN");
            Token::Fixed {
                token: secrets.required("access_token", "LINKEDIN_ACCESS_TOKEN")?,
                from: format!("${var} (or `access_token` in the credentials file)"),
            }
        }
    };
    Ok(Session::new(
        ApiConfig {
            base_url: text("api_base_url", api::DEFAULT_BASE_URL),
            version: text("api_version", api::DEFAULT_VERSION),
            account_ids,
            since,
            until,
            page_size: 1000,
            retry,
        },
        token,
    ))
}

/// The batches of raw table `table`, one per page.
pub fn read(
    mut session: Session,
    table: &str,
    currency: &str,
    skip: bool,
) -> Result<Vec<RecordBatch>, ConnectorError> {
    let pages = match table {
        "ad_analytics" => session.analytics()?,
        _ => session.campaigns()?,
    };
    pages
        .iter()
        .map(|(label, body)| match table {
            "ad_analytics" => analytics::analytics_text(Path::new(label), body, currency, skip),
            _ => analytics::campaigns_text(Path::new(label), body, skip),
        })
        .collect()
}
