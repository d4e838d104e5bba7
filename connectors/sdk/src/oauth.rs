//! OAuth2 access tokens for live connectors (feature `http`): a refresh token, or client
//! credentials, exchanged at the platform's token endpoint (form-encoded POST, RFC 6749 §4.4 and
//! §6), retried like any call; the token is renewed a minute before it expires, and on demand
//! when a call says it lapsed ([`Tokens::forget`]). Errors name the platform and the options to
//! check, never a secret.

use crate::ConnectorError;
use crate::http::{self, Retry};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How the access token is obtained.
#[derive(Clone)]
pub enum Grant {
    RefreshToken(String),
    ClientCredentials,
}

/// A client of a platform's token endpoint.
#[derive(Clone)]
pub struct OAuth {
    /// Who issues the tokens, for messages (`Google OAuth`, `Salesforce`).
    pub platform: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub grant: Grant,
    /// Extra form fields (`scope`, ...).
    pub extra: Vec<(String, String)>,
    /// What to check when the endpoint refuses (the options naming the secrets).
    pub hint: String,
}

/// A token and what came with it (`instance_url`, ...).
#[derive(Clone)]
pub struct Token {
    pub access: String,
    pub until: Instant,
    pub answer: Value,
}

/// The current token of a session, fetched when needed.
pub struct Tokens {
    oauth: OAuth,
    retry: Retry,
    current: Option<Token>,
}

/// The `error_description` (or `error`) of an OAuth error body, or its start.
pub fn message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let d = v["error_description"].as_str().or(v["error"].as_str())?;
            Some(d.to_string())
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}

impl Tokens {
    pub fn new(oauth: OAuth, retry: Retry) -> Self {
        Self {
            oauth,
            retry,
            current: None,
        }
    }

    /// The current token, fetched first when there is none or it is about to expire.
    pub fn get(&mut self, agent: &ureq::Agent) -> Result<&Token, ConnectorError> {
        if self
            .current
            .as_ref()
            .is_none_or(|t| Instant::now() >= t.until)
        {
            self.current = Some(self.fetch(agent)?);
        }
        self.current
            .as_ref()
            .ok_or_else(|| ConnectorError::Other("no access token".into()))
    }

    /// Drops the current token (a call answered that it lapsed): the next `get` fetches one.
    pub fn forget(&mut self) {
        self.current = None;
    }

    fn fetch(&self, agent: &ureq::Agent) -> Result<Token, ConnectorError> {
        let o = &self.oauth;
        let mut form: Vec<(&str, &str)> = vec![("client_id", o.client_id.as_str())];
        // A public client (a desktop app's) has no secret.
        if !o.client_secret.is_empty() {
            form.push(("client_secret", o.client_secret.as_str()));
        }
        match &o.grant {
            Grant::RefreshToken(t) => {
                form.push(("grant_type", "refresh_token"));
                form.push(("refresh_token", t.as_str()));
            }
            Grant::ClientCredentials => form.push(("grant_type", "client_credentials")),
        }
        form.extend(o.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", http::encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let label = format!("{} token request", o.platform);
        let answer = http::retrying(&label, self.retry, message, || {
            http::answer(
                agent
                    .post(&o.token_url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("Accept", "application/json")
                    .send(&body),
            )
        })?;
        if !answer.ok() {
            return Err(ConnectorError::Other(format!(
                "{} refused the credentials (HTTP {}): {}; check {}",
                o.platform,
                answer.status,
                message(&answer.body),
                o.hint
            )));
        }
        let parsed: Value = serde_json::from_str(&answer.body).map_err(|e| {
            ConnectorError::Other(format!(
                "{} token endpoint answered something that is not a token ({e})",
                o.platform
            ))
        })?;
        let access = parsed["access_token"]
            .as_str()
            .ok_or_else(|| {
                ConnectorError::Other(format!(
                    "{} token endpoint answered without an access_token",
                    o.platform
                ))
            })?
            .to_string();
        // A token without `expires_in` (Salesforce) lives as long as the session: an hour is
        // assumed, and a lapse is caught by the call that meets it.
        let lifetime = parsed["expires_in"]
            .as_u64()
            .or_else(|| parsed["expires_in"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(3600);
        Ok(Token {
            access,
            until: Instant::now() + Duration::from_secs(lifetime.saturating_sub(60)),
            answer: parsed,
        })
    }
}
