//! A small time-bounded cache for hot lookups (token records, pull
//! targets). Entries live for [`TTL`]; local changes clear them at once, and
//! another replica's changes are seen within the TTL. The cache is cleared
//! whole when it reaches [`CAPACITY`], so random tokens cannot grow it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an entry is trusted.
pub const TTL: Duration = Duration::from_secs(2);
/// Most entries held.
const CAPACITY: usize = 10_000;

/// Key → (when stored, value).
pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
    /// Lookups answered and missed (for monitoring).
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value, if stored less than [`TTL`] ago.
    pub fn get(&self, key: &K) -> Option<V> {
        let found = {
            let entries = self.lock();
            entries
                .get(key)
                .filter(|(at, _)| at.elapsed() < TTL)
                .map(|(_, value)| value.clone())
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Lookups answered from the cache and missed, since start.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Stores a value.
    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Forgets everything (after a local change that may affect entries).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_clears() {
        let cache = TtlCache::new();
        assert_eq!(cache.get(&1), None);
        cache.insert(1, "a");
        assert_eq!(cache.get(&1), Some("a"));
        cache.clear();
        assert_eq!(cache.get(&1), None);
        for i in 0..CAPACITY + 1 {
            cache.insert(i, "x");
        }
        assert!(cache.lock().len() <= CAPACITY);
    }
}
