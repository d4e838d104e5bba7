//! Credits already computed. Fits and credits are pure functions of the data and the settings
//! (DOMAIN.md §1), so an engine over a warehouse snapshot keeps each client's credits per model,
//! dimension and settings, and the next query over the same data only filters them: a report
//! server answering the same views again and again computes attribution once per snapshot.
//!
//! The cache belongs to one engine (a session config extension, so table functions find it);
//! its data version is set once the engine knows what it reads (the snapshot and the project's
//! reference files). An engine over live connectors has no version: nothing is cached, since
//! the sources may change between two queries. Memory is bounded: beyond [`BUDGET_BYTES`] the
//! least recently used entries go.

use super::Model;
use crate::lru::Lru;
use datafusion::arrow::array::RecordBatch;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// What the cached batches may hold, in bytes.
pub const BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// What one cached entry was computed from and for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// `channel` or `campaign`.
    pub dimension: &'static str,
    /// The `loopql.attribution.*` settings, written out.
    pub settings: String,
    pub client: String,
    pub model: Model,
}

/// One engine's credits cache.
#[derive(Debug)]
pub struct CreditCache {
    /// The data the engine reads (`None`: live sources, nothing is cached).
    version: OnceLock<Option<String>>,
    entries: Mutex<Lru<Key, Arc<RecordBatch>>>,
    /// Clients whose credits were computed (not found here).
    computed: AtomicU64,
}

impl Default for CreditCache {
    fn default() -> Self {
        Self {
            version: OnceLock::new(),
            entries: Mutex::new(Lru::new(BUDGET_BYTES)),
            computed: AtomicU64::new(0),
        }
    }
}

impl CreditCache {
    /// Says what data the engine reads; set once, when the engine is built.
    pub fn set_version(&self, version: Option<String>) {
        let _ = self.version.set(version);
    }

    fn enabled(&self) -> bool {
        self.version.get().is_some_and(Option::is_some)
    }

    /// The cached credits of `key`, if any.
    pub fn get(&self, key: &Key) -> Option<Arc<RecordBatch>> {
        if !self.enabled() {
            return None;
        }
        self.entries.lock().ok()?.get(key)
    }

    /// Keeps `batch` as the credits of `key`, evicting the least recently used beyond the budget.
    pub fn put(&self, key: Key, batch: Arc<RecordBatch>) {
        if !self.enabled() {
            return;
        }
        let bytes = batch.get_array_memory_size();
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(key, batch, bytes);
        }
    }

    /// Counts clients whose credits had to be computed.
    pub fn count_computed(&self, clients: usize) {
        self.computed.fetch_add(clients as u64, Ordering::Relaxed);
    }

    /// How many times a client's credits were computed since the engine was built.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// How many entries are cached (for tests and tracing).
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The session config extension that carries an engine's [`CreditCache`] to the table functions.
#[derive(Debug, Default, Clone)]
pub struct EngineCache(pub Arc<CreditCache>);

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn batch(rows: usize) -> Arc<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        Arc::new(
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1; rows]))]).unwrap(),
        )
    }

    fn key(client: &str) -> Key {
        Key {
            dimension: "channel",
            settings: "s".into(),
            client: client.into(),
            model: Model::Linear,
        }
    }

    #[test]
    fn live_engines_cache_nothing() {
        let cache = CreditCache::default();
        cache.set_version(None);
        cache.put(key("a"), batch(3));
        assert!(cache.get(&key("a")).is_none());
    }

    #[test]
    fn the_budget_bounds_what_is_kept() {
        let cache = CreditCache::default();
        cache.set_version(Some("snapshot 1".into()));
        // Each a quarter of the budget: the fourth one does not fit beside the three others.
        let big = BUDGET_BYTES / 8 / 4;
        for client in ["a", "b", "c", "d"] {
            cache.put(key(client), batch(big));
        }
        assert!(
            cache.get(&key("a")).is_none(),
            "a was the least recently used"
        );
        assert!(cache.get(&key("d")).is_some());
        let held = cache.entries.lock().unwrap().bytes();
        assert!(held <= BUDGET_BYTES, "{held}");
    }
}
