//! A connector's raw table as a DataFusion `TableProvider`: one partition per configured source,
//! with the host-added `client_id` column, projection, limit and filter pushdown.

use super::ConnectorLibrary;
use super::exec::{OutputColumn, PluginScanExec};
use super::filters::{ClientFilter, Pushed, translate};
use super::validate::CLIENT_COLUMN;
use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use loopql_connector_sdk::TableSpec;
use std::collections::HashMap;
use std::sync::Arc;

/// One project source bound to a connector: whose rows, and the options JSON to pass.
#[derive(Debug, Clone)]
pub struct BoundSource {
    pub name: String,
    pub client_id: String,
    pub options_json: String,
}

#[derive(Debug)]
pub struct PluginTable {
    library: Arc<ConnectorLibrary>,
    table: String,
    raw_width: usize,
    schema: SchemaRef,
    pushable: HashMap<String, bool>,
    sources: Vec<BoundSource>,
}

impl PluginTable {
    pub fn new(
        library: Arc<ConnectorLibrary>,
        spec: &TableSpec,
        sources: Vec<BoundSource>,
    ) -> Self {
        let mut fields: Vec<Field> = spec
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(CLIENT_COLUMN, DataType::Utf8, false));
        let pushable = spec
            .filters
            .iter()
            .map(|f| (f.column.clone(), f.exact))
            .collect();
        Self {
            library,
            table: spec.name.clone(),
            raw_width: spec.schema.fields().len(),
            schema: Arc::new(Schema::new_with_metadata(
                fields,
                spec.schema.metadata().clone(),
            )),
            pushable,
            sources,
        }
    }
}

#[async_trait]
impl TableProvider for PluginTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match translate(f, &self.pushable, &self.schema) {
                Some(Pushed::Client(_)) => TableProviderFilterPushDown::Exact,
                Some(Pushed::Plugin { exact: true, .. }) => TableProviderFilterPushDown::Exact,
                Some(Pushed::Plugin { exact: false, .. }) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut client_filters: Vec<ClientFilter> = Vec::new();
        let mut plugin_filters = Vec::new();
        for f in filters {
            match translate(f, &self.pushable, &self.schema) {
                Some(Pushed::Client(c)) => client_filters.push(c),
                Some(Pushed::Plugin { filters, .. }) => plugin_filters.extend(filters),
                None => {}
            }
        }
        let sources: Vec<BoundSource> = self
            .sources
            .iter()
            .filter(|s| client_filters.iter().all(|c| c.keeps(&s.client_id)))
            .cloned()
            .collect();

        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let projection = projection.cloned().unwrap_or(all);
        let output_schema = Arc::new(self.schema.project(&projection)?);
        let mut plugin_projection = Vec::new();
        let mut columns = Vec::new();
        for &i in &projection {
            if i == self.raw_width {
                columns.push(OutputColumn::Client);
            } else {
                columns.push(OutputColumn::Plugin(plugin_projection.len()));
                plugin_projection.push(i);
            }
        }
        // A scan that needs no connector column (COUNT(*), or only client_id) still needs row
        // counts: ask for the first column and drop it.
        if plugin_projection.is_empty() {
            plugin_projection.push(0);
        }
        Ok(Arc::new(PluginScanExec::new(
            self.library.clone(),
            self.table.clone(),
            sources,
            plugin_projection,
            columns,
            plugin_filters,
            limit,
            output_schema,
        )))
    }
}
