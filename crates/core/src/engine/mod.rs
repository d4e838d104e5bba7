//! The engine: a DataFusion session over one project's tables (catalog `loopql`; connectors'
//! raw tables in a schema named after each connector; harmonized and shipped views, reference
//! tables and functions in `public`). It is built by [`EngineBuilder`] — the one builder, for
//! every read mode — and used through [`Engine::plan`] — the one front door, for every front
//! end — and [`Engine::catalog`]. The session itself never leaves this crate.

mod bind;
mod builder;
mod catalog;
pub mod compact_views;
mod query;
mod results;
pub mod state;

pub use builder::{
    EngineBuilder, Harmonized, Live, Registered, TableSource, discover_plugins, shared_plugins,
};
pub use catalog::{CatalogSnapshot, FunctionEntry, FunctionKind, TableEntry, TableKind};
pub use query::{FrontEnd, Params, Query, QueryOptions, QueryStream, StatementKind};
pub use state::{CATALOG, DEFAULT_SCHEMA};

use crate::plugin_host::PluginHost;
use crate::project::Project;
use datafusion::catalog::CatalogProviderList;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionConfig;
use std::sync::Arc;

pub struct Engine {
    ctx: datafusion::prelude::SessionContext,
    project: Arc<Project>,
    host: Arc<PluginHost>,
    /// Each harmonized view's mapping queries, as the connectors declare them.
    mappings: Vec<(String, String)>,
    /// The warehouse snapshot the tables come from; `None` when they come from connectors.
    snapshot: Option<u64>,
    /// The clients the engine is cut down to (`None`: all of the project's).
    clients: Option<Vec<String>>,
    /// A principal's engine: queries only.
    read_only: bool,
    /// Attribution credits already computed (over a warehouse snapshot).
    credits: std::sync::Arc<crate::attribution::cache::CreditCache>,
    /// Results of repeatable queries (over a warehouse snapshot, when the builder asked for it).
    results: Option<Arc<results::ResultCache>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("project", &self.project.path)
            .field("snapshot", &self.snapshot)
            .field("clients", &self.clients)
            .finish()
    }
}

impl Engine {
    /// The project the engine was built from (cut down to its clients when scoped).
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The connector libraries the engine reads through (none over a warehouse).
    pub fn plugins(&self) -> &PluginHost {
        &self.host
    }

    /// The harmonized views' mapping queries (empty over the warehouse).
    pub fn mappings(&self) -> &[(String, String)] {
        &self.mappings
    }

    /// The warehouse snapshot the engine reads, `None` when it reads the connectors.
    pub fn snapshot(&self) -> Option<u64> {
        self.snapshot
    }

    /// The clients the engine is scoped to; `None`: every client of the project.
    pub fn clients(&self) -> Option<&[String]> {
        self.clients.as_deref()
    }

    /// How many times a client's attribution credits were computed rather than found in the
    /// engine's cache (an engine over a warehouse snapshot computes them once per settings).
    pub fn credits_computed(&self) -> u64 {
        self.credits.computed()
    }

    /// How many statements were answered from the engine's result cache (see
    /// [`EngineBuilder::result_cache`]).
    pub fn results_reused(&self) -> u64 {
        self.results.as_ref().map_or(0, |c| c.hits())
    }

    /// A session state over this engine's catalogs and functions with another configuration:
    /// what a Ballista scheduler plans each job in (it adds its own rules and functions).
    pub fn job_state(&self, config: SessionConfig) -> SessionStateBuilder {
        state::builder(
            config
                .with_default_catalog_and_schema(CATALOG, DEFAULT_SCHEMA)
                .with_information_schema(true)
                // The catalog list holds the engine's tables: creating the default catalog
                // would replace it with an empty one.
                .with_create_default_catalog_and_schema(false),
        )
        .with_catalog_list(self.catalog_list())
        // The engine's object stores (an `s3://` warehouse is registered there) and caches
        // (the snapshot's file lists and statistics, from its manifest: planning lists no
        // folder and reads no footer).
        .with_runtime_env(Arc::new(RuntimeEnv {
            object_store_registry: self.ctx.runtime_env().object_store_registry.clone(),
            cache_manager: self.ctx.runtime_env().cache_manager.clone(),
            ..RuntimeEnv::default()
        }))
    }

    fn catalog_list(&self) -> Arc<dyn CatalogProviderList> {
        self.ctx.state().catalog_list().clone()
    }
}
