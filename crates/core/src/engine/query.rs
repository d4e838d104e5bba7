//! The front door: every front end runs SQL by planning it with [`QueryOptions`] —
//! who asks and from where (for the query's tracing span), read-only or not, bound parameters,
//! a memory limit and a time limit — and then streaming or collecting the [`Query`].

use super::Engine;
use super::results::{self, Entry, Key, Recorder, ResultCache};
use crate::error::{EngineError, Result, Stage};
use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Which front end runs a query (a field of its tracing span).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FrontEnd {
    /// Called from Rust (tests, benches, tools).
    #[default]
    Library,
    /// `loopql query`.
    Query,
    /// `loopql shell`.
    Shell,
    /// A report run.
    Report,
    /// The Flight SQL server.
    Flight,
    /// `loopql sync` reading connectors and computing harmonized tables.
    Sync,
    /// `loopql demo`'s first query.
    Demo,
    /// `loopql connectors check`.
    Connectors,
    /// A Ballista scheduler computing a table function call.
    Scheduler,
}

impl std::fmt::Display for FrontEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Library => "library",
            Self::Query => "query",
            Self::Shell => "shell",
            Self::Report => "report",
            Self::Flight => "flight",
            Self::Sync => "sync",
            Self::Demo => "demo",
            Self::Connectors => "connectors",
            Self::Scheduler => "scheduler",
        })
    }
}

/// Values for a statement's placeholders.
#[derive(Debug, Clone, Default)]
pub enum Params {
    #[default]
    None,
    /// `$1, $2, ...` in order; each value is cast to the type the plan expects there.
    Positional(Vec<ScalarValue>),
    /// `$name` placeholders.
    Named(Vec<(String, ScalarValue)>),
}

/// How to run one statement.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    pub front_end: FrontEnd,
    /// Who asks (a Flight principal); `None`: the local user.
    pub principal: Option<String>,
    /// Refuse DDL, DML and statements such as `SET` (a principal's engine always does).
    pub read_only: bool,
    pub params: Params,
    /// Memory the query may hold, in bytes; over it the query fails (it never spills).
    pub memory_limit: Option<usize>,
    /// Time for planning, running and streaming the result.
    pub timeout: Option<Duration>,
}

impl QueryOptions {
    pub fn new(front_end: FrontEnd) -> Self {
        Self {
            front_end,
            ..Self::default()
        }
    }

    pub fn principal(self, name: impl Into<String>) -> Self {
        Self {
            principal: Some(name.into()),
            ..self
        }
    }

    pub fn read_only(self, read_only: bool) -> Self {
        Self { read_only, ..self }
    }

    pub fn params(self, params: Params) -> Self {
        Self { params, ..self }
    }

    pub fn memory_limit(self, bytes: usize) -> Self {
        Self {
            memory_limit: Some(bytes),
            ..self
        }
    }

    pub fn timeout(self, timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..self
        }
    }
}

/// What kind of statement a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    Query,
    /// `CREATE VIEW`, `DROP TABLE`, ...
    Ddl,
    /// `INSERT`, `COPY`, ...
    Dml,
    /// `SET`, `SHOW`, transactions.
    Statement,
}

/// A planned statement, ready to bind, stream or collect.
pub struct Query {
    /// The engine's session: DDL and `SET` are carried out there, so what they create or change
    /// stays for later queries.
    session: SessionContext,
    body: Body,
    span: tracing::Span,
    deadline: Option<(Instant, Duration)>,
    /// The engine's result cache, if it has one.
    results: Option<Arc<ResultCache>>,
    /// Where the result is kept once complete (a repeatable query of an engine with a cache).
    keep: Option<Key>,
}

enum Body {
    Planned(DataFrame),
    /// Answered from the engine's result cache.
    Cached(Arc<Entry>),
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.body {
            Body::Planned(df) => f
                .debug_struct("Query")
                .field("plan", df.logical_plan())
                .finish(),
            Body::Cached(_) => f.debug_struct("Query").field("cached", &true).finish(),
        }
    }
}

/// What kind of statement `plan` is.
fn kind_of(plan: &LogicalPlan) -> StatementKind {
    match plan {
        LogicalPlan::Ddl(_) => StatementKind::Ddl,
        LogicalPlan::Dml(_) | LogicalPlan::Copy(_) => StatementKind::Dml,
        LogicalPlan::Statement(_) => StatementKind::Statement,
        _ => StatementKind::Query,
    }
}

impl Engine {
    /// Plans `sql` under `options`. The front door: every front end runs SQL through here.
    pub async fn plan(&self, sql: &str, options: &QueryOptions) -> Result<Query> {
        let span = tracing::info_span!(
            "query",
            front_end = %options.front_end,
            principal = options.principal.as_deref().unwrap_or("local"),
            clients = %self.clients.as_ref().map_or_else(|| "all".to_string(), |c| c.join(",")),
            sql = %sql,
        );
        let deadline = options.timeout.map(|t| (Instant::now() + t, t));
        let key = self.results.as_ref().map(|c| c.key(sql, &options.params));
        if let (Some(cache), Some(key)) = (&self.results, &key)
            && let Some(entry) = cache.get(key)
        {
            tracing::debug!(parent: &span, "answered from the result cache");
            return Ok(Query {
                session: self.ctx.clone(),
                body: Body::Cached(entry),
                span,
                deadline,
                results: None,
                keep: None,
            });
        }
        let mut state = self.ctx.state();
        if let Some(bytes) = options.memory_limit {
            // No spilling: a query over its memory limit fails (ResourcesExhausted) rather than
            // filling the disk.
            // The session's object stores (an `s3://` warehouse) and caches (the snapshot's
            // file lists) stay: only the memory pool and the spilling change.
            let shared = state.runtime_env();
            let caches = &shared.cache_manager;
            let runtime = RuntimeEnvBuilder::new()
                .with_memory_limit(bytes, 1.0)
                .with_disk_manager_builder(
                    DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
                )
                .with_object_store_registry(shared.object_store_registry.clone())
                .with_cache_manager(
                    CacheManagerConfig::default()
                        .with_list_files_cache(caches.get_list_files_cache())
                        .with_list_files_cache_limit(caches.get_list_files_cache_limit())
                        .with_list_files_cache_ttl(caches.get_list_files_cache_ttl())
                        .with_file_statistics_cache(caches.get_file_statistic_cache())
                        .with_file_statistics_cache_limit(caches.get_file_statistic_cache_limit())
                        .with_file_metadata_cache(Some(caches.get_file_metadata_cache()))
                        .with_metadata_cache_limit(caches.get_metadata_cache_limit()),
                )
                .build_arc()?;
            state = SessionStateBuilder::new_from_existing(state)
                .with_runtime_env(runtime)
                .build();
        }
        let planning = {
            use tracing::Instrument;
            state.create_logical_plan(sql).instrument(span.clone())
        };
        let plan = match deadline {
            None => planning.await?,
            Some((at, limit)) => tokio::time::timeout_at(at.into(), planning)
                .await
                .map_err(|_| EngineError::DeadlineExceeded {
                    during: Stage::Planning,
                    limit,
                })??,
        };
        if options.read_only || self.read_only {
            SQLOptions::new()
                .with_allow_ddl(false)
                .with_allow_dml(false)
                .with_allow_statements(false)
                .verify_plan(&plan)
                .map_err(|e| EngineError::ReadOnly(e.to_string()))?;
        }
        // EXPLAIN ANALYZE reports timings: never the same twice.
        let keep = key.filter(|_| {
            kind_of(&plan) == StatementKind::Query
                && !matches!(plan, LogicalPlan::Analyze(_))
                && results::repeatable(&plan)
        });
        let query = Query {
            session: self.ctx.clone(),
            body: Body::Planned(DataFrame::new(state, plan)),
            span,
            deadline,
            results: self.results.clone(),
            keep,
        };
        match &options.params {
            Params::None => Ok(query),
            params => query.bind(params),
        }
    }

    /// Plans `sql` as the local user ([`FrontEnd::Library`], default options): shorthand for
    /// tests and tools.
    pub async fn sql(&self, sql: &str) -> Result<Query> {
        self.plan(sql, &QueryOptions::default()).await
    }

    /// Plans and collects `sql` as the local user ([`FrontEnd::Library`]).
    pub async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.plan(sql, &QueryOptions::default())
            .await?
            .collect()
            .await
    }
}

impl Query {
    /// The schema of the result.
    pub fn schema(&self) -> SchemaRef {
        match &self.body {
            Body::Planned(df) => Arc::new(df.schema().as_arrow().clone()),
            Body::Cached(entry) => entry.schema.clone(),
        }
    }

    pub fn kind(&self) -> StatementKind {
        match &self.body {
            Body::Planned(df) => kind_of(df.logical_plan()),
            Body::Cached(_) => StatementKind::Query,
        }
    }

    /// The placeholders the statement uses (`$1`, `$name`) with the type the plan expects there
    /// (`None` where it cannot tell), in name order.
    pub fn placeholders(&self) -> Result<Vec<(String, Option<DataType>)>> {
        // A cached result: the values it ran with are part of its key (none when it ran
        // without), so nothing is left to bind.
        let Body::Planned(df) = &self.body else {
            return Ok(Vec::new());
        };
        let mut found: Vec<(String, Option<DataType>)> = df
            .logical_plan()
            .get_parameter_types()?
            .into_iter()
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }

    /// Binds values to the placeholders.
    pub fn bind(self, params: &Params) -> Result<Self> {
        let df = match (&self.body, params) {
            // A cached result has nothing left to bind (see `placeholders`).
            (Body::Cached(_), _) | (_, Params::None) => return Ok(self),
            (Body::Planned(df), _) => df.clone(),
        };
        let values = match params {
            Params::None => return Ok(self),
            Params::Named(named) => ParamValues::from(
                named
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<std::collections::HashMap<_, _>>(),
            ),
            Params::Positional(values) => {
                let types = df.logical_plan().get_parameter_types()?;
                let mut cast = Vec::with_capacity(values.len());
                for (i, v) in values.iter().enumerate() {
                    let v = match types.get(&format!("${}", i + 1)) {
                        Some(Some(t)) if &v.data_type() != t => v.cast_to(t).map_err(|e| {
                            EngineError::Parameter(format!("parameter ${}: {e}", i + 1))
                        })?,
                        _ => v.clone(),
                    };
                    cast.push(v);
                }
                ParamValues::from(cast)
            }
        };
        let df = df.with_param_values(values)?;
        Ok(Self {
            body: Body::Planned(df),
            keep: self.keep.map(|k| k.with_params(params)),
            ..self
        })
    }

    /// Runs the statement and streams its batches (DDL and `SET` take effect in the engine's
    /// session first).
    pub async fn stream(self) -> Result<QueryStream> {
        let schema = self.schema();
        let Query {
            session,
            body,
            span,
            deadline,
            results,
            keep,
        } = self;
        let df = match body {
            Body::Planned(df) => df,
            Body::Cached(entry) => {
                let inner = MemoryStream::try_new(entry.batches.clone(), schema.clone(), None)?;
                return Ok(QueryStream::new(Box::pin(inner), schema, deadline, span));
            }
        };
        // A statement that changes the session moves the result cache to a new generation now
        // and again once it is done (when its stream ends or is dropped).
        let changes = results
            .clone()
            .filter(|_| kind_of(df.logical_plan()) != StatementKind::Query);
        if let Some(cache) = &changes {
            cache.changed();
        }
        let in_session = matches!(
            df.logical_plan(),
            LogicalPlan::Ddl(_) | LogicalPlan::Statement(_)
        );
        let df = if in_session {
            let (_, plan) = df.into_parts();
            session.execute_logical_plan(plan).await?
        } else {
            df
        };
        let started = {
            use tracing::Instrument;
            df.execute_stream().instrument(span.clone())
        };
        let inner = match deadline {
            None => started.await?,
            Some((at, limit)) => {
                tokio::time::timeout_at(at.into(), started)
                    .await
                    .map_err(|_| EngineError::DeadlineExceeded {
                        during: Stage::Running,
                        limit,
                    })??
            }
        };
        tracing::debug!(parent: &span, "running");
        let recorder = match (&results, keep) {
            (Some(cache), Some(key)) => Some(cache.recorder(key, schema.clone())),
            _ => None,
        };
        let mut stream = QueryStream::new(inner, schema, deadline, span);
        stream.recorder = recorder;
        stream.changes = changes;
        Ok(stream)
    }

    /// Runs the statement and collects its batches.
    pub async fn collect(self) -> Result<Vec<RecordBatch>> {
        let mut stream = self.stream().await?;
        let mut batches = Vec::new();
        while let Some(b) = stream.next().await {
            batches.push(b?);
        }
        Ok(batches)
    }
}

/// A running query's batches: each carries the schema the plan announced, and the stream ends
/// with an error once the query's time is up.
pub struct QueryStream {
    inner: SendableRecordBatchStream,
    schema: SchemaRef,
    deadline: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
    span: tracing::Span,
    done: bool,
    /// Collects the result for the engine's result cache (kept when the stream ends).
    recorder: Option<Recorder>,
    /// The result cache of an engine whose session this statement changed: told when done.
    changes: Option<Arc<ResultCache>>,
}

impl Drop for QueryStream {
    fn drop(&mut self) {
        if let Some(cache) = &self.changes {
            cache.changed();
        }
    }
}

impl std::fmt::Debug for QueryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStream")
            .field("schema", &self.schema)
            .finish()
    }
}

impl QueryStream {
    fn new(
        inner: SendableRecordBatchStream,
        schema: SchemaRef,
        deadline: Option<(Instant, Duration)>,
        span: tracing::Span,
    ) -> Self {
        Self {
            inner,
            schema,
            deadline: deadline
                .map(|(at, limit)| (Box::pin(tokio::time::sleep_until(at.into())), limit)),
            span,
            done: false,
            recorder: None,
            changes: None,
        }
    }

    /// As DataFusion's stream type (the output writers take one).
    pub fn boxed(self) -> SendableRecordBatchStream {
        Box::pin(self)
    }
}

impl Stream for QueryStream {
    type Item = datafusion::error::Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let span = self.span.clone();
        let _entered = span.enter();
        if let Some((sleep, limit)) = &mut self.deadline
            && sleep.as_mut().poll(cx).is_ready()
        {
            let limit = *limit;
            self.done = true;
            self.recorder = None;
            return Poll::Ready(Some(Err(DataFusionError::External(Box::new(
                EngineError::DeadlineExceeded {
                    during: Stage::Running,
                    limit,
                },
            )))));
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(b))) => {
                let b = if b.schema() == self.schema {
                    b
                } else {
                    let options = RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
                    match RecordBatch::try_new_with_options(
                        self.schema.clone(),
                        b.columns().to_vec(),
                        &options,
                    ) {
                        Ok(b) => b,
                        Err(e) => {
                            self.recorder = None;
                            return Poll::Ready(Some(Err(e.into())));
                        }
                    }
                };
                if let Some(r) = &mut self.recorder
                    && !r.add(&b)
                {
                    self.recorder = None;
                }
                Poll::Ready(Some(Ok(b)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                self.recorder = None;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.done = true;
                if let Some(r) = self.recorder.take() {
                    r.finish();
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl RecordBatchStream for QueryStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
