//! Results already computed. An engine over a warehouse snapshot reads data that never changes
//! (the snapshot, and the reference tables loaded when it opened), so a statement run again with
//! the same parameters gives the same rows until something changes the engine's session (DDL,
//! DML, `SET`). A report server answers the same dashboards again and again: with a result
//! cache (`[server] result_cache_mb`) a repeated query is answered without being planned or run.
//!
//! What is kept: queries only; only when every scalar function in the plan, views included, is
//! immutable (`now()`, `current_date`, `random()` give another answer next time) or reads the
//! session's settings (`loopql_setting`, which only `SET` changes); only complete
//! results (a stream that failed, timed out or was dropped keeps nothing); a result of at most a
//! quarter of the budget. Every statement that changes the session moves the cache to a new
//! generation, before and after it runs: older entries are never found again and age out.

use super::query::Params;
use crate::lru::Lru;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What a result was computed for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    generation: u64,
    sql: String,
    /// The bound parameters, written out.
    params: String,
}

impl Key {
    /// The same statement with other parameters bound.
    pub fn with_params(self, params: &Params) -> Self {
        Self {
            params: format!("{params:?}"),
            ..self
        }
    }
}

/// A complete result.
#[derive(Debug)]
pub struct Entry {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// One engine's result cache.
#[derive(Debug)]
pub struct ResultCache {
    entries: Mutex<Lru<Key, Arc<Entry>>>,
    generation: AtomicU64,
    hits: AtomicU64,
}

impl ResultCache {
    /// A cache holding at most `budget` bytes of results.
    pub fn new(budget: usize) -> Self {
        Self {
            entries: Mutex::new(Lru::new(budget)),
            generation: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    /// The key of `sql` with `params`, in the current generation.
    pub fn key(&self, sql: &str, params: &Params) -> Key {
        Key {
            generation: self.generation.load(Ordering::Acquire),
            sql: sql.to_string(),
            params: format!("{params:?}"),
        }
    }

    /// The result kept for `key`, if any.
    pub fn get(&self, key: &Key) -> Option<Arc<Entry>> {
        let found = self.entries.lock().ok()?.get(key);
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Something in the session changed: nothing kept so far is found again.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// How many statements were answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Collects a result as it streams, to keep it once complete.
    pub fn recorder(self: &Arc<Self>, key: Key, schema: SchemaRef) -> Recorder {
        let limit = self.entries.lock().map_or(0, |e| e.budget() / 4);
        Recorder {
            cache: self.clone(),
            key,
            schema,
            batches: Vec::new(),
            bytes: 0,
            limit,
        }
    }
}

/// A result being streamed, kept in the cache when the stream ends (not when it fails or is
/// dropped before its end).
#[derive(Debug)]
pub struct Recorder {
    cache: Arc<ResultCache>,
    key: Key,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    bytes: usize,
    /// Beyond this the result is not kept.
    limit: usize,
}

impl Recorder {
    /// One more batch of the result; `false` once the result is too large to keep.
    pub fn add(&mut self, batch: &RecordBatch) -> bool {
        self.bytes += batch.get_array_memory_size();
        if self.bytes > self.limit {
            // Too large: nothing is kept (and nothing more held while it streams on).
            self.batches = Vec::new();
            return false;
        }
        self.batches.push(batch.clone());
        true
    }

    /// The stream ended: keep the result.
    pub fn finish(self) {
        if self.bytes > self.limit {
            return;
        }
        let entry = Arc::new(Entry {
            schema: self.schema,
            batches: self.batches,
        });
        if let Ok(mut entries) = self.cache.entries.lock() {
            entries.put(self.key, entry, self.bytes);
        }
    }
}

/// Functions that are not immutable only because they read the session's settings: those
/// change by `SET` alone, which starts a new generation.
const SESSION_READS: &[&str] = &["loopql_setting"];

/// Whether `plan` gives the same rows whenever it runs over the same data: every scalar
/// function in it (and in the views and subqueries it reads) is immutable.
pub fn repeatable(plan: &LogicalPlan) -> bool {
    let mut ok = true;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && let Some(view) = scan.source.get_logical_plan()
            && !repeatable(&view)
        {
            ok = false;
        }
        node.apply_expressions(|e| {
            e.apply(|e| {
                if let Expr::ScalarFunction(f) = e
                    && f.func.signature().volatility != Volatility::Immutable
                    && !SESSION_READS.contains(&f.func.name())
                {
                    ok = false;
                }
                Ok(stop_if(!ok))
            })
        })?;
        Ok(stop_if(!ok))
    });
    ok
}

fn stop_if(stop: bool) -> TreeNodeRecursion {
    if stop {
        TreeNodeRecursion::Stop
    } else {
        TreeNodeRecursion::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn plan(ctx: &SessionContext, sql: &str) -> LogicalPlan {
        ctx.state().create_logical_plan(sql).await.unwrap()
    }

    #[tokio::test]
    async fn plans_with_a_function_that_changes_are_not_repeatable() {
        let ctx = SessionContext::new();
        ctx.sql("CREATE VIEW dated AS SELECT 1 AS x, current_date AS today")
            .await
            .unwrap();
        ctx.sql("CREATE VIEW plain AS SELECT abs(-1) AS x")
            .await
            .unwrap();
        assert!(repeatable(&plan(&ctx, "SELECT abs(-2), upper('a')").await));
        assert!(repeatable(&plan(&ctx, "SELECT x FROM plain").await));
        for sql in [
            "SELECT now()",
            "SELECT random() AS r",
            "SELECT x FROM dated",
            "SELECT 1 WHERE EXISTS (SELECT 1 WHERE random() > 0.5)",
            "SELECT x FROM plain WHERE x IN (SELECT x FROM dated)",
        ] {
            assert!(!repeatable(&plan(&ctx, sql).await), "{sql}");
        }
    }

    #[test]
    fn a_result_is_kept_only_once_complete_and_within_a_quarter_of_the_budget() {
        use datafusion::arrow::array::Int64Array;
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = |rows: usize| {
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from(vec![1; rows]))],
            )
            .unwrap()
        };
        let cache = Arc::new(ResultCache::new(64 * 1024));
        let small = cache.key("SELECT small", &Params::None);
        let mut r = cache.recorder(small.clone(), schema.clone());
        assert!(r.add(&batch(10)));
        assert!(cache.get(&small).is_none(), "not kept before its end");
        r.finish();
        let kept = cache.get(&small).expect("kept once complete");
        assert_eq!(kept.batches[0].num_rows(), 10);
        assert_eq!(cache.hits(), 1);

        let large = cache.key("SELECT large", &Params::None);
        let mut r = cache.recorder(large.clone(), schema.clone());
        assert!(!r.add(&batch(4 * 1024)), "32 KiB of a 64 KiB budget");
        r.finish();
        assert!(cache.get(&large).is_none());

        let dropped = cache.key("SELECT dropped", &Params::None);
        let mut r = cache.recorder(dropped.clone(), schema.clone());
        r.add(&batch(1));
        drop(r);
        assert!(
            cache.get(&dropped).is_none(),
            "a stream dropped keeps nothing"
        );

        cache.changed();
        assert!(
            cache
                .get(&cache.key("SELECT small", &Params::None))
                .is_none(),
            "a new generation finds nothing older"
        );
        assert_ne!(
            cache.key("SELECT $1", &Params::Positional(vec![1i64.into()])),
            cache.key("SELECT $1", &Params::Positional(vec![2i64.into()]))
        );
    }
}
