//! The physical scan of a plugin table: each partition pulls one source's Arrow stream on a
//! blocking thread (a slow source never stalls the async workers) and appends `client_id`.

use super::library::clean_arrow_message;
use super::table::BoundSource;
use super::{ConnectorLibrary, PluginError};
use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use loopql_connector_sdk::Filter;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub enum OutputColumn {
    /// The i-th column of the connector's (projected) stream.
    Plugin(usize),
    Client,
}

#[derive(Debug)]
pub struct PluginScanExec {
    library: Arc<ConnectorLibrary>,
    table: String,
    sources: Vec<BoundSource>,
    projection: Vec<usize>,
    columns: Vec<OutputColumn>,
    filters: Vec<Filter>,
    limit: Option<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl PluginScanExec {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        library: Arc<ConnectorLibrary>,
        table: String,
        sources: Vec<BoundSource>,
        projection: Vec<usize>,
        columns: Vec<OutputColumn>,
        filters: Vec<Filter>,
        limit: Option<usize>,
        schema: SchemaRef,
    ) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(sources.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Self {
            library,
            table,
            sources,
            projection,
            columns,
            filters,
            limit,
            schema,
            properties,
        }
    }
}

impl DisplayAs for PluginScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let sources: Vec<&str> = self.sources.iter().map(|s| s.name.as_str()).collect();
        write!(
            f,
            "PluginScanExec: {}.{}, sources=[{}], projection={:?}, filters={}, limit={:?}",
            self.library.manifest().name,
            self.table,
            sources.join(", "),
            self.projection,
            serde_json::to_string(&self.filters).unwrap_or_default(),
            self.limit
        )
    }
}

impl ExecutionPlan for PluginScanExec {
    fn name(&self) -> &str {
        "PluginScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let batch_size = context.session_config().batch_size().max(1);
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        let Some(source) = self.sources.get(partition).cloned() else {
            // No source survived client pruning: one empty partition.
            return Ok(builder.build());
        };
        let tx = builder.tx();
        let library = self.library.clone();
        let table = self.table.clone();
        let projection = self.projection.clone();
        let columns = self.columns.clone();
        let filters = self.filters.clone();
        let limit = self.limit;
        let schema = self.schema.clone();
        builder.spawn_blocking(move || {
            let connector = library.manifest().name.clone();
            let fail = |action: &'static str, message: String| {
                DataFusionError::Execution(
                    PluginError::Scan {
                        connector: connector.clone(),
                        table: table.clone(),
                        source_name: source.name.clone(),
                        action,
                        message,
                    }
                    .to_string(),
                )
            };
            let _span = tracing::debug_span!("plugin_scan", connector = %connector, table = %table, source = %source.name).entered();
            let _listening = library.listen(super::fetched::fetched(&source.name));
            let reader = library
                .open_scan(&table, &source.options_json, Some(&projection), &filters, limit)
                .map_err(|m| fail("open", m))?;
            let mut remaining = limit;
            for batch in reader {
                let batch = batch.map_err(|e| fail("read", clean_arrow_message(&e.to_string())))?;
                let batch = match remaining.as_mut() {
                    Some(0) => break,
                    Some(left) => {
                        let take = batch.num_rows().min(*left);
                        *left -= take;
                        batch.slice(0, take)
                    }
                    None => batch,
                };
                let out = assemble(&schema, &columns, &batch, &source.client_id)?;
                for chunk in chunks(&out, batch_size)? {
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        return Ok(()); // the query was cancelled or finished early
                    }
                }
            }
            if let Some(skipped) = library.finish_scan(&source.name, &table)
                && skipped.skipped_rows > 0
            {
                tracing::warn!(
                    connector = %connector,
                    table = %table,
                    source = %source.name,
                    skipped = skipped.skipped_rows,
                    first = %skipped.examples.first().map(String::as_str).unwrap_or(""),
                    "bad rows skipped (the source's on_bad_row = \"skip\")"
                );
            }
            Ok(())
        });
        Ok(builder.build())
    }
}

/// A plugin's batch (often a whole export file) as batches of at most `size` rows, each in
/// buffers of its own: DataFusion's memory accounting counts a slice at its whole buffer's
/// size, so a sort given one file-sized batch (or slices of one) cannot spill its way through.
fn chunks(batch: &RecordBatch, size: usize) -> Result<Vec<RecordBatch>> {
    if batch.num_rows() <= size {
        return Ok(vec![batch.clone()]);
    }
    (0..batch.num_rows())
        .step_by(size)
        .map(|start| {
            let len = size.min(batch.num_rows() - start);
            let indices = datafusion::arrow::array::UInt32Array::from_iter_values(
                (start as u32)..((start + len) as u32),
            );
            let columns = batch
                .columns()
                .iter()
                .map(|c| datafusion::arrow::compute::take(c.as_ref(), &indices, None))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let options = RecordBatchOptions::new().with_row_count(Some(len));
            Ok(RecordBatch::try_new_with_options(
                batch.schema(),
                columns,
                &options,
            )?)
        })
        .collect()
}

fn assemble(
    schema: &SchemaRef,
    columns: &[OutputColumn],
    batch: &RecordBatch,
    client_id: &str,
) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|c| match c {
            OutputColumn::Plugin(i) => batch.column(*i).clone(),
            OutputColumn::Client => Arc::new(StringArray::from(vec![client_id; rows])) as ArrayRef,
        })
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &options,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, Int64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn big_batches_come_out_in_compact_chunks_with_every_row() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, false),
        ]));
        let n: Vec<i64> = (0..10_000).collect();
        let s: Vec<String> = n.iter().map(|i| format!("row-{i}")).collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(n.clone())),
                Arc::new(StringArray::from(s)),
            ],
        )
        .unwrap();
        let out = chunks(&batch, 4096).unwrap();
        let sizes: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, vec![4096, 4096, 1808]);
        let back: Vec<i64> = out
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect();
        assert_eq!(back, n);
        // Each chunk owns its buffers (a slice would report the whole batch's size).
        assert!(out[2].get_array_memory_size() < batch.get_array_memory_size() / 3);
        assert_eq!(out[2].column(1).len(), 1808);
        assert_eq!(
            chunks(&batch, 20_000).unwrap().len(),
            1,
            "small batches pass as they are"
        );
    }
}
