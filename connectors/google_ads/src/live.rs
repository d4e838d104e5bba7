//! Turns a scan request in `mode = "api"` into the live API's configuration: customers from the
//! options (dashes allowed), secrets from the environment or a 0600 credentials file (SDK
//! `secrets`; the keys of a `google-ads.yaml`), and the days from the query's `segments_date`
//! filters, else `since` / `until`, else the last 30 days (SDK `window`).

use crate::api::ApiConfig;
use loopql_connector_sdk::http::Retry;
use loopql_connector_sdk::oauth::{Grant, OAuth};
use loopql_connector_sdk::secrets::Secrets;
use loopql_connector_sdk::{ConnectorError, ScanRequest, window};

pub const DEFAULT_BASE_URL: &str = "https://googleads.googleapis.com";
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const DEFAULT_VERSION: &str = "v26";

/// A customer id as the API's URL wants it: digits only (`123-456-7890` → `1234567890`).
fn customer(id: &str, option: &str) -> Result<String, ConnectorError> {
    let digits: String = id.chars().filter(|c| *c != '-').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(ConnectorError::InvalidOption {
            name: option.into(),
            message: format!("expected a customer id like 123-456-7890, found `{id}`"),
        });
    }
    Ok(digits)
}

pub fn config(request: &ScanRequest) -> Result<ApiConfig, ConnectorError> {
    let text = |name: &str, default: &str| request.option_str(name).unwrap_or(default).to_string();
    let customer_ids = text("customer_ids", "")
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| customer(c, "customer_ids"))
        .collect::<Result<Vec<_>, _>>()?;
    if customer_ids.is_empty() {
        return Err(ConnectorError::InvalidOption {
            name: "customer_ids".into(),
            message:
                "name at least one Google Ads customer id (comma-separated) for mode = \"api\""
                    .into(),
        });
    }
    let secrets = Secrets::new(request)?;
    let login_customer_id = match request.option_str("login_customer_id") {
        Some(id) => Some(customer(id, "login_customer_id")?),
        None => secrets
            .optional("login_customer_id", "GOOGLE_ADS_LOGIN_CUSTOMER_ID")?
            .map(|id| customer(&id, "login_customer_id"))
            .transpose()?,
    };
    let (since, until) = window::days(request, "segments_date", 30)?;
    if since > until {
        return Err(ConnectorError::InvalidOption {
            name: "since".into(),
            message: format!("the range {since}..{until} is empty"),
        });
    }
    Ok(ApiConfig {
        base_url: text("api_base_url", DEFAULT_BASE_URL),
        version: text("api_version", DEFAULT_VERSION),
        customer_ids,
        login_customer_id,
        developer_token: secrets.required("developer_token", "GOOGLE_ADS_DEVELOPER_TOKEN")?,
        oauth: OAuth {
            platform: "Google OAuth".into(),
            token_url: text("token_url", DEFAULT_TOKEN_URL),
            client_id: secrets.required("client_id", "GOOGLE_ADS_CLIENT_ID")?,
            client_secret: secrets.required("client_secret", "GOOGLE_ADS_CLIENT_SECRET")?,
            grant: Grant::RefreshToken(
                secrets.required("refresh_token", "GOOGLE_ADS_REFRESH_TOKEN")?,
            ),
            extra: Vec::new(),
            hint: "the client id, client secret and refresh token (`client_id_env`, \
                   `client_secret_env`, `refresh_token_env` or the `credentials_file`)"
                .into(),
        },
        since: since.format("%Y-%m-%d").to_string(),
        until: until.format("%Y-%m-%d").to_string(),
        retry: Retry {
            attempts: request.whole_number(
                "max_attempts",
                u64::from(Retry::default().attempts),
                1..=20,
            )? as u32,
            ..Retry::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_lose_their_dashes_and_bad_ones_are_named() {
        assert_eq!(customer("123-456-7890", "x").unwrap(), "1234567890");
        let err = customer("12a", "customer_ids").unwrap_err().to_string();
        assert!(err.contains("option `customer_ids`"), "{err}");
        assert!(err.contains("found `12a`"), "{err}");
    }

    #[test]
    fn api_mode_needs_customers() {
        let request = ScanRequest::new("campaign_stats").with_option("mode", "api");
        let err = config(&request).err().unwrap().to_string();
        assert!(
            err.contains("name at least one Google Ads customer id"),
            "{err}"
        );
    }
}
