//! The live Microsoft Advertising Reporting API (`mode = "api"`, REST v13): submit a daily
//! `CampaignPerformanceReportRequest` (`POST …/GenerateReport/Submit`), poll it
//! (`POST …/GenerateReport/Poll`) until its status is `Success`, download the zipped CSV at
//! `ReportDownloadUrl`, and read it with the export's own reader. Calls carry the OAuth2 access
//! token (SDK `oauth`, refresh token; renewed once when a call answers 401) and the
//! `DeveloperToken`, `CustomerId` and `CustomerAccountId` headers; 429 and 5xx are retried
//! (SDK `http`); an API fault is reported with its error codes and messages.

use loopql_connector_sdk::ConnectorError;
use loopql_connector_sdk::http::{self, Retry};
use loopql_connector_sdk::oauth::Tokens;
use loopql_connector_sdk::serde_json::{self, Value, json};
use loopql_connector_sdk::ureq;
use std::time::{Duration, Instant};

pub const DEFAULT_BASE_URL: &str = "https://reporting.api.bingads.microsoft.com";

/// The report's columns, in the raw table's order.
pub const COLUMNS: [&str; 11] = [
    "TimePeriod",
    "AccountId",
    "AccountName",
    "CampaignId",
    "CampaignName",
    "CurrencyCode",
    "Impressions",
    "Clicks",
    "Spend",
    "Conversions",
    "Revenue",
];

pub struct ApiConfig {
    pub base_url: String,
    pub developer_token: String,
    pub customer_id: String,
    pub account_ids: Vec<String>,
    pub since: chrono::NaiveDate,
    pub until: chrono::NaiveDate,
    /// Between two polls, and how long a report may take.
    pub poll_every: Duration,
    pub poll_for: Duration,
    pub retry: Retry,
}

pub struct Session {
    config: ApiConfig,
    agent: ureq::Agent,
    tokens: Tokens,
}

/// The errors of a Microsoft Advertising fault (`OperationErrors` / `BatchErrors` / `Errors`,
/// each with `ErrorCode` and `Message`), or the body's start.
pub fn message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return body.chars().take(300).collect();
    };
    let mut errors = Vec::new();
    for key in ["OperationErrors", "BatchErrors", "Errors"] {
        for e in v[key].as_array().into_iter().flatten() {
            errors.push(format!(
                "{} ({}): {}",
                e["ErrorCode"].as_str().unwrap_or("Error"),
                e["Code"].as_i64().unwrap_or(0),
                e["Message"].as_str().unwrap_or("")
            ));
        }
    }
    if errors.is_empty() {
        v["Message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| body.chars().take(300).collect())
    } else {
        errors.join("; ")
    }
}

impl Session {
    pub fn new(config: ApiConfig, tokens: Tokens) -> Self {
        Self {
            config,
            agent: http::agent(),
            tokens,
        }
    }

    /// POST `body` to `operation` (`Submit`, `Poll`), retried, one fresh token after a 401.
    fn post(&mut self, operation: &str, body: &Value) -> Result<Value, ConnectorError> {
        let url = format!(
            "{}/Reporting/v13/GenerateReport/{operation}",
            self.config.base_url.trim_end_matches('/')
        );
        let label = format!("Microsoft Advertising GenerateReport/{operation}");
        let text = body.to_string();
        let mut refreshed = false;
        loop {
            let auth = format!("Bearer {}", self.tokens.get(&self.agent)?.access);
            let (agent, c) = (&self.agent, &self.config);
            let account = c.account_ids.first().cloned().unwrap_or_default();
            let answer = http::retrying(&label, c.retry, message, || {
                http::answer(
                    agent
                        .post(&url)
                        .header("Authorization", &auth)
                        .header("DeveloperToken", &c.developer_token)
                        .header("CustomerId", &c.customer_id)
                        .header("CustomerAccountId", &account)
                        .header("Content-Type", "application/json")
                        .send(&text),
                )
            })?;
            match answer.status {
                200..=299 => {
                    return serde_json::from_str(&answer.body).map_err(|e| {
                        ConnectorError::Other(format!(
                            "{label}: the answer is not JSON ({e}): {}",
                            answer.body.chars().take(200).collect::<String>()
                        ))
                    });
                }
                401 if !refreshed => {
                    refreshed = true;
                    self.tokens.forget();
                }
                status => {
                    return Err(ConnectorError::Other(format!(
                        "{label} failed (HTTP {status}): {}",
                        message(&answer.body)
                    )));
                }
            }
        }
    }

    /// The report request of the configured accounts and days.
    pub fn request(&self) -> Value {
        use chrono::Datelike;
        let day =
            |d: chrono::NaiveDate| json!({ "Day": d.day(), "Month": d.month(), "Year": d.year() });
        let accounts: Vec<Value> = self
            .config
            .account_ids
            .iter()
            .map(|a| a.parse::<i64>().map_or_else(|_| json!(a), |n| json!(n)))
            .collect();
        json!({
            "ReportRequest": {
                "Type": "CampaignPerformanceReportRequest",
                "ReportName": "loopql campaign performance",
                "Format": "Csv",
                "FormatVersion": "2.0",
                "ExcludeReportHeader": false,
                "ExcludeReportFooter": false,
                "ExcludeColumnHeaders": false,
                "ReturnOnlyCompleteData": false,
                "Aggregation": "Daily",
                "Columns": COLUMNS,
                "Scope": { "AccountIds": accounts },
                "Time": {
                    "CustomDateRangeStart": day(self.config.since),
                    "CustomDateRangeEnd": day(self.config.until),
                    "ReportTimeZone": "GreenwichMeanTimeDublinEdinburghLisbonLondon"
                }
            }
        })
    }

    /// The report's CSV text (`None`: the report is empty — no download URL).
    pub fn report(&mut self) -> Result<Option<String>, ConnectorError> {
        let submitted = self.post("Submit", &self.request())?;
        let id = submitted["ReportRequestId"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                ConnectorError::Other(format!(
                    "Microsoft Advertising GenerateReport/Submit answered without a ReportRequestId: {submitted}"
                ))
            })?;
        let started = Instant::now();
        let url = loop {
            let polled = self.post("Poll", &json!({ "ReportRequestId": id }))?;
            let status = &polled["ReportRequestStatus"];
            match status["Status"].as_str().unwrap_or("") {
                "Success" => break status["ReportDownloadUrl"].as_str().map(str::to_string),
                "Pending" if started.elapsed() < self.config.poll_for => {
                    std::thread::sleep(self.config.poll_every);
                }
                "Pending" => {
                    return Err(ConnectorError::Other(format!(
                        "Microsoft Advertising report {id} was still pending after {} s; try again later",
                        self.config.poll_for.as_secs()
                    )));
                }
                other => {
                    return Err(ConnectorError::Other(format!(
                        "Microsoft Advertising report {id} failed to generate (status `{other}`)"
                    )));
                }
            }
        };
        let Some(url) = url else {
            return Ok(None);
        };
        let label = format!("Microsoft Advertising report {id} download");
        let agent = &self.agent;
        let mut answer = None;
        let response = http::retrying(
            &label,
            self.config.retry,
            |b| b.chars().take(200).collect(),
            || {
                let mut r = agent.get(&url).call().map_err(|e| e.to_string())?;
                let status = r.status().as_u16();
                let bytes = r
                    .body_mut()
                    .with_config()
                    .limit(1 << 32)
                    .read_to_vec()
                    .map_err(|e| format!("reading the download: {e}"))?;
                answer = Some(bytes);
                Ok(http::Answer {
                    status,
                    body: String::new(),
                    retry_after: None,
                })
            },
        )?;
        if !response.ok() {
            return Err(ConnectorError::Other(format!(
                "{label} failed (HTTP {}); the link lasts a few minutes: sync again",
                response.status
            )));
        }
        let bytes = answer.unwrap_or_default();
        let (_, csv) = loopql_connector_sdk::zip::first_file(&bytes, &label)?;
        // One page, the report; its rows are counted as they are read (it has a preamble and a
        // footer, so its lines are not its rows).
        loopql_connector_sdk::progress::page(0);
        String::from_utf8(csv)
            .map(|text| Some(text.trim_start_matches('\u{feff}').to_string()))
            .map_err(|_| ConnectorError::Other(format!("{label}: the report is not UTF-8 text")))
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
