//! Table functions whose rows for a client depend on that client's data alone (`attribution`,
//! `conversion_paths`) run on a cluster as a distributed stage: the scheduler plans one
//! partition per client its filters keep ([`PerClientExec`]), and each executor that runs a
//! partition opens that client's tables of the snapshot the scheduler planned on and makes the
//! call there. Without this the scheduler computed every client's rows while planning and sent
//! them inside the plan.
//!
//! The clients are the rows of the node's input, an in-memory table with one partition per
//! client: Ballista restricts each task's plan to its slice of the stage's partitions by
//! rewriting the leaves it knows (file scans, in-memory tables, shuffle readers), and leaves
//! any other leaf whole — a leaf of our own would run every client in every task.
//!
//! What travels (`physical_codec.rs`): the call (function and literal arguments), the
//! query's filters as SQL (each one that can be written back as SQL; they only narrow the work,
//! DataFusion applies them again above), the session's `loopql.*` settings, and the warehouse's
//! location and snapshot id; the clients travel as Ballista sends the in-memory input.

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DataFusionError, Result};
use datafusion::config::ExtensionOptions;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, SessionState, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::TryStreamExt;
use loopql_core::attribution::cache::EngineCache;
use loopql_core::project::Location;
use loopql_core::settings::LoopqlOptions;
use loopql_warehouse::Warehouse;
use loopql_warehouse::manifest::{TableEntry, TableKind};
use loopql_warehouse::register::{Which, register};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

/// The table functions a cluster runs per client.
pub const PER_CLIENT: &[&str] = &["attribution", "conversion_paths"];

/// The snapshot a scheduler plans on: set on its planning sessions, it makes the per-client
/// table functions plan a distributed stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The warehouse's location as the project gives it (a folder or an `s3://` URL).
    pub warehouse: String,
    pub id: u64,
}

/// A per-client table function's table on a scheduler: planned as [`PerClientExec`] when the
/// session names a snapshot, else as the table itself.
#[derive(Debug)]
pub struct PerClientTable {
    pub function: String,
    pub args: Vec<serde_json::Value>,
    pub inner: Arc<dyn TableProvider>,
}

#[async_trait::async_trait]
impl TableProvider for PerClientTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(snapshot) = state.config().get_extension::<Snapshot>() else {
            return self.inner.scan(state, projection, filters, limit).await;
        };
        let Some(full) = state.as_any().downcast_ref::<SessionState>() else {
            return self.inner.scan(state, projection, filters, limit).await;
        };
        let local = loopql_core::engine::state::local(full);
        let clients = loopql_core::functions::kept_clients(&local, filters).await?;
        let exec: Arc<dyn ExecutionPlan> = Arc::new(PerClientExec::new(
            Call {
                function: self.function.clone(),
                args: self.args.clone(),
                filters: filters.iter().filter_map(filter_sql).collect(),
                settings: settings(state.config_options()),
            },
            snapshot.as_ref().clone(),
            self.schema(),
            clients_table(&clients)?,
        ));
        match projection {
            None => Ok(exec),
            Some(columns) => {
                let schema = self.schema();
                let exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = columns
                    .iter()
                    .map(|&i| {
                        let name = schema.field(i).name().clone();
                        let col: Arc<dyn PhysicalExpr> = Arc::new(
                            datafusion::physical_expr::expressions::Column::new(&name, i),
                        );
                        (col, name)
                    })
                    .collect();
                Ok(Arc::new(ProjectionExec::try_new(exprs, exec)?))
            }
        }
    }
}

/// A filter as SQL over the call's unqualified columns, if it can be written as SQL.
fn filter_sql(filter: &Expr) -> Option<String> {
    let unqualified = filter
        .clone()
        .transform(|e| {
            Ok(match e {
                Expr::Column(c) => Transformed::yes(Expr::Column(Column::new_unqualified(c.name))),
                other => Transformed::no(other),
            })
        })
        .ok()?
        .data;
    datafusion::sql::unparser::expr_to_sql(&unqualified)
        .ok()
        .map(|sql| sql.to_string())
}

/// The session's `loopql.*` settings that differ from their defaults, as `SET` would name them.
fn settings(config: &datafusion::common::config::ConfigOptions) -> Vec<(String, String)> {
    let ours = loopql_core::settings::of(config);
    let defaults: HashMap<String, Option<String>> = LoopqlOptions::default()
        .entries()
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect();
    ours.entries()
        .into_iter()
        .filter(|e| defaults.get(&e.key) != Some(&e.value))
        .filter_map(|e| Some((format!("loopql.{}", e.key), e.value?)))
        .collect()
}

/// A table function call as an executor makes it again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Call {
    pub function: String,
    pub args: Vec<serde_json::Value>,
    /// The query's filters as SQL.
    pub filters: Vec<String>,
    /// `loopql.*` settings (full key, value).
    pub settings: Vec<(String, String)>,
}

impl Call {
    /// The query an executor runs for `client`.
    fn sql(&self, client: &str) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| match a {
                serde_json::Value::String(s) => quote(s),
                other => other.to_string(),
            })
            .collect();
        let mut sql = format!(
            "SELECT * FROM {}({}) WHERE client_id = {}",
            self.function,
            args.join(", "),
            quote(client)
        );
        for f in &self.filters {
            sql.push_str(&format!(" AND ({f})"));
        }
        sql
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The schema of a [`PerClientExec`]'s input: the clients, one per partition.
static CLIENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![Field::new(
        "client_id",
        DataType::Utf8,
        false,
    )]))
});

/// An in-memory table of `clients`, one partition each (one empty partition for none).
pub fn clients_table(clients: &[String]) -> Result<Arc<dyn ExecutionPlan>> {
    let partitions: Vec<Vec<RecordBatch>> = if clients.is_empty() {
        vec![vec![]]
    } else {
        clients
            .iter()
            .map(|c| {
                let column: ArrayRef = Arc::new(StringArray::from(vec![c.as_str()]));
                Ok(vec![RecordBatch::try_new(CLIENTS.clone(), vec![column])?])
            })
            .collect::<Result<_>>()?
    };
    let table: Arc<dyn ExecutionPlan> =
        MemorySourceConfig::try_new_exec(&partitions, CLIENTS.clone(), None)?;
    Ok(table)
}

/// Computes, for each client its input partition names, that client's rows of the call.
#[derive(Debug)]
pub struct PerClientExec {
    pub call: Call,
    pub snapshot: Snapshot,
    schema: SchemaRef,
    /// The clients ([`clients_table`]).
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl PerClientExec {
    pub fn new(
        call: Call,
        snapshot: Snapshot,
        schema: SchemaRef,
        input: Arc<dyn ExecutionPlan>,
    ) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(input.properties().partitioning.partition_count()),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Self {
            call,
            snapshot,
            schema,
            input,
            properties,
        }
    }

    pub fn schema_ref(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl DisplayAs for PerClientExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "PerClientExec: {}({}) per client over snapshot {}",
            self.call.function,
            self.call
                .args
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            self.snapshot.id
        )
    }
}

impl ExecutionPlan for PerClientExec {
    fn name(&self) -> &str {
        "PerClientExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match children.pop() {
            Some(input) if children.is_empty() => Ok(Arc::new(Self::new(
                self.call.clone(),
                self.snapshot.clone(),
                self.schema.clone(),
                input,
            ))),
            _ => datafusion::common::internal_err!("PerClientExec has one input"),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let clients = self.input.execute(partition, context.clone())?;
        let (call, snapshot, schema) = (
            Arc::new(self.call.clone()),
            Arc::new(self.snapshot.clone()),
            self.schema.clone(),
        );
        let names = clients
            .map_ok(|batch| {
                let names: Vec<String> = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .map(|a| a.iter().flatten().map(str::to_string).collect())
                    .unwrap_or_default();
                futures::stream::iter(names.into_iter().map(Ok::<_, DataFusionError>))
            })
            .try_flatten();
        let out = schema.clone();
        let rows = names
            .map_ok(move |client| {
                client_rows(
                    call.clone(),
                    snapshot.clone(),
                    client,
                    out.clone(),
                    context.clone(),
                )
            })
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, rows)))
    }
}

/// `client`'s rows of `call`, computed here, with the planned columns (types included).
fn client_rows(
    call: Arc<Call>,
    snapshot: Arc<Snapshot>,
    client: String,
    out: SchemaRef,
    context: Arc<TaskContext>,
) -> impl futures::Stream<Item = Result<RecordBatch>> {
    let rows = async move {
        let ctx = client_session(&snapshot, &client, &call.settings, &context).await?;
        tracing::info!(
            snapshot = snapshot.id,
            "{}() for client {client} runs on this process",
            call.function
        );
        let stream = ctx.sql(&call.sql(&client)).await?.execute_stream().await?;
        Ok::<_, DataFusionError>(stream.and_then(move |batch| {
            let out = out.clone();
            async move {
                let columns = out
                    .fields()
                    .iter()
                    .map(|f| {
                        let c = batch.column_by_name(f.name()).ok_or_else(|| {
                            DataFusionError::Internal(format!("no column {}", f.name()))
                        })?;
                        Ok(datafusion::arrow::compute::cast(c, f.data_type())?)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(RecordBatch::try_new(out, columns)?)
            }
        }))
    };
    futures::stream::once(rows).try_flatten()
}

/// Opened warehouses and their snapshots' manifests, per process (a snapshot never changes).
static OPENED: LazyLock<Mutex<OpenedMap>> = LazyLock::new(Mutex::default);

/// Opened snapshots by (warehouse location, snapshot id).
type OpenedMap = HashMap<(String, u64), Arc<Opened>>;

/// A warehouse, the tables of one of its snapshots that a per-client call reads (harmonized and
/// reference tables: none reads a connector's raw table, and those are most of a snapshot's
/// files, whose lists and statistics every task would register again), and the credits
/// computed over it in this process (a snapshot never changes: an executor answers a repeated
/// call from them, as a long-lived engine does).
type Opened = (Warehouse, BTreeMap<String, TableEntry>, EngineCache);

async fn opened(snapshot: &Snapshot) -> Result<Arc<Opened>> {
    let key = (snapshot.warehouse.clone(), snapshot.id);
    if let Some(found) = OPENED.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(found);
    }
    let external = |e: loopql_core::error::EngineError| DataFusionError::External(Box::new(e));
    let location = Location::parse(&snapshot.warehouse, Path::new("/"))
        .map_err(|e| DataFusionError::Plan(format!("warehouse {}: {e}", snapshot.warehouse)))?;
    let warehouse = Warehouse::open(&location).map_err(external)?;
    let tables: BTreeMap<String, TableEntry> = warehouse
        .manifest(snapshot.id)
        .await
        .map_err(external)?
        .tables
        .into_iter()
        .filter(|(_, t)| t.kind != TableKind::Raw)
        .collect();
    let credits = EngineCache::default();
    credits
        .0
        .set_version(Some(format!("{}#{}", snapshot.warehouse, snapshot.id)));
    let both = Arc::new((warehouse, tables, credits));
    if let Ok(mut map) = OPENED.lock() {
        map.insert(key, both.clone());
    }
    Ok(both)
}

/// A session over `client`'s tables of `snapshot`, with loopql's functions and `settings`, in
/// the task's runtime (its memory pool and object stores).
async fn client_session(
    snapshot: &Snapshot,
    client: &str,
    settings: &[(String, String)],
    task: &TaskContext,
) -> Result<SessionContext> {
    let opened = opened(snapshot).await?;
    let (warehouse, tables, credits) = opened.as_ref();
    let mut config = loopql_core::engine::state::config(SessionConfig::new())
        .with_extension(Arc::new(credits.clone()));
    config = config.with_target_partitions(task.session_config().target_partitions());
    for (key, value) in settings {
        config.options_mut().set(key, value)?;
    }
    let state = loopql_core::engine::state::builder(config)
        .with_runtime_env(task.runtime_env())
        .build();
    let ctx = SessionContext::new_with_state(state);
    loopql_core::functions::register(&ctx)?;
    register(
        &ctx,
        warehouse,
        snapshot.id,
        tables,
        &[client.to_string()],
        Which::All,
    )
    .await
    .map_err(|e| DataFusionError::External(Box::new(e)))?;
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_executor_makes_the_call_again_for_its_client_with_the_filters() {
        let call = Call {
            function: "attribution".into(),
            args: vec![serde_json::json!("campaign"), serde_json::json!("it's")],
            filters: vec![
                "model = 'linear'".into(),
                "conversion_type IN ('lead')".into(),
            ],
            settings: vec![],
        };
        assert_eq!(
            call.sql("o'neil"),
            "SELECT * FROM attribution('campaign', 'it''s') WHERE client_id = 'o''neil' \
             AND (model = 'linear') AND (conversion_type IN ('lead'))"
        );
    }

    #[test]
    fn filters_go_as_sql_over_unqualified_columns() {
        use datafusion::logical_expr::{col, lit};
        let filter = col("attribution.model")
            .eq(lit("linear"))
            .and(col("t.client_id").in_list(vec![lit("acme"), lit("globex")], false));
        assert_eq!(
            filter_sql(&filter).as_deref(),
            Some("((model = 'linear') AND client_id IN ('acme', 'globex'))")
        );
    }

    #[test]
    fn settings_that_differ_from_the_defaults_travel_by_their_full_names() {
        let mut config = loopql_core::engine::state::config(SessionConfig::new());
        assert!(settings(config.options()).is_empty());
        config
            .options_mut()
            .set("loopql.attribution.lookback_days", "14")
            .unwrap();
        assert_eq!(
            settings(config.options()),
            [(
                "loopql.attribution.lookback_days".to_string(),
                "14".to_string()
            )]
        );
    }
}
