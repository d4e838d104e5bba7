//! loopql-cluster: Apache DataFusion Ballista. The client side of `--cluster df://HOST:PORT` (the
//! [`Cluster`] read mode), and the scheduler and executor roles (`roles.rs`) the same binary runs.
//!
//! A cluster runs over the warehouse: the client registers the current snapshot's tables as
//! listing tables and views (what Ballista can send), and the reference tables from the snapshot
//! too (the executors have no project files). loopql's scalar functions travel by name, so
//! scheduler and executors register them; a call of a loopql table function (attribution,
//! forecast, ...) travels as the call (`codec.rs`) and is made again on the scheduler, over the
//! scheduler's own catalog of the same warehouse: `attribution` and `conversion_paths` as a
//! stage of one task per client that the executors compute (`per_client.rs`), the others on the
//! scheduler while it plans.

pub mod codec;
pub mod per_client;
pub mod physical_codec;
pub mod roles;

use async_trait::async_trait;
use ballista::extension::{SessionConfigExt, SessionContextExt};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::execution::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};
use loopql_core::engine::{CATALOG, Registered, TableSource, shared_plugins, state};
use loopql_core::error::{EngineError, Result};
use loopql_core::project::Project;
use loopql_warehouse::manifest::Manifest;
use loopql_warehouse::register::Which;
use std::sync::Arc;

/// The session configuration every cluster role and client uses.
pub fn session_config() -> SessionConfig {
    state::config(SessionConfig::new_with_ballista())
}

/// The cluster read mode: queries run on the Ballista cluster at `url` (`df://HOST:PORT`), over
/// the warehouse's current snapshot.
#[derive(Debug, Clone)]
pub struct Cluster {
    url: String,
}

impl Cluster {
    /// Checks the URL (`df://HOST:PORT`).
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self {
            url: check_url(url)?,
        })
    }
}

#[async_trait]
impl TableSource for Cluster {
    fn configure(&self, config: SessionConfig, project: &Project) -> SessionConfig {
        // Table function calls carry the session's clients: the scheduler sees every client.
        let clients = project.clients.iter().map(|c| c.id.clone()).collect();
        config
            .upgrade_for_ballista()
            .with_ballista_logical_extension_codec(Arc::new(codec::Codec::for_clients(clients)))
    }

    async fn session(&self, state: SessionState) -> Result<SessionContext> {
        SessionContext::remote_with_state(&self.url, state)
            .await
            .map_err(|e| EngineError::Mode(format!("cluster {}: {e}", self.url)))
    }

    async fn register(&self, ctx: &SessionContext, project: &Project) -> Result<Registered> {
        let Some((warehouse, manifest)) = loopql_warehouse::source::current(project).await? else {
            return Err(EngineError::Mode(format!(
                "the cluster reads the warehouse, and {} has no snapshot yet; run `loopql sync` first",
                project.warehouse.display()
            )));
        };
        let registered = loopql_warehouse::source::register_snapshot(
            ctx,
            project,
            &warehouse,
            &manifest,
            Which::All,
        )
        .await?;
        register_live_only(ctx, project, &manifest)?;
        Ok(registered)
    }
}

/// Connector tables the project reads that the snapshot lacks: registered so a query naming
/// one is told to sync, not that the table does not exist.
fn register_live_only(ctx: &SessionContext, project: &Project, manifest: &Manifest) -> Result<()> {
    let host = shared_plugins(project);
    let Some(catalog) = ctx.catalog(CATALOG) else {
        return Ok(());
    };
    let mut connectors: Vec<&str> = project
        .sources
        .iter()
        .map(|s| s.connector.as_str())
        .collect();
    connectors.sort_unstable();
    connectors.dedup();
    for connector in connectors {
        let Some(library) = host.get(connector) else {
            continue;
        };
        for spec in &library.manifest().tables {
            let name = format!("{connector}.{}", spec.name);
            if manifest.tables.contains_key(&name) {
                continue;
            }
            let schema: Arc<dyn SchemaProvider> = match catalog.schema(connector) {
                Some(s) => s,
                None => {
                    let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
                    catalog.register_schema(connector, s.clone())?;
                    s
                }
            };
            let mut fields = spec.schema.fields().to_vec();
            fields.push(Arc::new(datafusion::arrow::datatypes::Field::new(
                "client_id",
                datafusion::arrow::datatypes::DataType::Utf8,
                false,
            )));
            schema.register_table(
                spec.name.clone(),
                Arc::new(codec::LiveOnly {
                    name,
                    schema: Arc::new(datafusion::arrow::datatypes::Schema::new(fields)),
                }),
            )?;
        }
    }
    Ok(())
}

/// Checks a `--cluster` URL: `df://HOST:PORT`.
fn check_url(url: &str) -> Result<String> {
    let bad = || {
        EngineError::Mode(format!(
            "--cluster `{url}`: expected df://HOST:PORT (the scheduler's address)"
        ))
    };
    let rest = url.strip_prefix("df://").ok_or_else(bad)?;
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(url.into()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_are_checked() {
        assert!(check_url("df://localhost:50050").is_ok());
        for bad in ["localhost:50050", "df://localhost", "df://:1", "http://h:1"] {
            let err = check_url(bad).unwrap_err().to_string();
            assert!(err.contains("expected df://HOST:PORT"), "{bad}: {err}");
        }
    }
}
