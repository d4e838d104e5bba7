//! The live Salesforce REST API (`mode = "api"`): each object read with one SOQL query
//! (`GET {instance}/services/data/{version}/query?q=SELECT <fields> FROM <Object>`), every batch
//! after the first through `nextRecordsUrl` until `done`. The access token comes from the token
//! endpoint (refresh token, or client credentials; SDK `oauth`), whose answer also names the
//! `instance_url`; a call answering 401 `INVALID_SESSION_ID` gets a fresh token once. 429 / 5xx
//! are retried (SDK `http`); other errors are reported with their `errorCode` and message.
//! Records become CSV text with the API field names as headers, read by the export's rules.

use loopql_connector_sdk::ConnectorError;
use loopql_connector_sdk::csv_table::{self, Column};
use loopql_connector_sdk::http::{self, Retry};
use loopql_connector_sdk::json::cell;
use loopql_connector_sdk::oauth::{OAuth, Tokens};
use loopql_connector_sdk::serde_json::{self, Value};
use loopql_connector_sdk::ureq;

#[derive(Clone)]
pub struct ApiConfig {
    pub oauth: OAuth,
    /// The instance to query; `None`: the `instance_url` the token endpoint names.
    pub instance_url: Option<String>,
    /// `v62.0`
    pub version: String,
    pub retry: Retry,
}

/// A session with one org.
pub struct Session {
    config: ApiConfig,
    agent: ureq::Agent,
    tokens: Tokens,
}

/// The errors of a Salesforce error body (`[{"message":…,"errorCode":…}]`) as
/// `errorCode: message`, or the body's start.
pub fn message(body: &str) -> String {
    let parsed = serde_json::from_str::<Value>(body).ok();
    let errors: Vec<String> = parsed
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let m = e["message"].as_str()?;
            Some(format!(
                "{}: {m}",
                e["errorCode"].as_str().unwrap_or("ERROR")
            ))
        })
        .collect();
    if errors.is_empty() {
        body.chars().take(300).collect()
    } else {
        errors.join("; ")
    }
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

    /// GET `path` (below the instance), retried, with one fresh token on a lapsed session.
    fn get(&mut self, path: &str, label: &str) -> Result<String, ConnectorError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.get(&self.agent)?;
            let instance = match &self.config.instance_url {
                Some(i) => i.clone(),
                None => token.answer["instance_url"]
                    .as_str()
                    .ok_or_else(|| {
                        ConnectorError::Other(
                            "Salesforce's token answer names no instance_url; set the source's `instance_url`".into(),
                        )
                    })?
                    .to_string(),
            };
            let url = format!("{}{path}", instance.trim_end_matches('/'));
            let auth = format!("Bearer {}", token.access);
            let agent = &self.agent;
            let answer = http::retrying(label, self.config.retry, message, || {
                http::answer(
                    agent
                        .get(&url)
                        .header("Authorization", &auth)
                        .header("Accept", "application/json")
                        .call(),
                )
            })?;
            match answer.status {
                200..=299 => return Ok(answer.body),
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

    /// Every record of `object` (its raw table's `columns`), as CSV text with the API field
    /// names as headers.
    pub fn object_csv(
        &mut self,
        object: &str,
        columns: &[Column],
        modified_since: Option<i64>,
    ) -> Result<String, ConnectorError> {
        let fields: Vec<&str> = columns.iter().map(|c| c.headers[0]).collect();
        let mut soql = format!("SELECT {} FROM {object}", fields.join(", "));
        if let Some(micros) = modified_since {
            // A SOQL dateTime literal (UTC, whole seconds, rounded down: nothing is missed).
            let at = chrono::DateTime::from_timestamp(micros.div_euclid(1_000_000), 0)
                .unwrap_or_default();
            soql.push_str(&format!(
                " WHERE SystemModstamp >= {}",
                at.format("%Y-%m-%dT%H:%M:%SZ")
            ));
        }
        // An incremental read asks `queryAll`, which returns deleted records too (IsDeleted).
        let endpoint = if modified_since.is_some() {
            "queryAll"
        } else {
            "query"
        };
        let mut next = Some(format!(
            "/services/data/{}/{endpoint}?q={}",
            self.config.version,
            http::encode(&soql)
        ));
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut batch = 0;
        while let Some(path) = next.take() {
            batch += 1;
            let label = format!("Salesforce query of {object} (batch {batch})");
            let body = self.get(&path, &label)?;
            let parsed: Value = serde_json::from_str(&body)
                .map_err(|e| loopql_connector_sdk::json::not_json(&label, &body, &e))?;
            let records = parsed["records"].as_array().ok_or_else(|| {
                ConnectorError::Other(format!(
                    "{label}: expected `records`, an array; found {}",
                    body.chars().take(200).collect::<String>()
                ))
            })?;
            for r in records {
                rows.push(fields.iter().map(|f| cell(&r[*f])).collect());
            }
            loopql_connector_sdk::progress::page(records.len() as u64);
            if !parsed["done"].as_bool().unwrap_or(true) {
                next = parsed["nextRecordsUrl"].as_str().map(str::to_string);
            }
        }
        Ok(csv_table::write_text(&fields, rows))
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
