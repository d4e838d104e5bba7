//! The project file's `[server]` section: who may use `loopql serve` (principals with hashed or
//! environment-held secrets, admin or scoped to clients) and the limits every query runs under.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerFile {
    /// Queries running at once, over all principals; more are refused. Default: 16.
    #[serde(default)]
    max_concurrent_queries: Option<Spanned<u64>>,
    /// Seconds a query may run (planning, execution and streaming). Default: 300.
    #[serde(default)]
    query_timeout_seconds: Option<Spanned<u64>>,
    /// Memory one query may hold for sorts, joins and aggregations, in MiB. Default: 1024.
    #[serde(default)]
    query_memory_mb: Option<Spanned<u64>>,
    /// Query results kept per engine (over a warehouse snapshot), in MiB; 0: none. Default: 256.
    #[serde(default)]
    result_cache_mb: Option<u64>,
    /// Hours a token from a password login stays valid. Default: 12.
    #[serde(default)]
    token_ttl_hours: Option<Spanned<u64>>,
    /// Who may connect. Default: nobody (the server refuses to start).
    #[serde(default)]
    principals: Vec<PrincipalFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalFile {
    /// User name for password logins. Required.
    name: Spanned<String>,
    /// SHA-256 (hex) of the password. Default: none.
    #[serde(default)]
    password_sha256: Option<Spanned<String>>,
    /// Environment variable holding the password. Default: none.
    #[serde(default)]
    password_env: Option<String>,
    /// SHA-256 (hex) of static bearer tokens. Default: none.
    #[serde(default)]
    token_sha256: Vec<Spanned<String>>,
    /// Environment variable holding a static bearer token. Default: none.
    #[serde(default)]
    token_env: Option<String>,
    /// Sees every client and may run DDL and DML. Default: false.
    #[serde(default)]
    admin: bool,
    /// The clients this principal sees (read-only). Required unless `admin`.
    #[serde(default)]
    clients: Option<Spanned<Vec<String>>>,
}

/// What a principal may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Admin,
    /// Read-only, these clients' rows only (sorted, distinct).
    Clients(Vec<String>),
}

/// A secret as configured: its hash, or the variable to read it from when the server starts.
#[derive(Debug, Clone)]
pub enum Secret {
    Sha256([u8; 32]),
    Env(String),
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    pub scope: Scope,
    pub passwords: Vec<Secret>,
    pub tokens: Vec<Secret>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub max_concurrent_queries: usize,
    pub query_timeout: std::time::Duration,
    pub query_memory_bytes: usize,
    /// Query results each scope's engine keeps and answers repeated queries from (0: none).
    pub result_cache_bytes: usize,
    pub token_ttl: std::time::Duration,
    pub principals: Vec<Principal>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_concurrent_queries: 16,
            query_timeout: std::time::Duration::from_secs(300),
            query_memory_bytes: 1024 << 20,
            result_cache_bytes: 256 << 20,
            token_ttl: std::time::Duration::from_secs(12 * 3600),
            principals: Vec::new(),
        }
    }
}

/// SHA-256 of `text`.
pub fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

type Invalid<'a> =
    &'a dyn Fn(Option<std::ops::Range<usize>>, String) -> crate::project::ProjectError;

fn hash(
    s: &Spanned<String>,
    what: &str,
    invalid: Invalid<'_>,
) -> Result<Secret, crate::project::ProjectError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.get_ref().trim(), &mut out).map_err(|_| {
        invalid(
            Some(s.span()),
            format!("{what}: expected 64 hex digits (e.g. `printf %s SECRET | sha256sum`)"),
        )
    })?;
    Ok(Secret::Sha256(out))
}

pub(crate) fn resolve(
    file: &ServerFile,
    clients: &[crate::project::Client],
    invalid: Invalid<'_>,
) -> Result<ServerConfig, crate::project::ProjectError> {
    let positive = |v: &Option<Spanned<u64>>, what: &str, default: u64| match v {
        None => Ok(default),
        Some(s) if *s.get_ref() > 0 => Ok(*s.get_ref()),
        Some(s) => Err(invalid(
            Some(s.span()),
            format!("{what}: expected a number above 0"),
        )),
    };
    let mut principals: Vec<Principal> = Vec::new();
    for p in &file.principals {
        let name = p.name.get_ref().clone();
        if name.is_empty() || name.contains(':') {
            return Err(invalid(
                Some(p.name.span()),
                "principal name: expected a non-empty name without `:`".into(),
            ));
        }
        if principals.iter().any(|q| q.name == name) {
            return Err(invalid(
                Some(p.name.span()),
                format!("principal `{name}` is declared twice"),
            ));
        }
        let scope = match (&p.clients, p.admin) {
            (None, true) => Scope::Admin,
            (Some(c), false) if !c.get_ref().is_empty() => {
                for id in c.get_ref() {
                    if !clients.iter().any(|k| &k.id == id) {
                        return Err(invalid(
                            Some(c.span()),
                            format!(
                                "principal `{name}`: `{id}` is not one of the project's clients"
                            ),
                        ));
                    }
                }
                let mut ids = c.get_ref().clone();
                ids.sort();
                ids.dedup();
                Scope::Clients(ids)
            }
            _ => {
                return Err(invalid(
                    Some(p.name.span()),
                    format!(
                        "principal `{name}`: give either `admin = true` or `clients = [\"...\"]` (a non-empty list)"
                    ),
                ));
            }
        };
        let mut passwords = Vec::new();
        if let Some(h) = &p.password_sha256 {
            passwords.push(hash(h, "password_sha256", invalid)?);
        }
        if let Some(v) = &p.password_env {
            passwords.push(Secret::Env(v.clone()));
        }
        let mut tokens = Vec::new();
        for h in &p.token_sha256 {
            tokens.push(hash(h, "token_sha256", invalid)?);
        }
        if let Some(v) = &p.token_env {
            tokens.push(Secret::Env(v.clone()));
        }
        if passwords.is_empty() && tokens.is_empty() {
            return Err(invalid(
                Some(p.name.span()),
                format!(
                    "principal `{name}` has no credentials: add password_sha256, password_env, token_sha256 or token_env"
                ),
            ));
        }
        principals.push(Principal {
            name,
            scope,
            passwords,
            tokens,
        });
    }
    Ok(ServerConfig {
        max_concurrent_queries: positive(
            &file.max_concurrent_queries,
            "max_concurrent_queries",
            16,
        )? as usize,
        query_timeout: std::time::Duration::from_secs(positive(
            &file.query_timeout_seconds,
            "query_timeout_seconds",
            300,
        )?),
        query_memory_bytes: (positive(&file.query_memory_mb, "query_memory_mb", 1024)? as usize)
            << 20,
        result_cache_bytes: (file.result_cache_mb.unwrap_or(256) as usize) << 20,
        token_ttl: std::time::Duration::from_secs(
            positive(&file.token_ttl_hours, "token_ttl_hours", 12)? * 3600,
        ),
        principals,
    })
}
