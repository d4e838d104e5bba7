//! The one builder of engines. Whatever an engine reads — the connectors, a warehouse snapshot on
//! disk or S3, a Ballista cluster — it is assembled here, in the same order: loopql's session
//! state, the read mode's tables, loopql's functions, the reference tables, the harmonized views
//! and the shipped views, then the scope (a principal's engine loses its raw tables).
//!
//! The read mode is an argument, a [`TableSource`]: loopql-core has [`Live`] (the connectors);
//! loopql-warehouse adds the warehouse's snapshots and loopql-cluster a cluster, without this
//! crate knowing either.

use super::Engine;
use super::bind::bind_source;
use super::state::{self, CATALOG};
use crate::attribution::cache::{CreditCache, EngineCache};
use crate::error::{EngineError, Result};
use crate::plugin_host::{PluginHost, PluginTable, default_dirs};
use crate::project::{Project, Source};
use crate::server_config::Scope;
use crate::views;
use async_trait::async_trait;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::execution::SessionState;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where an engine's tables come from: the read mode.
#[async_trait]
pub trait TableSource: std::fmt::Debug + Send + Sync {
    /// The configuration the session starts from (a cluster adds Ballista's).
    fn configure(&self, config: SessionConfig, project: &Project) -> SessionConfig {
        let _ = project;
        config
    }

    /// The session over `state` (a cluster's is a Ballista client).
    async fn session(&self, state: SessionState) -> Result<SessionContext> {
        Ok(SessionContext::new_with_state(state))
    }

    /// Registers `project`'s tables in `ctx` (loopql's functions are there already) and says
    /// what it registered.
    async fn register(&self, ctx: &SessionContext, project: &Project) -> Result<Registered>;
}

/// What a [`TableSource`] registered.
#[derive(Debug, Default)]
pub struct Registered {
    /// How the harmonized views come about.
    pub harmonized: Harmonized,
    /// True when the source registered the reference tables itself (a cluster reads them from
    /// the snapshot, having no project files); otherwise the builder builds them from the project.
    pub reference_tables: bool,
    /// The warehouse snapshot the tables come from, if they do.
    pub snapshot: Option<u64>,
    /// The connector libraries the tables read through, if they do.
    pub plugins: Option<Arc<PluginHost>>,
}

/// How an engine's harmonized views come about.
#[derive(Debug)]
pub enum Harmonized {
    /// Each view is the `UNION ALL` of these connector mappings `(view, SQL)`.
    Mappings(Vec<(String, String)>),
    /// The source registered these harmonized tables; the others become empty typed views.
    Tables(BTreeSet<String>),
}

impl Default for Harmonized {
    fn default() -> Self {
        Self::Mappings(Vec::new())
    }
}

/// The live read mode: each connector's raw tables read through its plugin, the harmonized views
/// over them.
#[derive(Debug, Default)]
pub struct Live {
    /// Libraries already loaded; `None`: the process's host for the project's plugin places
    /// ([`shared_plugins`]).
    host: Option<Arc<PluginHost>>,
}

impl Live {
    /// Over libraries already loaded (`loopql connectors check` shows what it found first).
    pub fn with_host(host: PluginHost) -> Self {
        Self {
            host: Some(Arc::new(host)),
        }
    }
}

/// The plugin host a project would get: its folders, its explicit paths, and (unless turned off)
/// the default folders.
pub fn discover_plugins(project: &Project) -> PluginHost {
    let (dirs, paths) = plugin_places(project);
    PluginHost::discover(&dirs, &paths)
}

fn plugin_places(project: &Project) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut dirs = project.plugin_dirs.clone();
    if project.search_default_plugin_dirs {
        dirs.extend(default_dirs());
    }
    (dirs, project.plugin_paths.clone())
}

/// The plugin host of this process for a project's plugin folders and paths: discovered at the
/// first engine that asks, then shared by every later one (per-client and per-principal engines
/// included). A library is never unloaded, and loading a path again would hand back the code
/// already mapped, so a process sees a connector folder as it was at its first look.
pub fn shared_plugins(project: &Project) -> Arc<PluginHost> {
    type Places = (Vec<PathBuf>, Vec<PathBuf>);
    static HOSTS: Mutex<BTreeMap<Places, Arc<PluginHost>>> = Mutex::new(BTreeMap::new());
    let places = plugin_places(project);
    // Discovery runs under the lock: two engines opening at once load the libraries once.
    let mut hosts = HOSTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    hosts
        .entry(places)
        .or_insert_with_key(|(dirs, paths)| Arc::new(PluginHost::discover(dirs, paths)))
        .clone()
}

#[async_trait]
impl TableSource for Live {
    async fn register(&self, ctx: &SessionContext, project: &Project) -> Result<Registered> {
        let host = match &self.host {
            Some(h) => h.clone(),
            None => shared_plugins(project),
        };
        let mut by_connector: BTreeMap<&str, Vec<&Source>> = BTreeMap::new();
        for s in &project.sources {
            by_connector
                .entry(s.connector.as_str())
                .or_default()
                .push(s);
        }
        let catalog = ctx.catalog(CATALOG).ok_or_else(|| EngineError::View {
            view: CATALOG.into(),
            message: "default catalog missing".into(),
        })?;
        let mut mappings = Vec::new();
        for (name, sources) in by_connector {
            let library = host.get(name).ok_or_else(|| EngineError::Source {
                location: sources[0].location.clone(),
                source_name: sources[0].name.clone(),
                message: host.explain_missing(name),
            })?;
            let manifest = library.manifest();
            let bound = sources
                .iter()
                .map(|s| bind_source(project, s, &manifest.options))
                .collect::<Result<Vec<_>>>()?;
            let schema = Arc::new(MemorySchemaProvider::new());
            for spec in &manifest.tables {
                let table = PluginTable::new(library.clone(), spec, bound.clone());
                schema.register_table(spec.name.clone(), Arc::new(table))?;
            }
            catalog.register_schema(name, schema)?;
            mappings.extend(
                manifest
                    .mappings
                    .iter()
                    .map(|m| (m.view.clone(), m.sql.clone())),
            );
        }
        Ok(Registered {
            harmonized: Harmonized::Mappings(mappings),
            reference_tables: false,
            snapshot: None,
            plugins: Some(host),
        })
    }
}

/// Builds engines over one project and one read mode; cheap to clone, so front ends that open
/// several engines (one per client or principal) keep one.
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    project: Project,
    source: Arc<dyn TableSource>,
    runtime: Option<Arc<RuntimeEnv>>,
    /// The clients the engine is cut down to (`None`: the whole project).
    clients: Option<Vec<String>>,
    /// A principal's engine: no raw connector schemas, queries only.
    principal: bool,
    /// Bytes of query results an engine over a warehouse snapshot keeps (0: none).
    result_cache: usize,
}

impl EngineBuilder {
    pub fn new(project: Project, source: Arc<dyn TableSource>) -> Self {
        Self {
            project,
            source,
            runtime: None,
            clients: None,
            principal: false,
            result_cache: 0,
        }
    }

    /// Over the connectors ([`Live`]).
    pub fn live(project: Project) -> Self {
        Self::new(project, Arc::new(Live::default()))
    }

    /// The project the engines are built from (the whole one, before any scope).
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The read mode.
    pub fn source(&self) -> &Arc<dyn TableSource> {
        &self.source
    }

    /// Engines scoped to one client (every table shows its rows only), or to the whole project
    /// when `client` is `None`.
    pub fn client(self, client: Option<&str>) -> Result<Self> {
        match client {
            None => Ok(Self {
                clients: None,
                principal: false,
                ..self
            }),
            Some(id) => self.clients(&[id.to_string()], false),
        }
    }

    /// Engines for a principal: an admin gets the whole project; a scoped principal gets its
    /// clients' rows only, no raw connector tables, and may only query.
    pub fn scope(self, scope: &Scope) -> Result<Self> {
        match scope {
            Scope::Admin => self.client(None),
            Scope::Clients(ids) => self.clients(ids, true),
        }
    }

    fn clients(self, ids: &[String], principal: bool) -> Result<Self> {
        if self.project.for_clients(ids).is_none() {
            return Err(EngineError::UnknownClient {
                id: ids.join(", "),
                known: self.project.clients.iter().map(|c| c.id.clone()).collect(),
            });
        }
        Ok(Self {
            clients: Some(ids.to_vec()),
            principal,
            ..self
        })
    }

    /// Queries run in `runtime` (its memory pool and spill folder) instead of DataFusion's
    /// default one.
    pub fn runtime(self, runtime: Arc<RuntimeEnv>) -> Self {
        Self {
            runtime: Some(runtime),
            ..self
        }
    }

    /// Engines over a warehouse snapshot keep up to `bytes` of query results and answer a
    /// repeated query from them (see `engine/results.rs`); engines over live connectors never
    /// do (their sources may change between two queries). 0, the default: no result cache.
    pub fn result_cache(self, bytes: usize) -> Self {
        Self {
            result_cache: bytes,
            ..self
        }
    }

    /// Builds the engine.
    pub async fn open(&self) -> Result<Engine> {
        let project = match &self.clients {
            None => self.project.clone(),
            Some(ids) => {
                self.project
                    .for_clients(ids)
                    .ok_or_else(|| EngineError::UnknownClient {
                        id: ids.join(", "),
                        known: self.project.clients.iter().map(|c| c.id.clone()).collect(),
                    })?
            }
        };
        let cache = Arc::new(CreditCache::default());
        let config = self
            .source
            .configure(state::config(SessionConfig::new()), &project)
            .with_extension(Arc::new(EngineCache(cache.clone())));
        // Plans run here (a cluster's scheduler plans with `state::builder` alone).
        let mut builder = state::builder(config)
            .with_physical_optimizer_rule(Arc::new(super::compact_views::CompactViews));
        if let Some(runtime) = &self.runtime {
            builder = builder.with_runtime_env(runtime.clone());
        }
        let ctx = self.source.session(builder.build()).await?;
        crate::functions::register(&ctx)?;
        let registered = self.source.register(&ctx, &project).await?;
        cache.set_version(registered.snapshot.map(|s| data_version(s, &project)));
        if !registered.reference_tables {
            crate::reference::register(&ctx, &project)?;
        }
        let (mappings, present) = match registered.harmonized {
            Harmonized::Mappings(mappings) => {
                views::register_harmonized(&ctx, &mappings).await?;
                (mappings, Default::default())
            }
            Harmonized::Tables(present) => {
                views::register_missing_harmonized(&ctx, &present).await?;
                (Vec::new(), present)
            }
        };
        views::register_derived(&ctx, &present).await?;
        let engine = Engine {
            ctx,
            project: Arc::new(project),
            host: registered
                .plugins
                .unwrap_or_else(|| Arc::new(PluginHost::new())),
            mappings,
            snapshot: registered.snapshot,
            clients: self.clients.clone(),
            read_only: self.principal,
            credits: cache,
            results: (self.result_cache > 0 && registered.snapshot.is_some())
                .then(|| Arc::new(super::results::ResultCache::new(self.result_cache))),
        };
        if self.principal {
            crate::tenancy::hide_raw_tables(&engine.ctx)?;
        }
        Ok(engine)
    }
}

/// What an engine over warehouse snapshot `snapshot` reads: the snapshot, and the project's own
/// inputs the views join (clients' time zones and currencies, the rates and category files).
fn data_version(snapshot: u64, project: &Project) -> String {
    let stamp = |path: Option<&std::path::Path>| {
        path.and_then(|p| std::fs::metadata(p).ok())
            .map(|m| format!("{:?}/{}", m.modified().ok(), m.len()))
            .unwrap_or_default()
    };
    format!(
        "snapshot {snapshot}; clients {:?}; fx {}; categories {}",
        project.clients,
        stamp(project.fx.as_ref().map(|f| f.path.as_path())),
        stamp(project.source_categories.as_deref()),
    )
}
