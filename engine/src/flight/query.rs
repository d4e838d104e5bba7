//! Planning and running one statement for a caller under the server's limits: read-only for
//! scoped callers, its own memory pool, a slot among the concurrent queries, and a deadline that
//! covers streaming the result.

use super::auth::Caller;
use crate::Engine;
use crate::server_config::ServerConfig;
use arrow_flight::error::FlightError;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::scalar::ScalarValue;
use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

/// A DataFusion error as the gRPC status a client should see.
pub fn status(e: DataFusionError) -> Status {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(m) => {
            Status::resource_exhausted(format!("query needs more memory than allowed: {m}"))
        }
        DataFusionError::SQL(..) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => {
            Status::invalid_argument(e.to_string())
        }
        DataFusionError::NotImplemented(_) => Status::invalid_argument(e.to_string()),
        _ => {
            let text = e.to_string();
            if text.contains("Resources exhausted") {
                Status::resource_exhausted(text)
            } else {
                Status::internal(text)
            }
        }
    }
}

pub struct Limits {
    slots: Arc<Semaphore>,
    max: usize,
    pub timeout: Duration,
    memory: usize,
}

impl Limits {
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(config.max_concurrent_queries)),
            max: config.max_concurrent_queries,
            timeout: config.query_timeout,
            memory: config.query_memory_bytes,
        }
    }

    /// A slot for one query, or ResourceExhausted when all are taken.
    pub fn slot(&self) -> Result<Slot, Status> {
        let permit = self.slots.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "the server is running its maximum of {} queries (max_concurrent_queries); retry shortly",
                self.max
            ))
        })?;
        Ok(Slot {
            permit: Some(permit),
            slots: self.slots.clone(),
            max: self.max,
        })
    }
}

/// Plans `sql` for `caller` on `engine` with its own memory pool; refuses what the caller may
/// not run. Binds `params` (positional `$1, $2, ...`) when given.
pub async fn plan(
    engine: &Engine,
    caller: &Caller,
    limits: &Limits,
    sql: &str,
    params: Option<&RecordBatch>,
) -> Result<DataFrame, Status> {
    // No spilling: a query over its memory limit fails (ResourceExhausted) rather than filling
    // the server's disk.
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(limits.memory, 1.0)
        .with_disk_manager_builder(
            datafusion::execution::disk_manager::DiskManagerBuilder::default()
                .with_mode(datafusion::execution::disk_manager::DiskManagerMode::Disabled),
        )
        .build_arc()
        .map_err(status)?;
    let state = SessionStateBuilder::new_from_existing(engine.context().state())
        .with_runtime_env(runtime)
        .build();
    let plan = tokio::time::timeout(limits.timeout, state.create_logical_plan(sql))
        .await
        .map_err(|_| Status::deadline_exceeded("planning took longer than query_timeout_seconds"))?
        .map_err(status)?;
    crate::tenancy::sql_options(&caller.scope)
        .verify_plan(&plan)
        .map_err(|e| {
            Status::permission_denied(format!(
                "principal `{}` is read-only (scoped to clients): {e}",
                caller.name
            ))
        })?;
    let df = DataFrame::new(state, plan);
    match params {
        None => Ok(df),
        Some(batch) => {
            let types = df.logical_plan().get_parameter_types().map_err(status)?;
            let mut values = Vec::new();
            for (i, column) in batch.columns().iter().enumerate() {
                let mut v = ScalarValue::try_from_array(column, 0).map_err(status)?;
                if let Some(Some(t)) = types.get(&format!("${}", i + 1))
                    && &v.data_type() != t
                {
                    v = v.cast_to(t).map_err(|e| {
                        Status::invalid_argument(format!("parameter ${}: {e}", i + 1))
                    })?;
                }
                values.push(v);
            }
            df.with_param_values(ParamValues::from(values))
                .map_err(status)
        }
    }
}

/// A planned statement ready to run: DDL and session statements (`CREATE VIEW`, `SET`) are
/// carried out by the engine's context, which keeps what they create for later queries.
pub async fn executable(engine: &Engine, df: DataFrame) -> Result<DataFrame, Status> {
    use datafusion::logical_expr::LogicalPlan;
    if matches!(
        df.logical_plan(),
        LogicalPlan::Ddl(_) | LogicalPlan::Statement(_)
    ) {
        let (_, plan) = df.into_parts();
        engine
            .context()
            .execute_logical_plan(plan)
            .await
            .map_err(status)
    } else {
        Ok(df)
    }
}

/// The schema a client is told a result has (and then gets).
pub fn schema(df: &DataFrame) -> SchemaRef {
    Arc::new(df.schema().as_arrow().clone())
}

/// A query's slot. When the last running query lets go of its slot, the memory its allocations
/// freed is handed back to the operating system (glibc keeps freed memory in per-thread arenas
/// otherwise, and an idle server would stay at its peak).
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    slots: Arc<Semaphore>,
    max: usize,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        if self.slots.available_permits() == self.max {
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: malloc_trim only returns free heap memory to the system.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    }
}

/// A result stream that holds its query slot, stops at the deadline, and carries the announced
/// schema on every batch.
pub struct Limited {
    inner: datafusion::execution::SendableRecordBatchStream,
    schema: SchemaRef,
    deadline: Pin<Box<tokio::time::Sleep>>,
    _slot: Slot,
    done: bool,
}

impl Limited {
    pub async fn run(df: DataFrame, limits: &Limits, slot: Slot) -> Result<Self, Status> {
        let schema = schema(&df);
        let deadline = Box::pin(tokio::time::sleep(limits.timeout));
        let inner = df.execute_stream().await.map_err(status)?;
        Ok(Self {
            inner,
            schema,
            deadline,
            _slot: slot,
            done: false,
        })
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Stream for Limited {
    type Item = Result<RecordBatch, FlightError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.done = true;
            return Poll::Ready(Some(Err(FlightError::Tonic(Box::new(
                Status::deadline_exceeded("the query ran longer than query_timeout_seconds"),
            )))));
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(b))) => {
                let schema = self.schema.clone();
                Poll::Ready(Some(
                    RecordBatch::try_new(schema, b.columns().to_vec()).map_err(FlightError::Arrow),
                ))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(FlightError::Tonic(Box::new(status(e))))))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
