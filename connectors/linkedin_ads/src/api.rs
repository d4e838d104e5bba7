//! The live LinkedIn Marketing API (`mode = "api"`), versioned REST with Rest.li 2.0:
//! `GET /rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY&dateRange=(…)&accounts=List(…)`
//! and `GET /rest/adAccounts/{id}/adCampaigns?q=search`, both paged by `start` / `count`, with
//! the `LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0` headers. The token is an access
//! token, or one got from a refresh token (SDK `oauth`; a 401 then gets one fresh token). 429 and
//! 5xx are retried (SDK `http`). Each page is read by the same code as a saved response file.

use loopql_connector_sdk::ConnectorError;
use loopql_connector_sdk::http::{self, Retry};
use loopql_connector_sdk::oauth::Tokens;
use loopql_connector_sdk::serde_json::{self, Value};
use loopql_connector_sdk::ureq;

pub const DEFAULT_BASE_URL: &str = "https://api.linkedin.com";
pub const DEFAULT_VERSION: &str = "202411";

/// The metrics the raw table holds.
pub const FIELDS: &str = "dateRange,pivotValues,impressions,clicks,costInLocalCurrency,costInUsd,\
externalWebsiteConversions,conversionValueInLocalCurrency,oneClickLeads";

/// Where the access token comes from.
pub enum Token {
    /// A token as given; `from` says where, for messages.
    Fixed {
        token: String,
        from: String,
    },
    Refreshed(Box<Tokens>),
}

pub struct ApiConfig {
    pub base_url: String,
    /// `LinkedIn-Version`, `YYYYMM`.
    pub version: String,
    pub account_ids: Vec<String>,
    /// First and last day.
    pub since: chrono::NaiveDate,
    pub until: chrono::NaiveDate,
    pub page_size: u32,
    pub retry: Retry,
}

/// A session with the API.
pub struct Session {
    config: ApiConfig,
    agent: ureq::Agent,
    token: Token,
}

/// `message` (and `serviceErrorCode`) of a LinkedIn error body, or its start.
fn message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let m = v["message"].as_str()?;
            Some(match v["serviceErrorCode"].as_i64() {
                Some(code) => format!("{m} (serviceErrorCode {code})"),
                None => m.to_string(),
            })
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}

impl Session {
    pub fn new(config: ApiConfig, token: Token) -> Self {
        Self {
            config,
            agent: http::agent(),
            token,
        }
    }

    fn access(&mut self) -> Result<String, ConnectorError> {
        match &mut self.token {
            Token::Fixed { token, .. } => Ok(token.clone()),
            Token::Refreshed(tokens) => Ok(tokens.get(&self.agent)?.access.clone()),
        }
    }

    /// GET `path` (with its query), retried; one fresh token on a 401 when it can be refreshed.
    fn get(&mut self, path: &str, label: &str) -> Result<String, ConnectorError> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let mut refreshed = false;
        loop {
            let auth = format!("Bearer {}", self.access()?);
            let (agent, version) = (&self.agent, &self.config.version);
            let answer = http::retrying(label, self.config.retry, message, || {
                http::answer(
                    agent
                        .get(&url)
                        .header("Authorization", &auth)
                        .header("LinkedIn-Version", version)
                        .header("X-Restli-Protocol-Version", "2.0.0")
                        .call(),
                )
            })?;
            match (answer.status, &mut self.token) {
                (200..=299, _) => return Ok(answer.body),
                (401, Token::Refreshed(tokens)) if !refreshed => {
                    refreshed = true;
                    tokens.forget();
                }
                (401, token) => {
                    let from = match token {
                        Token::Fixed { from, .. } => from.clone(),
                        Token::Refreshed(_) => "the refresh token".into(),
                    };
                    return Err(ConnectorError::Other(format!(
                        "{label}: LinkedIn refused the access token (HTTP 401): {}; check {from} \
                         (a token with the r_ads_reporting and r_ads scopes; they last 60 days)",
                        message(&answer.body)
                    )));
                }
                (status, _) => {
                    return Err(ConnectorError::Other(format!(
                        "{label} failed (HTTP {status}): {}",
                        message(&answer.body)
                    )));
                }
            }
        }
    }

    /// `(label, body)` of every page of `path` (a query without `start` / `count`), following
    /// `start` until a page comes back short or `paging.total` is reached.
    fn pages(&mut self, path: &str, what: &str) -> Result<Vec<(String, String)>, ConnectorError> {
        let count = self.config.page_size.max(1) as usize;
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            let page = format!("{path}&start={start}&count={count}");
            let label = format!("LinkedIn {what}, page {}", out.len() + 1);
            let body = self.get(&page, &label)?;
            let parsed: Option<Value> = serde_json::from_str(&body).ok();
            let n = parsed
                .as_ref()
                .and_then(|v| v["elements"].as_array())
                .map_or(0, Vec::len);
            let total = parsed
                .as_ref()
                .and_then(|v| v["paging"]["total"].as_u64())
                .map(|t| t as usize);
            out.push((label, body));
            loopql_connector_sdk::progress::page(n as u64);
            start += n;
            let more = match total {
                Some(t) => start < t && n > 0,
                None => n == count,
            };
            if !more {
                return Ok(out);
            }
        }
    }

    /// The adAnalytics pages of the configured accounts and days.
    pub fn analytics(&mut self) -> Result<Vec<(String, String)>, ConnectorError> {
        use chrono::Datelike;
        let (s, u) = (self.config.since, self.config.until);
        let accounts: Vec<String> = self
            .config
            .account_ids
            .iter()
            .map(|a| http::encode(&format!("urn:li:sponsoredAccount:{a}")))
            .collect();
        let path = format!(
            "/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY\
             &dateRange=(start:(year:{},month:{},day:{}),end:(year:{},month:{},day:{}))\
             &accounts=List({})&fields={FIELDS}",
            s.year(),
            s.month(),
            s.day(),
            u.year(),
            u.month(),
            u.day(),
            accounts.join(",")
        );
        self.pages(&path, "adAnalytics")
    }

    /// The adCampaigns pages of each configured account.
    pub fn campaigns(&mut self) -> Result<Vec<(String, String)>, ConnectorError> {
        let mut out = Vec::new();
        for account in self.config.account_ids.clone() {
            let path = format!("/rest/adAccounts/{account}/adCampaigns?q=search");
            out.extend(self.pages(&path, &format!("adCampaigns of account {account}"))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
