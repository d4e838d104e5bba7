//! Builds the engine: project + plugins -> a DataFusion `SessionContext` with each connector's raw
//! tables in a schema named after it and the harmonized views over them. Front ends (CLI, shell,
//! reports, Flight SQL) talk to the engine only through [`Engine`].

use crate::error::{EngineError, Result};
use crate::plugin_host::{BoundSource, PluginHost, PluginTable, default_dirs};
use crate::project::{Project, ReadFrom, Source};
use crate::views;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::dataframe::DataFrame;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{SessionConfig, SessionContext};
use loopql_connector_sdk::{OptionKind, OptionSpec};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const CATALOG: &str = "loopql";
pub const DEFAULT_SCHEMA: &str = "public";

pub struct Engine {
    ctx: SessionContext,
    project: Arc<Project>,
    host: Arc<PluginHost>,
    /// Each harmonized view's mapping queries, as the connectors declare them.
    mappings: Vec<(String, String)>,
    /// The warehouse snapshot the tables come from; `None` when they come from connectors.
    snapshot: Option<u64>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("project", &self.project.path)
            .finish()
    }
}

impl Engine {
    /// Builds the session: over the warehouse's current snapshot when there is one (unless the
    /// project says `Live`), else over the connectors.
    pub async fn open(project: Project) -> Result<Self> {
        match &project.read_from {
            ReadFrom::Live => {}
            ReadFrom::Auto => {
                if let Some(engine) = Self::over_warehouse(&project, false).await? {
                    return Ok(engine);
                }
            }
            ReadFrom::Cluster(_) => {
                return Self::over_warehouse(&project, true).await?.ok_or_else(|| {
                    EngineError::Mode(format!(
                        "the cluster reads the warehouse, and {} has no snapshot yet; run `loopql sync` first",
                        project.warehouse.display()
                    ))
                });
            }
        }
        let host = Self::discover_plugins(&project);
        Self::with_host(project, host).await
    }

    /// The engine over the warehouse's current snapshot, or `None` without one.
    async fn over_warehouse(project: &Project, cluster: bool) -> Result<Option<Self>> {
        if let Some(dir) = project.warehouse.local_dir()
            && !dir.join("CURRENT").exists()
        {
            return Ok(None);
        }
        let warehouse = crate::warehouse::Warehouse::open(&project.warehouse)?;
        let Some(manifest) = warehouse.current().await? else {
            return Ok(None);
        };
        let ctx = if cluster {
            crate::cluster::client_context(project).await?
        } else {
            Self::bare_context(project)?
        };
        crate::functions::register(&ctx)?;
        let which = if cluster {
            crate::warehouse::register::Which::All
        } else {
            crate::reference::register(&ctx, project)?;
            crate::warehouse::register::Which::Data
        };
        let clients: Vec<String> = project.clients.iter().map(|c| c.id.clone()).collect();
        crate::warehouse::register::register(
            &ctx,
            &warehouse,
            manifest.snapshot,
            &manifest.tables,
            &clients,
            which,
        )
        .await?;
        if cluster {
            crate::cluster::register_live_only(&ctx, project, &manifest)?;
        }
        views::register_missing_harmonized(&ctx, &manifest.tables).await?;
        views::register_derived(&ctx).await?;
        Ok(Some(Self {
            ctx,
            project: Arc::new(project.clone()),
            host: Arc::new(PluginHost::new()),
            mappings: Vec::new(),
            snapshot: Some(manifest.snapshot),
        }))
    }

    /// A session with loopql's configuration and nothing registered.
    pub fn bare_context(_project: &Project) -> Result<SessionContext> {
        let config = crate::settings::install(
            SessionConfig::new()
                .with_default_catalog_and_schema(CATALOG, DEFAULT_SCHEMA)
                .with_information_schema(true)
                .with_create_default_catalog_and_schema(true),
        );
        Ok(SessionContext::new_with_state(
            datafusion::execution::SessionStateBuilder::new()
                .with_config(config)
                .with_default_features()
                .with_physical_optimizer_rules(physical_optimizer_rules())
                .build(),
        ))
    }

    /// Opens the engine scoped to one client (every table shows its rows only), or to the whole
    /// project when `client` is `None`.
    pub async fn open_for(project: &Project, client: Option<&str>) -> Result<Self> {
        match client {
            None => Self::open(project.clone()).await,
            Some(id) => match project.for_client(id) {
                Some(scoped) => Self::open(scoped).await,
                None => Err(EngineError::UnknownClient {
                    id: id.to_string(),
                    known: project.clients.iter().map(|c| c.id.clone()).collect(),
                }),
            },
        }
    }

    /// The plugin host a project would get: its folders, its explicit paths, and (unless turned
    /// off) the default folders.
    pub fn discover_plugins(project: &Project) -> PluginHost {
        let mut dirs = project.plugin_dirs.clone();
        if project.search_default_plugin_dirs {
            dirs.extend(default_dirs());
        }
        PluginHost::discover(&dirs, &project.plugin_paths)
    }

    /// Builds the session over an already loaded plugin host.
    pub async fn with_host(project: Project, host: PluginHost) -> Result<Self> {
        let ctx = Self::bare_context(&project)?;
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
                .map(|s| bind_source(&project, s, &manifest.options))
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
        crate::functions::register(&ctx)?;
        crate::reference::register(&ctx, &project)?;
        views::register_harmonized(&ctx, &mappings).await?;
        Ok(Self {
            ctx,
            project: Arc::new(project),
            host: Arc::new(host),
            mappings,
            snapshot: None,
        })
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

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

    /// Plans a SQL statement (query or DDL).
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        use tracing::Instrument;
        let span = tracing::info_span!("query", sql = %sql);
        Ok(self.ctx.sql(sql).instrument(span).await?)
    }

    /// Runs a query and streams its batches.
    pub async fn stream(&self, sql: &str) -> Result<SendableRecordBatchStream> {
        Ok(self.sql(sql).await?.execute_stream().await?)
    }

    /// The raw DataFusion context, for in-crate front ends and tests.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }
}

/// Checks a source's options against its connector's declared options, fills defaults, resolves
/// path and glob options against the project folder, and serializes them for the ABI.
fn bind_source(project: &Project, source: &Source, specs: &[OptionSpec]) -> Result<BoundSource> {
    let err = |message: String| EngineError::Source {
        location: source.location.clone(),
        source_name: source.name.clone(),
        message,
    };
    let allowed = || {
        specs
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut options = serde_json::Map::new();
    for (key, value) in &source.options {
        let spec = specs.iter().find(|s| &s.name == key).ok_or_else(|| {
            err(format!(
                "connector `{}` has no option `{key}`; allowed: {}",
                source.connector,
                allowed()
            ))
        })?;
        let ok = match spec.kind {
            OptionKind::String | OptionKind::Path | OptionKind::Glob => value.is_string(),
            OptionKind::Bool => value.is_boolean(),
            OptionKind::Integer => value.is_i64() || value.is_u64(),
            OptionKind::Number => value.is_number(),
        };
        if !ok {
            return Err(err(format!(
                "option `{key}`: expected {}, found {value}",
                spec.kind.describe()
            )));
        }
        let value = match (spec.kind, value.as_str()) {
            (OptionKind::Path | OptionKind::Glob, Some(p)) => {
                serde_json::Value::String(project.base_dir.join(p).to_string_lossy().into_owned())
            }
            _ => value.clone(),
        };
        options.insert(key.clone(), value);
    }
    for spec in specs {
        if options.contains_key(&spec.name) {
            continue;
        }
        if spec.required {
            return Err(err(format!(
                "connector `{}` needs option `{}` ({}: {})",
                source.connector,
                spec.name,
                spec.kind.describe(),
                spec.description
            )));
        }
        if let Some(default) = &spec.default {
            options.insert(spec.name.clone(), default.clone());
        }
    }
    Ok(BoundSource {
        name: source.name.clone(),
        client_id: source.client_id.clone(),
        options_json: serde_json::Value::Object(options).to_string(),
    })
}

/// DataFusion's physical optimizer rules without `SanityCheckPlan`. In DataFusion 55 that check
/// rejects valid plans: after a filter makes a column constant (`WHERE client_id = 'acme'`, or a
/// UNION branch's literal), a sort that leaves the constant column out is refused against a
/// merge that orders by it, although the order is the same. It only checks, never rewrites, so
/// leaving it out changes no result; tests/slt/harmonized/ordering.slt holds the queries it
/// refused.
pub(crate) fn physical_optimizer_rules()
-> Vec<Arc<dyn datafusion::physical_optimizer::PhysicalOptimizerRule + Send + Sync>> {
    datafusion::physical_optimizer::optimizer::PhysicalOptimizer::new()
        .rules
        .into_iter()
        .filter(|r| r.name() != "SanityCheckPlan")
        .collect()
}
