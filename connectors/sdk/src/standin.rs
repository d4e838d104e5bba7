//! A stand-in for a platform's API in tests (feature `standin`): a small HTTP server on
//! loopback answering from a handler that serves the API's documented shapes, keeping every call
//! (method, URL, headers, body) for assertions, and misbehaving on purpose when told — the next
//! call to a path throttled (429 with `Retry-After`), unavailable (503), answered with its body
//! cut in half (a malformed page), or answered with a body given in advance (an empty window).

// Test support only (feature `standin`): a stand-in that cannot start fails the test using it.
#![allow(clippy::expect_used)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One call the stand-in received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Path and query, as sent.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Call {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or_default()
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Text or bytes (a zipped report).
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self::status(200, body)
    }

    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A misbehaviour for the next call to a path.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with `Retry-After: seconds` (and `body`, the API's own throttling error).
    Throttle { retry_after: u32, body: String },
    /// 503 with `body`.
    Unavailable { body: String },
    /// The handler's answer with its body cut in half.
    Malformed,
    /// This answer instead of the handler's.
    Answer(Reply),
}

type Handler = Box<dyn FnMut(&Call) -> Reply + Send>;

/// The stand-in server; it lives as long as the test process.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    calls: Arc<Mutex<Vec<Call>>>,
    faults: Arc<Mutex<VecDeque<(String, Fault)>>>,
}

impl StandIn {
    /// Serves `handler`'s answers.
    pub fn serve(handler: impl FnMut(&Call) -> Reply + Send + 'static) -> Self {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("a loopback port");
        let base = format!(
            "http://{}",
            server.server_addr().to_ip().expect("an IP listener")
        );
        let calls = Arc::new(Mutex::new(Vec::new()));
        let faults: Arc<Mutex<VecDeque<(String, Fault)>>> = Arc::new(Mutex::new(VecDeque::new()));
        let (log, pending) = (calls.clone(), faults.clone());
        let mut handler: Handler = Box::new(handler);
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let call = Call {
                    method: request.method().to_string(),
                    url: request.url().to_string(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|h| (h.field.to_string(), h.value.to_string()))
                        .collect(),
                    body,
                };
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(call.clone());
                let fault = {
                    let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
                    let at = pending
                        .iter()
                        .position(|(p, _)| call.path().starts_with(p.as_str()));
                    at.and_then(|i| pending.remove(i)).map(|(_, f)| f)
                };
                let reply = match fault {
                    None => handler(&call),
                    Some(Fault::Throttle { retry_after, body }) => {
                        Reply::status(429, body).header("Retry-After", &retry_after.to_string())
                    }
                    Some(Fault::Unavailable { body }) => Reply::status(503, body),
                    Some(Fault::Malformed) => {
                        let mut r = handler(&call);
                        r.body.truncate(r.body.len() / 2);
                        r
                    }
                    Some(Fault::Answer(r)) => r,
                };
                let mut response =
                    tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
                for (name, value) in &reply.headers {
                    if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                    {
                        response = response.with_header(h);
                    }
                }
                let _ = request.respond(response);
            }
        });
        Self {
            base,
            calls,
            faults,
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the calls so far.
    pub fn clear(&self) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The next call whose path starts with `path` gets `fault` (faults queue in order).
    pub fn fail_next(&self, path: &str, fault: Fault) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back((path.to_string(), fault));
    }
}

/// A `key: value` credentials file only its owner may read (0600), in `dir`.
pub fn credentials_file(dir: &Path, name: &str, secrets: &[(&str, &str)]) -> PathBuf {
    let path = dir.join(name);
    let text: String = secrets.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    std::fs::write(&path, text).expect("a writable test folder");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .expect("permissions set");
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> (u16, String, Option<String>) {
        let agent = crate::http::agent();
        let mut r = agent.get(url).call().unwrap();
        let retry = r
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap(), retry)
    }

    #[test]
    fn faults_come_once_in_order_and_calls_are_kept() {
        let api = StandIn::serve(|call| Reply::ok(format!(r#"{{"path":"{}"}}"#, call.path())));
        api.fail_next(
            "/a",
            Fault::Throttle {
                retry_after: 2,
                body: "slow down".into(),
            },
        );
        api.fail_next("/a", Fault::Malformed);
        api.fail_next("/b", Fault::Answer(Reply::ok("[]")));
        assert_eq!(get(&format!("{}/b", api.base)).1, "[]");
        let (status, body, retry) = get(&format!("{}/a?x=1", api.base));
        assert_eq!(
            (status, body.as_str(), retry.as_deref()),
            (429, "slow down", Some("2"))
        );
        // Cut in half: 6 of the 13 bytes of `{"path":"/a"}`.
        assert_eq!(get(&format!("{}/a", api.base)).1, r#"{"path"#);
        assert_eq!(get(&format!("{}/a", api.base)).1, r#"{"path":"/a"}"#);
        let calls = api.calls();
        assert_eq!(calls.len(), 4);
        assert_eq!(calls[1].url, "/a?x=1");
        assert_eq!(calls[1].path(), "/a");
    }
}
