//! What a Ballista client adds to the logical plans it sends: loopql's table function calls
//! (sent as the call, made again on the scheduler over its warehouse catalog), empty tables, and
//! a clear refusal for tables only a connector can read. Everything else is Ballista's codec.

use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::TableProvider;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use loopql_core::functions::recorded::{CallTable, call};
use std::sync::Arc;

/// First byte of an encoded table: whose it is.
const BALLISTA: u8 = 0;
const CALL: u8 = 1;
const EMPTY: u8 = 2;

#[derive(Debug, Default)]
pub struct Codec {
    inner: BallistaLogicalExtensionCodec,
    /// The clients the sending session may see (a client's table function calls carry them;
    /// the scheduler keeps those clients' rows only). `None` on the scheduler and executors.
    clients: Option<Vec<String>>,
}

impl Codec {
    /// The codec of a client session that sees these clients only.
    pub fn for_clients(clients: Vec<String>) -> Self {
        Self {
            inner: BallistaLogicalExtensionCodec::default(),
            clients: Some(clients),
        }
    }
}

/// A call as it travels: the function, its literal arguments, and the clients of the session
/// that made it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Call {
    function: String,
    args: Vec<serde_json::Value>,
    clients: Option<Vec<String>>,
}

/// The call's table with the rows of `clients` only: the scheduler's catalog holds every client
/// of the warehouse, the session that sent the call may see fewer.
fn scoped(
    table: Arc<dyn TableProvider>,
    function: &str,
    clients: &[String],
) -> Result<Arc<dyn TableProvider>> {
    use datafusion::logical_expr::{LogicalPlanBuilder, col, lit};
    if table.schema().field_with_name("client_id").is_err() {
        return Err(DataFusionError::Plan(format!(
            "{function}() has no client_id column to keep the session's clients by, so a cluster \
             cannot run it for a session scoped to clients; run it without --cluster"
        )));
    }
    let plan = LogicalPlanBuilder::scan(
        "call",
        datafusion::datasource::provider_as_source(table),
        None,
    )?
    .filter(col("client_id").in_list(clients.iter().map(|c| lit(c.as_str())).collect(), false))?
    .build()?;
    Ok(Arc::new(datafusion::catalog::view::ViewTable::new(
        plan, None,
    )))
}

/// A connector's table that no sync has copied into the warehouse: only a live session reads it.
#[derive(Debug)]
pub struct LiveOnly {
    pub name: String,
    pub schema: SchemaRef,
}

#[async_trait::async_trait]
impl TableProvider for LiveOnly {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn datafusion::catalog::Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[datafusion::logical_expr::Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        Err(live_only(&self.name))
    }
}

fn live_only(name: &str) -> DataFusionError {
    DataFusionError::Plan(format!(
        "{name} is read live from its connector, which a cluster cannot do: run `loopql sync` first, then the cluster reads it from the warehouse"
    ))
}

impl LogicalExtensionCodec for Codec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match buf.split_first() {
            Some((&CALL, rest)) => {
                let c: Call = serde_json::from_slice(rest)
                    .map_err(|e| DataFusionError::Internal(format!("loopql call: {e}")))?;
                let session = SessionStateBuilder::new().build();
                let mut table = call(&c.function, &c.args, &session)?;
                if crate::per_client::PER_CLIENT.contains(&c.function.as_str()) {
                    // Planned per client on a scheduler's executors (`per_client.rs`).
                    table = Arc::new(crate::per_client::PerClientTable {
                        function: c.function.clone(),
                        args: c.args.clone(),
                        inner: table,
                    });
                }
                match &c.clients {
                    Some(clients) => scoped(table, &c.function, clients),
                    None => Ok(table),
                }
            }
            Some((&EMPTY, _)) => Ok(Arc::new(EmptyTable::new(schema))),
            Some((&BALLISTA, rest)) => self
                .inner
                .try_decode_table_provider(rest, table_ref, schema, ctx),
            _ => Err(DataFusionError::Internal(format!(
                "table {table_ref}: not a loopql-encoded table"
            ))),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(c) = (node.as_ref() as &dyn std::any::Any).downcast_ref::<CallTable>() {
            buf.push(CALL);
            let text = serde_json::to_vec(&Call {
                function: c.function.clone(),
                args: c.args.clone(),
                clients: self.clients.clone(),
            })
            .map_err(|e| DataFusionError::Internal(e.to_string()))?;
            buf.extend(text);
            return Ok(());
        }
        if (node.as_ref() as &dyn std::any::Any)
            .downcast_ref::<EmptyTable>()
            .is_some()
        {
            buf.push(EMPTY);
            return Ok(());
        }
        if let Some(l) = (node.as_ref() as &dyn std::any::Any).downcast_ref::<LiveOnly>() {
            return Err(live_only(&l.name));
        }
        buf.push(BALLISTA);
        self.inner
            .try_encode_table_provider(table_ref, node, buf)
            .map_err(|e| {
                DataFusionError::Plan(format!(
                    "table {table_ref} cannot run on a cluster ({e}); only warehouse tables, views and loopql's table functions with literal arguments can"
                ))
            })
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn round_trip(table: Arc<dyn TableProvider>) -> Result<Arc<dyn TableProvider>> {
        let codec = Codec::default();
        let name = TableReference::bare("t");
        let mut buf = Vec::new();
        codec.try_encode_table_provider(&name, table.clone(), &mut buf)?;
        let ctx = TaskContext::default();
        codec.try_decode_table_provider(&buf, &name, table.schema(), &ctx)
    }

    #[test]
    fn table_function_calls_travel_as_the_call() {
        let ctx = datafusion::prelude::SessionContext::new();
        loopql_core::functions::register(&ctx).unwrap();
        let state = ctx.state();
        let table = loopql_core::functions::recorded::call(
            "attribution",
            &[serde_json::json!("channel"), serde_json::json!("markov")],
            &state,
        )
        .unwrap();
        let recorded = Arc::new(CallTable {
            function: "attribution".into(),
            args: vec![serde_json::json!("channel"), serde_json::json!("markov")],
            inner: table.clone(),
        });
        let back = round_trip(recorded).unwrap();
        assert_eq!(back.schema(), table.schema());
    }

    fn scoped_round_trip(
        function: &str,
        args: &[serde_json::Value],
    ) -> Result<Arc<dyn TableProvider>> {
        let ctx = datafusion::prelude::SessionContext::new();
        loopql_core::functions::register(&ctx).unwrap();
        let state = ctx.state();
        let table = call(function, args, &state).unwrap();
        let recorded = Arc::new(CallTable {
            function: function.into(),
            args: args.to_vec(),
            inner: table,
        });
        let codec = Codec::for_clients(vec!["acme".into()]);
        let name = TableReference::bare("t");
        let mut buf = Vec::new();
        codec.try_encode_table_provider(&name, recorded.clone(), &mut buf)?;
        let text = String::from_utf8_lossy(&buf[1..]).to_string();
        assert!(text.contains("\"clients\":[\"acme\"]"), "{text}");
        // The scheduler's codec knows no clients: the call says which.
        Codec::default().try_decode_table_provider(
            &buf,
            &name,
            recorded.schema(),
            &TaskContext::default(),
        )
    }

    #[test]
    fn calls_carry_the_sessions_clients_and_come_back_filtered_to_them() {
        let back = scoped_round_trip("attribution", &[serde_json::json!("channel")]).unwrap();
        let view = (back.as_ref() as &dyn std::any::Any)
            .downcast_ref::<datafusion::catalog::view::ViewTable>()
            .expect("a filtered view of the call");
        let plan = format!("{}", view.logical_plan().display_indent());
        assert!(plan.contains("client_id IN ([Utf8(\"acme\")])"), "{plan}");
        let err = scoped_round_trip(
            "attribute_paths",
            &[serde_json::json!("markov"), serde_json::json!("paths")],
        );
        match err {
            Err(e) => assert!(e.to_string().contains("run it without --cluster"), "{e}"),
            Ok(t) => assert!(
                t.schema().field_with_name("client_id").is_ok(),
                "a call without client_id must be refused for a scoped session"
            ),
        }
    }

    #[test]
    fn empty_tables_travel_and_live_tables_are_refused_with_what_to_do() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let back = round_trip(Arc::new(EmptyTable::new(schema.clone()))).unwrap();
        assert_eq!(back.schema(), schema);
        let err = round_trip(Arc::new(LiveOnly {
            name: "google_ads.campaign_stats".into(),
            schema,
        }))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("google_ads.campaign_stats is read live")
                && err.contains("run `loopql sync` first"),
            "{err}"
        );
    }
}
