//! The live Insights API: `GET {base}/{account}/insights` with the token in an `Authorization`
//! header, `time_increment=1`, cursor paging through `paging.next`, retries with exponential
//! backoff on 429 and 5xx (honoring `Retry-After`), and a clear error on 401/403.

use crate::insights::{PAGE_CONTEXT, Page, Row};
use loopql_connector_sdk::ConnectorError;
use loopql_connector_sdk::http::{self, Retry};
use loopql_connector_sdk::json::{elements, located};
use loopql_connector_sdk::serde_json;
use loopql_connector_sdk::ureq;
use std::path::Path;

/// The Insights fields the raw tables need.
pub const FIELDS: &str = "account_id,account_currency,campaign_id,campaign_name,adset_id,ad_id,date_start,date_stop,impressions,clicks,inline_link_clicks,spend,actions,action_values";

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub base_url: String,
    pub account_ids: Vec<String>,
    pub token: String,
    pub token_env: String,
    pub level: String,
    pub since: String,
    pub until: String,
    pub page_size: u32,
    pub retry: Retry,
}

/// The `error.message` of a Graph API error body, or the body itself.
fn api_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}

/// GET with retries (SDK `http`); returns the body of a 2xx answer.
fn get(agent: &ureq::Agent, url: &str, config: &ApiConfig) -> Result<String, ConnectorError> {
    let label = format!("Meta API request {}", redact(url));
    let answer = http::retrying(&label, config.retry, api_message, || {
        http::answer(
            agent
                .get(url)
                .header("Authorization", &format!("Bearer {}", config.token))
                .call(),
        )
    })?;
    match answer.status {
        200..=299 => Ok(answer.body),
        status @ (401 | 403) => Err(ConnectorError::Other(format!(
            "Meta API refused the access token (HTTP {status}): {}; check ${} (a token with ads_read for these accounts)",
            api_message(&answer.body),
            config.token_env
        ))),
        status => Err(ConnectorError::Other(format!(
            "{label} failed: HTTP {status}: {}",
            api_message(&answer.body)
        ))),
    }
}

/// The URL without any `access_token` query value, for messages.
fn redact(url: &str) -> String {
    match url.find("access_token=") {
        Some(i) => {
            let end = url[i..].find('&').map(|j| i + j).unwrap_or(url.len());
            format!("{}access_token=REDACTED{}", &url[..i], &url[end..])
        }
        None => url.to_string(),
    }
}

/// Every Insights row of every account for the date range, following the cursors.
pub fn fetch(config: &ApiConfig, skip: bool) -> Result<Vec<Row>, ConnectorError> {
    let agent = http::agent();
    let time_range = format!(
        "{{\"since\":\"{}\",\"until\":\"{}\"}}",
        config.since, config.until
    );
    let mut rows = Vec::new();
    for account in &config.account_ids {
        let account = if account.starts_with("act_") {
            account.clone()
        } else {
            format!("act_{account}")
        };
        let mut url = Some(format!(
            "{}/{account}/insights?level={}&time_increment=1&limit={}&fields={}&time_range={}",
            config.base_url.trim_end_matches('/'),
            http::encode(&config.level),
            config.page_size,
            http::encode(FIELDS),
            http::encode(&time_range)
        ));
        while let Some(u) = url.take() {
            let body = get(&agent, &u, config)?;
            let name = redact(&u);
            let page: Page = serde_json::from_str(&body)
                .map_err(|e| located(Path::new(&name), &e, 0, PAGE_CONTEXT))?;
            let before = rows.len();
            rows.extend(elements(
                Path::new(&name),
                &body,
                page.data,
                PAGE_CONTEXT,
                skip,
            )?);
            loopql_connector_sdk::progress::page((rows.len() - before) as u64);
            url = page.paging.and_then(|p| p.next);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A stand-in for graph.facebook.com serving the documented Insights shapes.
    struct StandIn {
        base: String,
        seen: Arc<Mutex<Vec<String>>>,
    }

    fn page(rows: &str, next: Option<&str>) -> String {
        let paging = match next {
            Some(n) => format!(r#"{{"cursors":{{"before":"B","after":"A"}},"next":"{n}"}}"#),
            None => r#"{"cursors":{"before":"B","after":"A"}}"#.to_string(),
        };
        format!(r#"{{"data":[{rows}],"paging":{paging}}}"#)
    }

    const ROW1: &str = r#"{"account_id":"1","account_currency":"USD","campaign_id":"10","date_start":"2024-01-01","date_stop":"2024-01-01","impressions":"100","clicks":"5","spend":"7.5","actions":[{"action_type":"omni_purchase","value":"1"}]}"#;
    const ROW2: &str = r#"{"account_id":"1","account_currency":"USD","campaign_id":"10","date_start":"2024-01-02","date_stop":"2024-01-02","impressions":"50","clicks":"1","spend":"2.5"}"#;

    fn serve() -> StandIn {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let base = format!("http://{}/v19.0", server.server_addr().to_ip().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let next = format!("{base}/act_1/insights?after=A");
        std::thread::spawn(move || {
            let mut throttled = false;
            for request in server.incoming_requests() {
                let url = request.url().to_string();
                log.lock().unwrap().push(url.clone());
                let auth = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.as_str().to_string())
                    .unwrap_or_default();
                let (status, body) = if auth != "Bearer good" {
                    (401, r#"{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"x"}}"#.to_string())
                } else if url.starts_with("/v19.0/act_500/") {
                    (500, r#"{"error":{"message":"An unknown error occurred","type":"OAuthException","code":1}}"#.to_string())
                } else if url.contains("after=A") {
                    (200, page(ROW2, None))
                } else if !throttled {
                    throttled = true;
                    (429, r#"{"error":{"message":"(#80004) There have been too many calls to this ad-account.","code":80004}}"#.to_string())
                } else {
                    (200, page(ROW1, Some(&next)))
                };
                let response = tiny_http::Response::from_string(body)
                    .with_status_code(status)
                    .with_header(
                        tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                    );
                let _ = request.respond(response);
            }
        });
        StandIn { base, seen }
    }

    fn config(base: &str, accounts: &[&str], token: &str) -> ApiConfig {
        ApiConfig {
            base_url: base.into(),
            account_ids: accounts.iter().map(|a| a.to_string()).collect(),
            token: token.into(),
            token_env: "META_ACCESS_TOKEN".into(),
            level: "ad".into(),
            since: "2024-01-01".into(),
            until: "2024-01-31".into(),
            page_size: 500,
            retry: Retry {
                attempts: 3,
                base: std::time::Duration::from_millis(5),
                max_wait: std::time::Duration::from_millis(50),
            },
        }
    }

    #[test]
    fn pages_are_followed_and_a_429_is_retried() {
        let s = serve();
        let rows = fetch(&config(&s.base, &["1"], "good"), false).unwrap();
        assert_eq!(rows.len(), 2);
        let seen = s.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3, "429, retry, next page: {seen:?}");
        assert_eq!(seen[0], seen[1], "the retry repeats the request");
        assert!(
            seen[0].starts_with(
                "/v19.0/act_1/insights?level=ad&time_increment=1&limit=500&fields=account_id%2C"
            ),
            "{}",
            seen[0]
        );
        assert!(
            seen[0].contains(
                "time_range=%7B%22since%22%3A%222024-01-01%22%2C%22until%22%3A%222024-01-31%22%7D"
            ),
            "{}",
            seen[0]
        );
        assert_eq!(seen[2], "/v19.0/act_1/insights?after=A");
    }

    #[test]
    fn a_refused_token_is_a_clear_error_without_retries() {
        let s = serve();
        let err = fetch(&config(&s.base, &["1"], "bad"), false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(
                "Meta API refused the access token (HTTP 401): Invalid OAuth access token"
            ),
            "{err}"
        );
        assert!(err.contains("check $META_ACCESS_TOKEN"), "{err}");
        assert_eq!(s.seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_persistent_500_fails_after_the_attempts() {
        let s = serve();
        let err = fetch(&config(&s.base, &["act_500"], "good"), false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("failed after 3 attempts: HTTP 500: An unknown error occurred"),
            "{err}"
        );
        assert_eq!(s.seen.lock().unwrap().len(), 3);
    }

    #[test]
    fn tokens_never_reach_messages() {
        assert_eq!(
            redact("http://x/a?access_token=SECRET&after=1"),
            "http://x/a?access_token=REDACTED&after=1"
        );
    }

    /// Whether `err` names `page` followed by `:LINE:COLUMN:`.
    fn regex_free_location(err: &str, page: &str) -> bool {
        err.split_once(page).is_some_and(|(_, rest)| {
            let mut parts = rest.split(':');
            let _query = parts.next();
            let line = parts.next().is_some_and(|l| l.parse::<u64>().is_ok());
            let column = parts.next().is_some_and(|c| c.parse::<u64>().is_ok());
            line && column
        })
    }

    /// The recorded page (`testdata/insights_page.json`) as page `n` of three.
    fn recorded_page(base: &str, n: u32) -> String {
        let page = include_str!("../testdata/insights_page.json");
        if n < 3 {
            page.replace(
                "{next}",
                &format!("{base}/act_77/insights?after=P{}", n + 1),
            )
        } else {
            page.replace(",\n    \"next\": \"{next}\"", "")
        }
    }

    #[test]
    fn three_pages_an_outage_retried_a_cut_page_located_and_an_empty_window() {
        use loopql_connector_sdk::standin::{Fault, Reply, StandIn};
        let api = StandIn::serve(|call| {
            let host = call.header("Host").unwrap_or_default();
            let base = format!("http://{host}/v19.0");
            if call.header("Authorization") != Some("Bearer good") {
                return Reply::status(
                    401,
                    r#"{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190}}"#,
                );
            }
            let n = match call.url.split("after=P").nth(1) {
                Some(n) => n.parse().unwrap_or(1),
                None => 1,
            };
            Reply::ok(recorded_page(&base, n))
        });
        let base = format!("{}/v19.0", api.base);
        let path = "/v19.0/act_77/insights";
        api.fail_next(
            path,
            Fault::Unavailable {
                body: r#"{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2,"is_transient":true}}"#.into(),
            },
        );
        let rows = fetch(&config(&base, &["77"], "good"), false).unwrap();
        assert_eq!(rows.len(), 3, "one row on each of three pages");
        let urls: Vec<String> = api.calls().into_iter().map(|c| c.url).collect();
        assert_eq!(urls.len(), 4, "503, then pages 1 to 3: {urls:?}");
        assert_eq!(urls[0], urls[1]);
        assert!(
            urls[2].ends_with("after=P2") && urls[3].ends_with("after=P3"),
            "{urls:?}"
        );

        api.fail_next(path, Fault::Malformed);
        let Err(err) = fetch(&config(&base, &["77"], "good"), false) else {
            panic!("a cut page read as whole");
        };
        let err = err.to_string();
        // The page's URL (no token in it), then the line and column where it broke off.
        let located = regex_free_location(&err, "act_77/insights");
        assert!(located, "{err}");
        assert!(!err.contains("good"), "{err}");

        api.fail_next(
            path,
            Fault::Answer(Reply::ok(
                r#"{"data":[],"paging":{"cursors":{"before":"A","after":"A"}}}"#,
            )),
        );
        assert!(
            fetch(&config(&base, &["77"], "good"), false)
                .unwrap()
                .is_empty()
        );
    }
}
