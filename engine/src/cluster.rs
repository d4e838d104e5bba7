//! Ballista: the cluster roles and the client side of `--cluster df://HOST:PORT`.

use crate::error::{EngineError, Result};
use crate::project::{Project, ReadFrom};
use datafusion::prelude::SessionContext;

/// A session whose queries run on the cluster the project names.
pub async fn client_context(project: &Project) -> Result<SessionContext> {
    let ReadFrom::Cluster(url) = &project.read_from else {
        return Err(EngineError::Mode("no cluster URL given".into()));
    };
    Err(EngineError::Mode(format!(
        "cluster {url}: this build has no Ballista client"
    )))
}

/// Checks a `--cluster` URL: `df://HOST:PORT`.
pub fn check_url(url: &str) -> Result<String> {
    let rest = url.strip_prefix("df://").ok_or_else(|| {
        EngineError::Mode(format!(
            "--cluster `{url}`: expected df://HOST:PORT (the scheduler's address)"
        ))
    })?;
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(url.into()),
        _ => Err(EngineError::Mode(format!(
            "--cluster `{url}`: expected df://HOST:PORT (the scheduler's address)"
        ))),
    }
}
