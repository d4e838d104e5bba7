//! The live HubSpot CRM API (`mode = "api"`, a private app's access token as a bearer token):
//! contacts and deals through the v3 objects list endpoint
//! (`GET /crm/v3/objects/{object}?limit=100&properties=…&after=…`, every page through
//! `paging.next.after`) with the properties the raw tables hold, and deal → contact
//! associations through the v4 batch read (`POST /crm/v4/associations/deals/contacts/batch/read`,
//! 1,000 deals a call). Calls are paced to the private-app burst limit (`requests_per_10s`, 100
//! by default), 429 and 5xx are retried honouring `Retry-After` (SDK `http`), 401 is a clear
//! error naming where the token came from. Records become CSV text with the API's property names
//! as headers, read by the same rules as an export (`csv_table::read_text`), so both modes
//! check lifecycle stages, dates and numbers alike.

use loopql_connector_sdk::ConnectorError;
use loopql_connector_sdk::csv_table::{self, Column};
use loopql_connector_sdk::http::{self, Retry};
use loopql_connector_sdk::json::cell;
use loopql_connector_sdk::serde_json::{self, Value};
use loopql_connector_sdk::ureq;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

/// A record's id and properties.
pub type Record = (String, serde_json::Map<String, Value>);

#[derive(Clone)]
pub struct ApiConfig {
    pub base_url: String,
    pub token: String,
    /// Where the token came from (`$VAR` or the credentials file), for messages.
    pub token_from: String,
    pub page_size: u32,
    /// The most records one search query pages through (`search::QUERY_CAP`).
    pub search_cap: usize,
    /// Calls allowed per `window` (HubSpot counts per rolling 10 seconds).
    pub burst: usize,
    pub window: Duration,
    pub retry: Retry,
}

/// At most `burst` calls per rolling `window`.
struct Pacer {
    burst: usize,
    window: Duration,
    recent: VecDeque<Instant>,
}

impl Pacer {
    fn wait(&mut self) {
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.burst
            && let Some(oldest) = self.recent.pop_front()
        {
            std::thread::sleep(self.window.saturating_sub(now.duration_since(oldest)));
        }
        self.recent.push_back(Instant::now());
    }
}

/// A session with the API.
pub struct Session {
    config: ApiConfig,
    agent: ureq::Agent,
    pacer: Pacer,
}

/// `"message"` of a HubSpot error body (`{"status":"error","message":…,"category":…}`).
fn message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let m = v["message"].as_str()?;
            Some(match v["category"].as_str().or(v["errorType"].as_str()) {
                Some(c) => format!("{c}: {m}"),
                None => m.to_string(),
            })
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}

impl Session {
    pub fn new(config: ApiConfig) -> Self {
        let pacer = Pacer {
            burst: config.burst.max(1),
            window: config.window,
            recent: VecDeque::new(),
        };
        Self {
            config,
            agent: http::agent(),
            pacer,
        }
    }

    /// One call (GET, or POST of a JSON body), paced and retried; the body of a 2xx answer.
    pub(crate) fn call(
        &mut self,
        path: &str,
        body: Option<&str>,
    ) -> Result<String, ConnectorError> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let label = format!(
            "HubSpot {} {path}",
            if body.is_some() { "POST" } else { "GET" }
        );
        let auth = format!("Bearer {}", self.config.token);
        let (agent, pacer) = (&self.agent, &mut self.pacer);
        let answer = http::retrying(&label, self.config.retry, message, || {
            pacer.wait();
            let response = match body {
                Some(b) => agent
                    .post(&url)
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .send(b),
                None => agent.get(&url).header("Authorization", &auth).call(),
            };
            http::answer(response)
        })?;
        match answer.status {
            200..=299 => Ok(answer.body),
            401 | 403 => Err(ConnectorError::Other(format!(
                "{label}: HubSpot refused the access token (HTTP {}): {}; check {} (a private \
                 app token with the crm.objects.contacts.read and crm.objects.deals.read scopes)",
                answer.status,
                message(&answer.body),
                self.config.token_from
            ))),
            status => Err(ConnectorError::Other(format!(
                "{label} failed (HTTP {status}): {}",
                message(&answer.body)
            ))),
        }
    }

    /// Records a page asks for.
    pub(crate) fn page_size(&self) -> u32 {
        self.config.page_size
    }

    pub(crate) fn search_cap(&self) -> usize {
        self.config.search_cap
    }

    /// Every record of `object` (`contacts`, `deals`) with `properties`, page after page:
    /// `(id, properties)` of each.
    pub fn records(
        &mut self,
        object: &str,
        properties: &[&str],
    ) -> Result<Vec<Record>, ConnectorError> {
        self.list(object, properties, false)
    }

    /// The records of `object` in the list endpoint's live (`archived = false`) or archived
    /// view; an archived record's properties get `archived: true` and `archived_at`.
    pub(crate) fn list(
        &mut self,
        object: &str,
        properties: &[&str],
        archived: bool,
    ) -> Result<Vec<Record>, ConnectorError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for page in 1.. {
            let mut path = format!(
                "/crm/v3/objects/{object}?limit={}&archived={archived}&properties={}",
                self.config.page_size,
                http::encode(&properties.join(","))
            );
            if let Some(a) = &after {
                path.push_str(&format!("&after={}", http::encode(a)));
            }
            let body = self.call(&path, None)?;
            let parsed: Value = serde_json::from_str(&body)
                .map_err(|e| malformed(&format!("/crm/v3/objects/{object}"), page, &body, &e))?;
            let Some(results) = parsed["results"].as_array() else {
                return Err(ConnectorError::Other(format!(
                    "HubSpot /crm/v3/objects/{object}, page {page}: expected `results`, an array of records; found {}",
                    body.chars().take(200).collect::<String>()
                )));
            };
            for r in results {
                let id = cell(&r["id"]);
                let mut props = r["properties"].as_object().cloned().unwrap_or_default();
                if archived {
                    props.insert("archived".into(), Value::from("true"));
                    props.insert("archived_at".into(), r["archivedAt"].clone());
                }
                out.push((id, props));
            }
            loopql_connector_sdk::progress::page(results.len() as u64);
            after = parsed["paging"]["next"]["after"]
                .as_str()
                .map(str::to_string);
            if after.is_none() {
                return Ok(out);
            }
        }
        Ok(out)
    }

    /// `(deal id, contact id)` of every association of `deals`.
    pub fn deal_contacts(
        &mut self,
        deals: &[String],
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        let mut out = Vec::new();
        for (i, chunk) in deals.chunks(1000).enumerate() {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|id| serde_json::json!({ "id": id }))
                .collect();
            let request = serde_json::json!({ "inputs": inputs }).to_string();
            let path = "/crm/v4/associations/deals/contacts/batch/read";
            let body = self.call(path, Some(&request))?;
            let parsed: Value =
                serde_json::from_str(&body).map_err(|e| malformed(path, i + 1, &body, &e))?;
            let before = out.len();
            for r in parsed["results"].as_array().into_iter().flatten() {
                let from = cell(&r["from"]["id"]);
                for to in r["to"].as_array().into_iter().flatten() {
                    out.push((from.clone(), cell(&to["toObjectId"])));
                }
            }
            loopql_connector_sdk::progress::page((out.len() - before) as u64);
        }
        Ok(out)
    }
}

/// A page that is not JSON: the call, the page and the byte offset.
pub(crate) fn malformed(
    call: &str,
    page: usize,
    body: &str,
    e: &serde_json::Error,
) -> ConnectorError {
    loopql_connector_sdk::json::not_json(&format!("HubSpot {call}, page {page}"), body, e)
}

/// CSV text of `records` for the raw table of `columns`: the API property names as headers,
/// the record id as `hs_object_id`.
pub fn csv(columns: &[Column], records: &[Record]) -> String {
    let headers: Vec<&str> = columns.iter().map(|c| c.name).collect();
    csv_table::write_text(
        &headers,
        records.iter().map(|(id, props)| {
            columns
                .iter()
                .map(|c| match c.name {
                    "hs_object_id" => id.clone(),
                    name => props.get(name).map(cell).unwrap_or_default(),
                })
                .collect::<Vec<_>>()
        }),
    )
}

/// CSV text of association pairs (`deal_id,contact_id`).
pub fn pairs_csv(pairs: &[(String, String)]) -> String {
    csv_table::write_text(
        &["deal_id", "contact_id"],
        pairs.iter().map(|(d, c)| [d, c]),
    )
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
