//! The table provider behind loopql's table functions: a table computed when a query scans it,
//! in that query's session (its settings, its catalog), and handed to DataFusion as one batch.

use super::table_args::session_state;
use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use std::fmt::Debug;
use std::sync::Arc;

/// What a table function computes.
#[async_trait]
pub trait Compute: Debug + Send + Sync + 'static {
    fn schema(&self) -> SchemaRef;

    /// Whether `compute` uses the query's filters to narrow its work (they are applied again on
    /// the result either way).
    fn uses_filters(&self) -> bool;

    async fn compute(&self, state: &SessionState, filters: &[Expr]) -> Result<RecordBatch>;
}

/// A [`Compute`] as a table.
#[derive(Debug)]
pub struct Computed<C>(pub C);

impl<C: Compute> Computed<C> {
    pub fn provider(c: C) -> Arc<dyn TableProvider> {
        Arc::new(Computed(c))
    }
}

#[async_trait]
impl<C: Compute> TableProvider for Computed<C> {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let how = if self.0.uses_filters() {
            TableProviderFilterPushDown::Inexact
        } else {
            TableProviderFilterPushDown::Unsupported
        };
        Ok(vec![how; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // The inner queries run here, on this machine, with loopql's own physical rules.
        let local = crate::engine::state::local(session_state(state)?);
        let batch = self.0.compute(&local, filters).await?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.0.schema(),
            projection.cloned(),
        )?)
    }
}
