//! Turns a scan request into the live API's configuration: token from the environment, accounts
//! from the options, and the date range from the query's `date_start` filters when it has them
//! (SDK `window`).

use crate::api::ApiConfig;
use loopql_connector_sdk::http::Retry;
use loopql_connector_sdk::{ConnectorError, ScanRequest, window};

pub fn config(request: &ScanRequest) -> Result<ApiConfig, ConnectorError> {
    let text = |name: &str, default: &str| request.option_str(name).unwrap_or(default).to_string();
    let token_env = text("token_env", "META_ACCESS_TOKEN");
    let token = std::env::var(&token_env).map_err(|_| ConnectorError::InvalidOption {
        name: "token_env".into(),
        message: format!("${token_env} is not set; export the Meta access token in it"),
    })?;
    let account_ids: Vec<String> = text("account_ids", "")
        .split(',')
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    if account_ids.is_empty() {
        return Err(ConnectorError::InvalidOption {
            name: "account_ids".into(),
            message: "name at least one ad account".into(),
        });
    }
    let (since, until) = window::days(request, "date_start", 30)?;
    let level = text("level", "ad");
    if !matches!(level.as_str(), "account" | "campaign" | "adset" | "ad") {
        return Err(ConnectorError::InvalidOption {
            name: "level".into(),
            message: format!("expected account, campaign, adset or ad, found `{level}`"),
        });
    }
    Ok(ApiConfig {
        base_url: text("api_base_url", crate::DEFAULT_BASE_URL),
        account_ids,
        token,
        token_env,
        level,
        since: since.format("%Y-%m-%d").to_string(),
        until: until.format("%Y-%m-%d").to_string(),
        page_size: 500,
        retry: Retry::default(),
    })
}
