//! The GA4 BigQuery export read live (`mode = "api"`) through the BigQuery REST API: a service
//! account's JSON key signs a JWT (RS256) exchanged for an access token
//! (`urn:ietf:params:oauth:grant-type:jwt-bearer`); `jobs.query` runs
//! ``SELECT * FROM `project.dataset.events_*` WHERE _TABLE_SUFFIX BETWEEN …`` over the days asked
//! for, and `jobs.getQueryResults` pages the rows by `pageToken`. Rows arrive in BigQuery's
//! `f` / `v` JSON shape; they are turned back into the export's NDJSON shape (records as objects,
//! repeated fields as arrays, INT64 as strings as `bq extract` writes them) and read by the file
//! mode's own code, so both modes give the same rows.

use loopql_connector_sdk::ConnectorError;
use loopql_connector_sdk::http::{self, Retry};
use loopql_connector_sdk::serde_json::{self, Map, Value, json};
use loopql_connector_sdk::ureq;
use std::time::{Duration, Instant};

pub const DEFAULT_BASE_URL: &str = "https://bigquery.googleapis.com";
const SCOPE: &str = "https://www.googleapis.com/auth/bigquery.readonly";

/// The parts of a service account's JSON key the token needs.
pub struct ServiceAccount {
    pub client_email: String,
    pub token_uri: String,
    /// The PKCS#8 DER of `private_key`.
    pub key: Vec<u8>,
}

impl ServiceAccount {
    /// From the key file's JSON; `label` names the file in errors (never its content).
    pub fn parse(text: &str, label: &str) -> Result<Self, ConnectorError> {
        let bad = |what: &str| {
            ConnectorError::Other(format!(
                "{label}: not a service account key ({what}); download a JSON key of the service account from the Google Cloud console"
            ))
        };
        let v: Value = serde_json::from_str(text).map_err(|_| bad("not JSON"))?;
        let field = |name: &str| {
            v[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("no `{name}`")))
        };
        let pem = field("private_key")?;
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|_| bad("`private_key` is not a PEM key"))?;
        Ok(Self {
            client_email: field("client_email")?,
            token_uri: v["token_uri"]
                .as_str()
                .unwrap_or("https://oauth2.googleapis.com/token")
                .to_string(),
            key,
        })
    }

    /// A signed JWT asking for `scope` at `audience`, valid for an hour from `now` (seconds).
    pub fn assertion(&self, audience: &str, now: u64) -> Result<String, ConnectorError> {
        use base64::Engine;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = b64(json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": audience,
            "iat": now,
            "exp": now + 3600,
        })
        .to_string()
        .as_bytes());
        let message = format!("{header}.{claims}");
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&self.key).map_err(|e| {
            ConnectorError::Other(format!(
                "the service account's private_key is not a usable RSA key ({e})"
            ))
        })?;
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            message.as_bytes(),
            &mut signature,
        )
        .map_err(|_| ConnectorError::Other("signing the token request failed".into()))?;
        Ok(format!("{message}.{}", b64(&signature)))
    }
}

pub struct ApiConfig {
    pub base_url: String,
    /// The project the query runs (and is billed) in.
    pub project: String,
    /// `project.dataset` of the export's `events_YYYYMMDD` tables.
    pub dataset: String,
    pub location: Option<String>,
    /// `YYYYMMDD`, both included.
    pub since: String,
    pub until: String,
    pub page_rows: u32,
    pub retry: Retry,
}

/// A session: the agent and the current token.
pub struct Session {
    config: ApiConfig,
    account: ServiceAccount,
    agent: ureq::Agent,
    token: Option<(String, Instant)>,
}

/// `error.message` (and its `reason`) of a Google API error body, or its start.
fn message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let m = v["error"]["message"].as_str()?;
            Some(match v["error"]["errors"][0]["reason"].as_str() {
                Some(r) => format!("{r}: {m}"),
                None => m.to_string(),
            })
        })
        .or_else(|| {
            let v = serde_json::from_str::<Value>(body).ok()?;
            v["error_description"].as_str().map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}

impl Session {
    pub fn new(config: ApiConfig, account: ServiceAccount) -> Self {
        Self {
            config,
            account,
            agent: http::agent(),
            token: None,
        }
    }

    fn access(&mut self) -> Result<String, ConnectorError> {
        if let Some((token, until)) = &self.token
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let assertion = self.account.assertion(&self.account.token_uri, now)?;
        let body = format!(
            "grant_type={}&assertion={assertion}",
            http::encode("urn:ietf:params:oauth:grant-type:jwt-bearer")
        );
        let (agent, uri) = (&self.agent, &self.account.token_uri);
        let answer = http::retrying(
            "Google OAuth token request",
            self.config.retry,
            message,
            || {
                http::answer(
                    agent
                        .post(uri)
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .send(&body),
                )
            },
        )?;
        if !answer.ok() {
            return Err(ConnectorError::Other(format!(
                "Google OAuth refused the service account {} (HTTP {}): {}; check its key and that it may read BigQuery",
                self.account.client_email,
                answer.status,
                message(&answer.body)
            )));
        }
        let v: Value = serde_json::from_str(&answer.body).map_err(|e| {
            ConnectorError::Other(format!(
                "Google OAuth answered something that is not a token ({e})"
            ))
        })?;
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| {
                ConnectorError::Other("Google OAuth answered without an access_token".into())
            })?
            .to_string();
        let lifetime = v["expires_in"].as_u64().unwrap_or(3600).saturating_sub(60);
        self.token = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        ));
        Ok(token)
    }

    /// One call (POST of `body`, or GET), retried; one fresh token after a 401.
    fn call(
        &mut self,
        path: &str,
        body: Option<&Value>,
        label: &str,
    ) -> Result<Value, ConnectorError> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let text = body.map(Value::to_string);
        let mut refreshed = false;
        loop {
            let auth = format!("Bearer {}", self.access()?);
            let agent = &self.agent;
            let answer = http::retrying(label, self.config.retry, message, || {
                http::answer(match &text {
                    Some(t) => agent
                        .post(&url)
                        .header("Authorization", &auth)
                        .header("Content-Type", "application/json")
                        .send(t),
                    None => agent.get(&url).header("Authorization", &auth).call(),
                })
            })?;
            match answer.status {
                200..=299 => {
                    return serde_json::from_str(&answer.body).map_err(|e| {
                        loopql_connector_sdk::json::not_json(label, &answer.body, &e)
                    });
                }
                401 if !refreshed => {
                    refreshed = true;
                    self.token = None;
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

    /// The export's events of the configured days, as NDJSON text (one event a line).
    pub fn events_ndjson(&mut self) -> Result<String, ConnectorError> {
        let c = &self.config;
        let sql = format!(
            "SELECT * FROM `{}.events_*` WHERE _TABLE_SUFFIX BETWEEN '{}' AND '{}'",
            c.dataset, c.since, c.until
        );
        let mut request = json!({
            "query": sql,
            "useLegacySql": false,
            "maxResults": c.page_rows,
            "timeoutMs": 60_000,
        });
        if let Some(l) = &c.location {
            request["location"] = json!(l);
        }
        let project = c.project.clone();
        let mut answer = self.call(
            &format!("/bigquery/v2/projects/{project}/queries"),
            Some(&request),
            "BigQuery jobs.query, page 1",
        )?;
        let job = answer["jobReference"]["jobId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let location = answer["jobReference"]["location"]
            .as_str()
            .map(str::to_string)
            .or_else(|| self.config.location.clone());
        let mut out = String::new();
        let mut schema: Option<Value> = None;
        let mut page = 1;
        loop {
            if answer["jobComplete"].as_bool() == Some(false) {
                std::thread::sleep(Duration::from_millis(500));
            } else {
                if schema.is_none() {
                    schema = Some(answer["schema"]["fields"].clone());
                }
                let fields = schema
                    .as_ref()
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let rows = answer["rows"].as_array().map_or(0, Vec::len);
                for row in answer["rows"].as_array().into_iter().flatten() {
                    out.push_str(&record(&fields, row).to_string());
                    out.push('\n');
                }
                loopql_connector_sdk::progress::page(rows as u64);
                if answer["pageToken"].as_str().is_none() {
                    return Ok(out);
                }
                page += 1;
            }
            let mut path = format!(
                "/bigquery/v2/projects/{project}/queries/{job}?maxResults={}&timeoutMs=60000",
                self.config.page_rows
            );
            if let Some(t) = answer["pageToken"].as_str() {
                path.push_str(&format!("&pageToken={}", http::encode(t)));
            }
            if let Some(l) = &location {
                path.push_str(&format!("&location={}", http::encode(l)));
            }
            answer = self.call(
                &path,
                None,
                &format!("BigQuery jobs.getQueryResults, page {page}"),
            )?;
        }
    }
}

/// A row of BigQuery's `{"f": [{"v": …}]}` shape as the export's JSON object under `fields`.
pub fn record(fields: &[Value], row: &Value) -> Value {
    let mut out = Map::new();
    let cells = row["f"].as_array().cloned().unwrap_or_default();
    for (field, cell) in fields.iter().zip(cells) {
        let name = field["name"].as_str().unwrap_or_default().to_string();
        out.insert(name, value(field, &cell["v"]));
    }
    Value::Object(out)
}

/// A cell's value under `field`: repeated fields as arrays, records as objects, INT64 as text
/// (as `bq extract` writes it), FLOAT64 and BOOL as JSON numbers and booleans.
fn value(field: &Value, v: &Value) -> Value {
    if field["mode"].as_str() == Some("REPEATED") {
        let one = {
            let mut f = field.clone();
            f["mode"] = json!("NULLABLE");
            f
        };
        return Value::Array(
            v.as_array()
                .into_iter()
                .flatten()
                .map(|item| value(&one, &item["v"]))
                .collect(),
        );
    }
    if v.is_null() {
        return Value::Null;
    }
    match field["type"].as_str().unwrap_or("STRING") {
        "RECORD" | "STRUCT" => {
            let sub = field["fields"].as_array().cloned().unwrap_or_default();
            record(&sub, v)
        }
        "FLOAT" | "FLOAT64" | "NUMERIC" | "BIGNUMERIC" => v
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .map_or(Value::Null, |f| json!(f)),
        "BOOLEAN" | "BOOL" => json!(v.as_str() == Some("true") || v.as_bool() == Some(true)),
        _ => v.clone(),
    }
}

#[cfg(test)]
#[path = "bigquery_tests.rs"]
mod tests;
