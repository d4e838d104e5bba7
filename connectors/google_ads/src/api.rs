//! The live Google Ads API: `POST {base}/{version}/customers/{id}/googleAds:searchStream` with a
//! GAQL query over `campaign` by `segments.date`, the `developer-token` and (for a manager
//! account) `login-customer-id` headers, and an OAuth2 access token got from the refresh token
//! at the token endpoint — again when it expires, or once when a call answers 401
//! `UNAUTHENTICATED`. 429 and 5xx are retried with backoff (SDK `http`); a `GoogleAdsFailure`
//! is reported with its `errorCode` and message. The answer is the searchStream JSON the file
//! mode reads, parsed by the same code. Tokens: SDK `oauth`.

use crate::rows::CampaignRow;
use loopql_connector_sdk::ConnectorError;
use loopql_connector_sdk::http::{self, Answer, Retry};
use loopql_connector_sdk::oauth::{OAuth, Tokens};
use loopql_connector_sdk::serde_json::{self, Value};
use std::path::Path;

/// The campaign fields the raw table needs (GAQL names).
pub const FIELDS: &str = "segments.date, customer.id, customer.currency_code, campaign.id, \
    campaign.name, campaign.advertising_channel_type, metrics.impressions, metrics.clicks, \
    metrics.cost_micros, metrics.conversions, metrics.conversions_value";

#[derive(Clone)]
pub struct ApiConfig {
    /// `https://googleads.googleapis.com`
    pub base_url: String,
    /// `v26`
    pub version: String,
    pub customer_ids: Vec<String>,
    pub login_customer_id: Option<String>,
    pub developer_token: String,
    pub oauth: OAuth,
    /// First and last day, `YYYY-MM-DD`.
    pub since: String,
    pub until: String,
    pub retry: Retry,
}

/// The GAQL query of a date range.
pub fn gaql(since: &str, until: &str) -> String {
    format!(
        "SELECT {FIELDS} FROM campaign WHERE segments.date BETWEEN '{since}' AND '{until}' \
         ORDER BY segments.date"
    )
}

/// A session with the API: the agent and the access token.
pub struct Session {
    config: ApiConfig,
    agent: loopql_connector_sdk::ureq::Agent,
    tokens: Tokens,
}

impl Session {
    pub fn new(config: ApiConfig) -> Self {
        let tokens = Tokens::new(config.oauth.clone(), config.retry);
        Self {
            config,
            agent: http::agent(),
            tokens,
        }
    }

    /// One searchStream call for `customer`, retried, with one token refresh on a 401.
    fn search_stream(&mut self, customer: &str) -> Result<Answer, ConnectorError> {
        let url = format!(
            "{}/{}/customers/{customer}/googleAds:searchStream",
            self.config.base_url.trim_end_matches('/'),
            self.config.version
        );
        let label = format!("Google Ads searchStream for customer {customer}");
        let body = serde_json::json!({ "query": gaql(&self.config.since, &self.config.until) })
            .to_string();
        let mut refreshed = false;
        loop {
            let token = self.tokens.get(&self.agent)?.access.clone();
            let c = &self.config;
            let answer = http::retrying(&label, c.retry, ads_message, || {
                let mut call = self
                    .agent
                    .post(&url)
                    .header("Authorization", &format!("Bearer {token}"))
                    .header("developer-token", &c.developer_token)
                    .header("Content-Type", "application/json");
                if let Some(login) = &c.login_customer_id {
                    call = call.header("login-customer-id", login);
                }
                http::answer(call.send(&body))
            })?;
            match answer.status {
                401 if !refreshed => {
                    refreshed = true;
                    self.tokens.forget();
                }
                200..=299 => return Ok(answer),
                401 => {
                    return Err(ConnectorError::Other(format!(
                        "{label}: the API refused a freshly refreshed access token (HTTP 401): {}",
                        ads_message(&answer.body)
                    )));
                }
                status => {
                    return Err(ConnectorError::Other(format!(
                        "{label} failed (HTTP {status}): {}",
                        ads_message(&answer.body)
                    )));
                }
            }
        }
    }

    /// Every campaign × day row of `customer` in the configured range.
    pub fn fetch(
        &mut self,
        customer: &str,
        skip: bool,
    ) -> Result<Vec<CampaignRow>, ConnectorError> {
        let answer = self.search_stream(customer)?;
        let label = format!(
            "{}/{}/customers/{customer}/googleAds:searchStream",
            self.config.base_url.trim_end_matches('/'),
            self.config.version
        );
        // An error can also arrive inside a 200 stream, as an element `{"error": ...}`.
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&answer.body)
            && let Some(failed) = items.iter().find(|i| i.get("error").is_some())
        {
            return Err(ConnectorError::Other(format!(
                "Google Ads searchStream for customer {customer} failed mid-stream: {}",
                ads_message(&failed.to_string())
            )));
        }
        let rows = crate::search_stream::parse(
            Path::new(&label),
            &answer.body,
            "the Google Ads API's searchStream answer",
            skip,
        )?;
        loopql_connector_sdk::progress::page(rows.len() as u64);
        Ok(rows)
    }
}

/// A Google API error body (`{"error": {...}}`, or a stream `[{"error": {...}}]`) as text: its
/// status and message, then each `GoogleAdsFailure` error as `errorCode: message`.
pub fn ads_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return body.chars().take(300).collect();
    };
    let error = match &v {
        Value::Array(items) => items.iter().find_map(|i| i.get("error")),
        other => other.get("error"),
    };
    let Some(error) = error else {
        return body.chars().take(300).collect();
    };
    let mut out = format!(
        "{} {}",
        error["status"].as_str().unwrap_or("ERROR"),
        error["message"].as_str().unwrap_or("")
    );
    let failures = error["details"].as_array().into_iter().flatten();
    for failure in failures.filter(|d| {
        d["@type"]
            .as_str()
            .is_some_and(|t| t.ends_with("GoogleAdsFailure"))
    }) {
        for e in failure["errors"].as_array().into_iter().flatten() {
            let code = e["errorCode"]
                .as_object()
                .and_then(|o| o.iter().next())
                .map(|(kind, value)| format!("{kind}.{}", value.as_str().unwrap_or("?")))
                .unwrap_or_else(|| "unknown".into());
            out.push_str(&format!(
                "; {code}: {}",
                e["message"].as_str().unwrap_or("")
            ));
        }
        if let Some(id) = failure["requestId"].as_str() {
            out.push_str(&format!(" (request id {id})"));
        }
    }
    out
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
