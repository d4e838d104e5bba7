//! Calling a platform's HTTP API the way every live connector must: an agent with a timeout that
//! hands back every status (the connector decides what a 401 means), and retries of throttled
//! (429) and failing (5xx, broken connection) calls with exponential backoff, honouring
//! `Retry-After`, bounded in attempts and in wait. Messages name the call by a label the
//! connector chooses, never by anything that carries a secret.

use crate::ConnectorError;
use std::time::Duration;

/// An HTTP agent for API calls: 2-minute timeout, statuses returned as answers, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// How often and how patiently a call is retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first backoff; doubled after each retry.
    pub base: Duration,
    /// The longest a single wait may be, `Retry-After` included.
    pub max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 5,
            base: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// What the platform answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// `Retry-After` in seconds, when the answer carried one.
    pub retry_after: Option<Duration>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One attempt: the answer, or why there was none (connection refused, timeout, ...).
pub fn answer(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Answer, String> {
    let mut r = response.map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = r
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(Answer {
        status,
        body,
        retry_after,
    })
}

/// Calls `attempt` until it answers with neither 429 nor 5xx (that answer is returned, whatever
/// its status), waiting between attempts; after `retry.attempts` the last failure is an error
/// naming `label`, the attempts and the platform's message (`message` picks it out of a body).
pub fn retrying(
    label: &str,
    retry: Retry,
    message: impl Fn(&str) -> String,
    mut attempt: impl FnMut() -> Result<Answer, String>,
) -> Result<Answer, ConnectorError> {
    let mut n = 0;
    loop {
        n += 1;
        let (why, wait) = match attempt() {
            Ok(a) if a.status == 429 || a.status >= 500 => (
                format!("HTTP {}: {}", a.status, message(&a.body)),
                a.retry_after,
            ),
            Ok(a) => return Ok(a),
            Err(e) => (e, None),
        };
        if n >= retry.attempts {
            return Err(ConnectorError::Other(format!(
                "{label} failed after {n} attempts: {why}"
            )));
        }
        let backoff = retry.base.saturating_mul(1 << (n - 1).min(10));
        std::thread::sleep(wait.unwrap_or(backoff).min(retry.max_wait));
    }
}

/// `s` percent-encoded for a URL query value or a form field.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn reply(status: u16, retry_after: Option<u64>) -> Result<Answer, String> {
        Ok(Answer {
            status,
            body: format!("body {status}"),
            retry_after: retry_after.map(Duration::from_secs),
        })
    }

    const FAST: Retry = Retry {
        attempts: 3,
        base: Duration::from_millis(1),
        max_wait: Duration::from_millis(20),
    };

    #[test]
    fn throttled_and_failing_calls_are_retried_then_answered() {
        let calls = Cell::new(0);
        let got = retrying("call", FAST, str::to_string, || {
            calls.set(calls.get() + 1);
            match calls.get() {
                1 => reply(429, Some(3600)),
                2 => Err("connection reset".into()),
                _ => reply(401, None),
            }
        })
        .unwrap();
        assert_eq!(got.status, 401, "a 401 is the connector's to judge");
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn a_persistent_failure_names_the_call_the_attempts_and_the_message() {
        let calls = Cell::new(0);
        let err = retrying(
            "GET customers/1",
            FAST,
            |b| format!("<{b}>"),
            || {
                calls.set(calls.get() + 1);
                reply(503, None)
            },
        )
        .unwrap_err()
        .to_string();
        assert_eq!(calls.get(), 3);
        assert!(
            err.contains("GET customers/1 failed after 3 attempts: HTTP 503: <body 503>"),
            "{err}"
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a b/c=d&é"), "a%20b%2Fc%3Dd%26%C3%A9");
        assert_eq!(encode("Az09-_.~"), "Az09-_.~");
    }
}
