//! `loopql cluster scheduler` and `loopql cluster executor`: Ballista's scheduler and executor
//! with loopql's SQL functions registered (scalar functions by name on both; table function
//! calls decoded on the scheduler, over the warehouse's current snapshot, and the per-client
//! ones — attribution, conversion paths — computed on the executors, one task per client).

use super::codec::Codec;
use super::per_client::Snapshot;
use super::physical_codec::PhysicalCodec;
use super::session_config;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionConfig;
use loopql_core::error::{EngineError, Result};
use loopql_core::project::Project;
use loopql_core::{Engine, EngineBuilder};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The scheduler's engine: over the warehouse's current snapshot, rebuilt when a sync commits a
/// new one.
struct Catalogs {
    project: Project,
    current: Mutex<Arc<Engine>>,
}

impl Catalogs {
    async fn build(project: &Project) -> Result<Arc<Engine>> {
        let engine = EngineBuilder::new(project.clone(), Arc::new(loopql_warehouse::Auto))
            .open()
            .await?;
        if engine.snapshot().is_none() {
            tracing::warn!(
                "{} has no snapshot yet: table functions will fail until `loopql sync` runs",
                project.warehouse.display()
            );
        }
        Ok(Arc::new(engine))
    }

    /// The engine of the current snapshot (rebuilt when `CURRENT` moved).
    fn current(&self) -> datafusion::common::Result<Arc<Engine>> {
        let on_disk = self
            .project
            .warehouse
            .local_dir()
            .and_then(|d| std::fs::read_to_string(d.join(loopql_warehouse::CURRENT)).ok())
            .and_then(|t| t.trim().parse::<u64>().ok());
        let mut guard = self
            .current
            .lock()
            .map_err(|_| datafusion::error::DataFusionError::Internal("catalog lock".into()))?;
        if on_disk.is_some() && on_disk != guard.snapshot() {
            let project = self.project.clone();
            let rebuilt = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(Self::build(&project))
            })
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
            *guard = rebuilt;
        }
        Ok(guard.clone())
    }
}

/// Ballista's function lists with loopql's scalar and aggregate functions added, on `state`.
fn with_functions(state: SessionStateBuilder) -> SessionStateBuilder {
    let mut scalar = ballista_core::extension::ballista_scalar_functions();
    scalar.extend(loopql_core::functions::scalar_functions());
    let mut aggregate = ballista_core::extension::ballista_aggregate_functions();
    aggregate.extend(loopql_core::functions::aggregate_functions());
    state
        .with_scalar_functions(scalar)
        .with_aggregate_functions(aggregate)
        .with_window_functions(ballista_core::extension::ballista_window_functions())
}

/// Runs a scheduler on `listen` until the process ends.
pub async fn run_scheduler(project: Project, listen: SocketAddr) -> Result<()> {
    let catalogs = Arc::new(Catalogs {
        current: Mutex::new(Catalogs::build(&project).await?),
        project,
    });
    let mut config = SchedulerConfig::default();
    config.bind_host = listen.ip().to_string();
    config.bind_port = listen.port();
    config.external_host = listen.ip().to_string();
    config.override_config_producer = Some(Arc::new(session_config));
    config.override_logical_codec = Some(Arc::new(Codec::default()));
    config.override_physical_codec = Some(Arc::new(PhysicalCodec::default()));
    config.override_session_builder = Some(Arc::new(move |config: SessionConfig| {
        let engine = catalogs.current()?;
        // The snapshot planned on: per-client table functions become a stage the executors
        // run over it (`per_client.rs`).
        let config = match engine.snapshot() {
            Some(id) => config.with_extension(Arc::new(Snapshot {
                warehouse: catalogs.project.warehouse.display(),
                id,
            })),
            None => config,
        };
        let state: SessionState = with_functions(engine.job_state(config))
            .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
            .build();
        Ok(state)
    }));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| EngineError::Mode(format!("scheduler: {e}")))?;
    start_server(cluster, listen, Arc::new(config))
        .await
        .map_err(|e| EngineError::Mode(format!("scheduler on {listen}: {e}")))
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    pub scheduler: (String, u16),
    pub bind_host: String,
    pub port: u16,
    pub grpc_port: u16,
    pub work_dir: Option<PathBuf>,
    pub concurrent_tasks: usize,
}

/// Runs an executor until the process ends.
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    let work_dir = options.work_dir.clone();
    let state = with_functions(loopql_core::engine::state::builder(session_config())).build();
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: Some(options.bind_host.clone()),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler.0.clone(),
        scheduler_port: options.scheduler.1,
        work_dir: options
            .work_dir
            .as_ref()
            .map(|d| d.to_string_lossy().into_owned()),
        vcores: options.concurrent_tasks,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        override_config_producer: Some(Arc::new(session_config)),
        override_logical_codec: Some(Arc::new(Codec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        // The plans name the warehouse's files: local ones, or objects of an `s3://` bucket
        // opened from this process's `AWS_*` environment.
        override_runtime_producer: Some(Arc::new(move |_| {
            let mut builder = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
                .with_object_store_registry(Arc::new(loopql_warehouse::store::OnDemand::default()));
            if let Some(dir) = &work_dir {
                builder = builder.with_temp_file_path(dir.clone());
            }
            Ok(Arc::new(builder.build()?))
        })),
        ..Default::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| EngineError::Mode(format!("executor: {e}")))
}
