//! Client scoping, enforced by the engine: a scoped session is built from the project cut down
//! to its clients (their sources, reference rows and notes only), and then loses its raw
//! connector schemas, so every table it can name holds only its clients' rows. Scoped sessions
//! are read-only: no DDL, DML, `COPY`, external tables or `SET`.

use crate::error::{EngineError, Result};
use crate::project::Project;
use crate::server_config::Scope;
use crate::session::{CATALOG, DEFAULT_SCHEMA, Engine};
use datafusion::execution::context::SQLOptions;

/// Schemas a scoped session keeps: the views and reference tables, and `information_schema`.
const KEPT_SCHEMAS: &[&str] = &[DEFAULT_SCHEMA, "information_schema"];

impl Engine {
    /// The engine a principal with `scope` queries.
    pub async fn open_scope(project: &Project, scope: &Scope) -> Result<Self> {
        match scope {
            Scope::Admin => Self::open(project.clone()).await,
            Scope::Clients(ids) => {
                let scoped =
                    project
                        .for_clients(ids)
                        .ok_or_else(|| EngineError::UnknownClient {
                            id: ids.join(", "),
                            known: project.clients.iter().map(|c| c.id.clone()).collect(),
                        })?;
                let engine = Self::open(scoped).await?;
                engine.hide_raw_tables()?;
                Ok(engine)
            }
        }
    }

    /// Drops every schema but the views' and `information_schema` from the catalog. The views
    /// keep working: each holds its resolved plan, not the names it was written with.
    fn hide_raw_tables(&self) -> Result<()> {
        let ctx = self.context();
        let Some(catalog) = ctx.catalog(CATALOG) else {
            return Ok(());
        };
        for name in catalog.schema_names() {
            if !KEPT_SCHEMAS.contains(&name.as_str()) {
                catalog.deregister_schema(&name, true)?;
            }
        }
        Ok(())
    }
}

/// What a scope may run: admins anything, scoped principals queries only.
pub fn sql_options(scope: &Scope) -> SQLOptions {
    match scope {
        Scope::Admin => SQLOptions::new(),
        Scope::Clients(_) => SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false),
    }
}
