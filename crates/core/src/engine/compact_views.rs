//! Text columns compacted before a sort: DataFusion's memory accounting counts a `Utf8View`
//! column at the size of every data buffer its views point into, and a sort's merge or a
//! window's output (`interleave`, `concat`, slices) hands on batches whose few thousand views
//! point into the buffers of everything sorted before — a 8,192-row batch then "weighs" the whole
//! input. The next sort reserves that weight for the batch and, under a memory limit, fails with
//! nothing it could spill ("Failed to allocate additional 400 MB … with 0 B already
//! allocated"). [`CompactViews`] sits in front of every sort (and sorted merge) and copies the strings of such a
//! column into buffers of its own (`gc`), so the batch weighs what it holds and the buffers of
//! the batches already sorted can be freed.
//!
//! The rule runs after DataFusion's own (orderings and distributions are settled) and only in
//! engines that execute their plans here: a Ballista scheduler's plans travel to executors,
//! which know DataFusion's operators only.

use datafusion::arrow::array::{Array, ArrayRef, GenericByteViewArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::{BinaryViewType, ByteViewType, StringViewType};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use std::sync::Arc;

/// Bytes a column's buffers may hold beyond twice its strings before it is compacted: below
/// this, copying costs more than the memory it frees (a Parquet page's buffer is often a few
/// hundred KiB more than the strings a filtered batch keeps).
const SLACK_BYTES: usize = 1 << 20;

/// The physical rule: a [`CompactViewsExec`] under every sort and sorted merge whose input has
/// view columns.
#[derive(Debug, Default)]
pub struct CompactViews;

impl PhysicalOptimizerRule for CompactViews {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            if !node.is::<SortExec>() && !node.is::<SortPreservingMergeExec>() {
                return Ok(Transformed::no(node));
            }
            let children: Vec<Arc<dyn ExecutionPlan>> =
                node.children().into_iter().cloned().collect();
            if children
                .iter()
                .all(|c| c.is::<CompactViewsExec>() || !has_views(c))
            {
                return Ok(Transformed::no(node));
            }
            let compacted = children
                .into_iter()
                .map(|c| {
                    if c.is::<CompactViewsExec>() || !has_views(&c) {
                        c
                    } else {
                        Arc::new(CompactViewsExec::new(c)) as Arc<dyn ExecutionPlan>
                    }
                })
                .collect();
            Ok(Transformed::yes(replace_children_if_necessary(
                node, compacted,
            )?))
        })
        .data()
    }

    fn name(&self) -> &str {
        "CompactViews"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn has_views(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.schema()
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Utf8View | DataType::BinaryView))
}

/// Passes its input's batches on, each view column compacted when its buffers hold far more
/// than its strings. Order, partitioning and everything else of the input are kept.
#[derive(Debug)]
pub struct CompactViewsExec {
    input: Arc<dyn ExecutionPlan>,
}

impl CompactViewsExec {
    pub fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        Self { input }
    }
}

impl DisplayAs for CompactViewsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "CompactViewsExec")
    }
}

impl ExecutionPlan for CompactViewsExec {
    fn name(&self) -> &str {
        "CompactViewsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
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

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match children.pop() {
            Some(input) if children.is_empty() => Ok(Arc::new(Self::new(input))),
            _ => datafusion::common::internal_err!("CompactViewsExec has one input"),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        let compacted = input.map(|batch| batch.and_then(|b| compact(&b)));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, compacted)))
    }
}

/// `batch` with every bloated view column compacted (the others shared, not copied).
pub fn compact(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut changed = false;
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|column| {
            let compacted = compact_column(column);
            changed |= compacted.is_some();
            compacted.unwrap_or_else(|| column.clone())
        })
        .collect();
    if !changed {
        return Ok(batch.clone());
    }
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

fn compact_column(column: &ArrayRef) -> Option<ArrayRef> {
    match column.data_type() {
        DataType::Utf8View => compact_views_of::<StringViewType>(column),
        DataType::BinaryView => compact_views_of::<BinaryViewType>(column),
        _ => None,
    }
}

/// A view column compacted when [`bloated`] (`None`: kept as it is).
fn compact_views_of<T: ByteViewType>(column: &ArrayRef) -> Option<ArrayRef> {
    let views = column.as_any().downcast_ref::<GenericByteViewArray<T>>()?;
    let held: usize = views.data_buffers().iter().map(|b| b.capacity()).sum();
    bloated(held, views.views()).then(|| Arc::new(views.gc()) as ArrayRef)
}

/// Whether buffers of `held` bytes hold much more than the out-of-line strings of `views`
/// (a view's low 32 bits are its length; up to 12 bytes live inside the view itself). `held`
/// counts each buffer's whole allocation, as DataFusion's accounting does: a buffer sliced
/// out of a big allocation (a window's concatenated input) weighs the allocation.
fn bloated(held: usize, views: &[u128]) -> bool {
    if held <= SLACK_BYTES {
        return false;
    }
    let used: usize = views
        .iter()
        .map(|v| *v as u32 as usize)
        .filter(|len| *len > 12)
        .sum();
    held > used.saturating_mul(2).saturating_add(SLACK_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringViewArray;
    use datafusion::arrow::compute::concat;
    use datafusion::datasource::memory::MemorySourceConfig;
    use datafusion::prelude::SessionContext;

    fn long(i: usize) -> String {
        format!("a string long enough to live outside its view, number {i}")
    }

    #[test]
    fn a_slice_of_big_buffers_is_compacted_to_what_it_holds() {
        let big: StringViewArray = (0..100_000).map(|i| Some(long(i))).collect();
        let big: ArrayRef = Arc::new(big);
        let whole = concat(&[big.as_ref()]).unwrap_or_else(|e| panic!("{e}"));
        let slice = whole.slice(10, 8);
        let batch =
            RecordBatch::try_from_iter([("t", slice.clone())]).unwrap_or_else(|e| panic!("{e}"));
        let before = batch.get_array_memory_size();
        let out = compact(&batch).unwrap_or_else(|e| panic!("{e}"));
        let after = out.get_array_memory_size();
        assert!(before > 4 << 20, "the slice weighs its buffers: {before}");
        assert!(after < 64 << 10, "compacted: {after}");
        assert_eq!(out.column(0).as_ref(), slice.as_ref(), "same strings");
        // A batch that holds what it points to is passed on as it is.
        let small = RecordBatch::try_from_iter([("t", out.column(0).clone())])
            .unwrap_or_else(|e| panic!("{e}"));
        let again = compact(&small).unwrap_or_else(|e| panic!("{e}"));
        assert!(Arc::ptr_eq(small.column(0), again.column(0)));
    }

    #[tokio::test]
    async fn every_sort_over_text_gets_a_compaction_under_it() {
        let ctx = SessionContext::new();
        let batch = RecordBatch::try_from_iter([(
            "t",
            Arc::new(StringViewArray::from_iter_values(["b", "a"])) as ArrayRef,
        )])
        .unwrap_or_else(|e| panic!("{e}"));
        let source = MemorySourceConfig::try_new_exec(&[vec![batch.clone()]], batch.schema(), None)
            .unwrap_or_else(|e| panic!("{e}"));
        let order = datafusion::physical_expr::LexOrdering::new(vec![
            datafusion::physical_expr::PhysicalSortExpr::new_default(Arc::new(
                datafusion::physical_expr::expressions::Column::new("t", 0),
            )),
        ])
        .unwrap_or_else(|| panic!("an ordering"));
        let plan: Arc<dyn ExecutionPlan> = Arc::new(SortExec::new(order, source));
        let plan = CompactViews
            .optimize(plan, &ConfigOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(false)
            .to_string();
        assert!(shown.contains("SortExec"), "{shown}");
        assert!(shown.contains("  CompactViewsExec"), "{shown}");
        // Applied twice, it does not stack.
        let twice = CompactViews
            .optimize(plan, &ConfigOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let shown = datafusion::physical_plan::displayable(twice.as_ref())
            .indent(false)
            .to_string();
        assert_eq!(shown.matches("CompactViewsExec").count(), 1, "{shown}");
        let rows = datafusion::physical_plan::collect(twice, ctx.task_ctx())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let sorted = rows[0]
            .column(0)
            .as_any()
            .downcast_ref::<StringViewArray>()
            .map(|a| a.iter().flatten().map(str::to_string).collect::<Vec<_>>());
        assert_eq!(sorted, Some(vec!["a".to_string(), "b".to_string()]));
    }
}

#[cfg(test)]
mod buffer_tests {
    use super::*;
    use datafusion::arrow::array::StringViewArray;
    use datafusion::arrow::buffer::Buffer;

    /// 8,192 short (inline) strings whose column holds `buffer`: compaction must leave a
    /// batch that weighs what it holds.
    fn compacts_short_strings_over(buffer: Buffer) {
        let short: StringViewArray = (0..8192).map(|i| Some(format!("g{}", i % 7))).collect();
        let bloated = StringViewArray::new(short.views().clone(), vec![buffer], None);
        let batch = RecordBatch::try_from_iter([("s", Arc::new(bloated) as ArrayRef)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(batch.get_array_memory_size() > 60 << 20);
        let out = compact(&batch).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.get_array_memory_size() < 1 << 20,
            "{}",
            out.get_array_memory_size()
        );
    }

    #[test]
    fn short_strings_pointing_at_nothing_keep_no_buffers() {
        compacts_short_strings_over(Buffer::from_vec(vec![0u8; 64 << 20]));
    }

    #[test]
    fn a_buffer_sliced_out_of_a_big_allocation_weighs_the_allocation() {
        let big = Buffer::from_vec(vec![0u8; 64 << 20]);
        compacts_short_strings_over(big.slice_with_length(0, 1024));
    }
}
