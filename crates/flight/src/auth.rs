//! Who is calling: Basic credentials (at Handshake) give a bearer token that expires; static
//! tokens from the project file are accepted as they are. Secrets are kept as SHA-256 hashes and
//! compared in constant time.

use base64::Engine as _;
use loopql_core::server_config::{Principal, Scope, Secret, ServerConfig, sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tonic::Status;

#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub scope: Scope,
}

struct Known {
    name: String,
    scope: Scope,
    passwords: Vec<[u8; 32]>,
    tokens: Vec<[u8; 32]>,
}

pub struct Auth {
    principals: Vec<Known>,
    /// Hash of an issued token → (principal index, expiry).
    issued: Mutex<HashMap<[u8; 32], (usize, Instant)>>,
    ttl: Duration,
}

fn eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn resolve(p: &Principal, secrets: &[Secret], what: &str) -> Result<Vec<[u8; 32]>, String> {
    secrets
        .iter()
        .map(|s| match s {
            Secret::Sha256(h) => Ok(*h),
            Secret::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(sha256(&v)),
                _ => Err(format!(
                    "principal `{}`: the {what} variable `{var}` is not set",
                    p.name
                )),
            },
        })
        .collect()
}

/// `n` random bytes as hex, from the operating system (tokens, statement handles).
pub fn random_hex(n: usize) -> Result<String, Status> {
    use std::io::Read;
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Status::internal(format!("cannot make a random id: {e}")))?;
    Ok(hex::encode(bytes))
}

impl Auth {
    /// Reads environment-held secrets; fails when one is missing or nobody may log in.
    pub fn new(config: &ServerConfig) -> Result<Self, String> {
        if config.principals.is_empty() {
            return Err(
                "no principals: add [[server.principals]] to the project file (name, password_sha256 or password_env, admin = true or clients = [...])"
                    .into(),
            );
        }
        let principals = config
            .principals
            .iter()
            .map(|p| {
                Ok(Known {
                    name: p.name.clone(),
                    scope: p.scope.clone(),
                    passwords: resolve(p, &p.passwords, "password")?,
                    tokens: resolve(p, &p.tokens, "token")?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            principals,
            issued: Mutex::new(HashMap::new()),
            ttl: config.token_ttl,
        })
    }

    fn caller(&self, i: usize) -> Caller {
        Caller {
            name: self.principals[i].name.clone(),
            scope: self.principals[i].scope.clone(),
        }
    }

    /// `user:password` from a Basic header → a new bearer token.
    pub fn login(&self, basic: &str) -> Result<(Caller, String), Status> {
        let bad = || Status::unauthenticated("invalid user name or password");
        // Padded or not: Go clients (ADBC) send base64 without `=` padding.
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let decoded = lenient
            .decode(basic.trim())
            .map_err(|_| Status::unauthenticated("Basic credentials are not base64"))?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (user, password) = text.split_once(':').ok_or_else(bad)?;
        let hash = sha256(password);
        let i = self
            .principals
            .iter()
            .position(|p| p.name == user && p.passwords.iter().any(|h| eq(h, &hash)))
            .ok_or_else(bad)?;
        let token = random_hex(32)?;
        let mut issued = self
            .issued
            .lock()
            .map_err(|_| Status::internal("auth state poisoned"))?;
        let now = Instant::now();
        issued.retain(|_, (_, until)| *until > now);
        issued.insert(sha256(&token), (i, now + self.ttl));
        Ok((self.caller(i), token))
    }

    /// The caller a bearer token belongs to.
    pub fn check_token(&self, token: &str) -> Result<Caller, Status> {
        let hash = sha256(token.trim());
        if let Some(i) = self
            .principals
            .iter()
            .position(|p| p.tokens.iter().any(|h| eq(h, &hash)))
        {
            return Ok(self.caller(i));
        }
        let issued = self
            .issued
            .lock()
            .map_err(|_| Status::internal("auth state poisoned"))?;
        match issued.get(&hash) {
            Some((i, until)) if *until > Instant::now() => Ok(self.caller(*i)),
            Some(_) => Err(Status::unauthenticated("token expired: log in again")),
            None => Err(Status::unauthenticated("invalid token")),
        }
    }

    /// The caller of a request: `authorization: Bearer TOKEN` (or Basic credentials).
    pub fn check<T>(&self, request: &tonic::Request<T>) -> Result<Caller, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| {
                Status::unauthenticated(
                    "no authorization header: log in (Basic) or send a Bearer token",
                )
            })?
            .to_str()
            .map_err(|_| Status::unauthenticated("unreadable authorization header"))?;
        if let Some(token) = strip(header, "Bearer ") {
            self.check_token(token)
        } else if let Some(basic) = strip(header, "Basic ") {
            self.login(basic).map(|(c, _)| c)
        } else {
            Err(Status::unauthenticated(
                "authorization must be Basic or Bearer",
            ))
        }
    }
}

/// `header` without its scheme (case-insensitive).
pub fn strip<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    (header.len() >= scheme.len() && header[..scheme.len()].eq_ignore_ascii_case(scheme))
        .then(|| &header[scheme.len()..])
}
