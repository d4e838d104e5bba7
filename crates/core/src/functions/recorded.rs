//! A table function call that remembers itself: the table a loopql table function returns,
//! wrapped with the function's name and its (string literal) arguments, so a Ballista client can
//! send the call instead of the table (see loopql-cluster's codec), and the scheduler can make
//! the same call over its own catalog.

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use std::sync::Arc;

/// A table function whose tables remember the call.
#[derive(Debug)]
pub struct Recorded {
    pub name: &'static str,
    pub inner: Arc<dyn TableFunctionImpl>,
}

impl TableFunctionImpl for Recorded {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let table = self
            .inner
            .call_with_args(TableFunctionArgs::new(args.exprs(), args.session()))?;
        let literals: Option<Vec<serde_json::Value>> = args.exprs().iter().map(literal).collect();
        Ok(match literals {
            Some(args) => Arc::new(CallTable {
                function: self.name.to_string(),
                args,
                inner: table,
            }),
            None => table,
        })
    }
}

/// A string, integer or float literal as JSON.
fn literal(e: &Expr) -> Option<serde_json::Value> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Some(serde_json::Value::from(s.clone())),
        Expr::Literal(ScalarValue::Int64(Some(i)), _) => Some(serde_json::Value::from(*i)),
        Expr::Literal(ScalarValue::Float64(Some(f)), _) => {
            serde_json::Number::from_f64(*f).map(serde_json::Value::Number)
        }
        _ => None,
    }
}

/// A table function's table and the call that made it.
#[derive(Debug)]
pub struct CallTable {
    pub function: String,
    pub args: Vec<serde_json::Value>,
    pub inner: Arc<dyn TableProvider>,
}

#[async_trait]
impl TableProvider for CallTable {
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
        self.inner.scan(state, projection, filters, limit).await
    }
}

/// Makes the call again (on a cluster's scheduler): the function by name, its literal
/// arguments from JSON.
pub fn call(
    function: &str,
    args: &[serde_json::Value],
    session: &dyn Session,
) -> Result<Arc<dyn TableProvider>> {
    let Some(f) = super::table_functions()
        .into_iter()
        .find(|f| f.name == function)
    else {
        return datafusion::common::plan_err!("no loopql table function named `{function}`");
    };
    let exprs = args
        .iter()
        .map(|a| {
            let value = match a {
                serde_json::Value::String(s) => ScalarValue::Utf8(Some(s.clone())),
                serde_json::Value::Number(n) if n.is_i64() => ScalarValue::Int64(n.as_i64()),
                serde_json::Value::Number(n) => ScalarValue::Float64(n.as_f64()),
                other => {
                    return datafusion::common::plan_err!(
                        "{function}(): argument {other} cannot be sent"
                    );
                }
            };
            Ok(Expr::Literal(value, None))
        })
        .collect::<Result<Vec<_>>>()?;
    f.function
        .call_with_args(TableFunctionArgs::new(&exprs, session))
}
