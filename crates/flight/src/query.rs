//! One statement for a caller under the server's limits, through the engine's front door:
//! read-only for scoped callers, its own memory limit, a deadline that covers streaming the
//! result, and a slot among the concurrent queries. Engine errors become the gRPC statuses
//! clients expect.

use super::auth::Caller;
use arrow_flight::error::FlightError;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::scalar::ScalarValue;
use futures::{Stream, StreamExt};
use loopql_core::error::Stage;
use loopql_core::server_config::{Scope, ServerConfig};
use loopql_core::{Engine, EngineError, FrontEnd, Params, Query, QueryOptions, QueryStream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

/// A DataFusion error as the gRPC status a client should see.
pub fn status(e: DataFusionError) -> Status {
    if let DataFusionError::External(inner) = &e
        && let Some(engine) = inner.downcast_ref::<EngineError>()
        && let EngineError::DeadlineExceeded { .. } = engine
    {
        return Status::deadline_exceeded("the query ran longer than query_timeout_seconds");
    }
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

/// An engine error as the gRPC status `caller` should see.
pub fn engine_status(caller: &Caller, e: EngineError) -> Status {
    match e {
        EngineError::DataFusion(e) => status(e),
        EngineError::DeadlineExceeded {
            during: Stage::Planning,
            ..
        } => Status::deadline_exceeded("planning took longer than query_timeout_seconds"),
        EngineError::DeadlineExceeded {
            during: Stage::Running,
            ..
        } => Status::deadline_exceeded("the query ran longer than query_timeout_seconds"),
        EngineError::ReadOnly(message) => Status::permission_denied(format!(
            "principal `{}` is read-only (scoped to clients): {message}",
            caller.name
        )),
        EngineError::Parameter(message) => Status::invalid_argument(message),
        other => Status::internal(other.to_string()),
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

/// Plans `sql` for `caller` on `engine` under the limits: read-only unless the caller is an
/// admin; `params` (one row, positional `$1, $2, ...`) bound when given.
pub async fn plan(
    engine: &Engine,
    caller: &Caller,
    limits: &Limits,
    sql: &str,
    params: Option<&RecordBatch>,
) -> Result<Query, Status> {
    let params = match params {
        None => Params::None,
        Some(batch) => Params::Positional(
            batch
                .columns()
                .iter()
                .map(|c| ScalarValue::try_from_array(c, 0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(status)?,
        ),
    };
    let options = QueryOptions::new(FrontEnd::Flight)
        .principal(caller.name.clone())
        .read_only(caller.scope != Scope::Admin)
        .params(params)
        .memory_limit(limits.memory)
        .timeout(limits.timeout);
    engine
        .plan(sql, &options)
        .await
        .map_err(|e| engine_status(caller, e))
}

/// A query's slot. When the last running query lets go of its slot, the memory its allocations
/// freed is handed back to the operating system (an idle server would stay at its peak
/// otherwise).
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    slots: Arc<Semaphore>,
    max: usize,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        if self.slots.available_permits() == self.max {
            loopql_core::sys::release_free_memory();
        }
    }
}

/// A result stream that holds its query slot and speaks Flight's error type.
pub struct Limited {
    inner: QueryStream,
    _slot: Slot,
}

impl Limited {
    pub async fn run(query: Query, caller: &Caller, slot: Slot) -> Result<Self, Status> {
        let inner = query.stream().await.map_err(|e| engine_status(caller, e))?;
        Ok(Self { inner, _slot: slot })
    }

    pub fn schema(&self) -> SchemaRef {
        datafusion::execution::RecordBatchStream::schema(&self.inner)
    }
}

impl Stream for Limited {
    type Item = Result<RecordBatch, FlightError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner
            .poll_next_unpin(cx)
            .map(|item| item.map(|r| r.map_err(|e| FlightError::Tonic(Box::new(status(e))))))
    }
}
