//! A map bounded by the bytes its values hold: beyond its budget the least recently used entries
//! go. What the engine's caches (attribution credits, query results) keep their entries in.

use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug)]
struct Entry<V> {
    value: V,
    bytes: usize,
    used: u64,
}

#[derive(Debug)]
pub struct Lru<K, V> {
    map: HashMap<K, Entry<V>>,
    /// What the values hold together.
    bytes: usize,
    budget: usize,
    /// Ticks at every get and put: an entry's last use.
    clock: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> Lru<K, V> {
    pub fn new(budget: usize) -> Self {
        Self {
            map: HashMap::new(),
            bytes: 0,
            budget,
            clock: 0,
        }
    }

    /// The value of `key`, now the most recently used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        self.clock += 1;
        let now = self.clock;
        let e = self.map.get_mut(key)?;
        e.used = now;
        Some(e.value.clone())
    }

    /// Keeps `value` (holding `bytes`) as `key`'s, evicting the least recently used beyond the
    /// budget. A value larger than the whole budget is not kept.
    pub fn put(&mut self, key: K, value: V, bytes: usize) {
        if bytes > self.budget {
            return;
        }
        self.clock += 1;
        let used = self.clock;
        if let Some(old) = self.map.insert(key, Entry { value, bytes, used }) {
            self.bytes -= old.bytes;
        }
        self.bytes += bytes;
        while self.bytes > self.budget {
            let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = self.map.remove(&oldest) {
                self.bytes -= e.bytes;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// What the values hold together, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn budget(&self) -> usize {
        self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_go_beyond_the_budget() {
        let mut lru: Lru<&str, u32> = Lru::new(100);
        // Each a quarter of the budget and a bit: the fourth does not fit beside three others.
        lru.put("a", 1, 30);
        lru.put("b", 2, 30);
        assert_eq!(lru.get(&"a"), Some(1), "a is now the most recent");
        lru.put("c", 3, 30);
        lru.put("d", 4, 30);
        assert_eq!(lru.get(&"b"), None, "b was the least recently used");
        assert_eq!((lru.get(&"a"), lru.get(&"d")), (Some(1), Some(4)));
        assert!(lru.bytes() <= lru.budget(), "{}", lru.bytes());
    }

    #[test]
    fn a_value_larger_than_the_budget_is_not_kept_and_replacing_counts_once() {
        let mut lru: Lru<&str, u32> = Lru::new(100);
        lru.put("huge", 1, 101);
        assert!(lru.is_empty());
        lru.put("a", 1, 40);
        lru.put("a", 2, 50);
        assert_eq!((lru.len(), lru.bytes(), lru.get(&"a")), (1, 50, Some(2)));
    }
}
