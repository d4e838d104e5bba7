//! The one work queue the attribution code runs in parallel with: independent items (clients,
//! client × type groups, Markov removals) taken one at a time by up to N scoped threads.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The cores this process may use, asked once (on Linux the answer reads cgroup files: too
/// slow to ask per query).
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `work` on every item of `items`, on up to `threads` threads (each takes the next item when it
/// is free, so put the largest first); the results in item order, `None` for an item whose
/// worker panicked. With one thread or one item the work runs on the caller's thread (no
/// thread is started: a small query does not pay for one).
pub fn each<T: Sync, R: Send>(
    threads: usize,
    items: &[T],
    work: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    if threads <= 1 || items.len() <= 1 {
        return items
            .iter()
            .map(|item| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item))).ok())
            .collect();
    }
    let next = AtomicUsize::new(0);
    let done: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, items.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, work(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let mut out: Vec<Option<R>> = items.iter().map(|_| None).collect();
    for (i, r) in done.into_iter().flatten() {
        out[i] = Some(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_in_order() {
        let items: Vec<u64> = (0..100).collect();
        let out = each(3, &items, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| Some(x * 2)).collect::<Vec<_>>());
        assert!(each(2, &[] as &[u8], |x| *x).is_empty());
        assert_eq!(each(1, &items, |x| x + 1)[99], Some(100));
    }

    #[test]
    fn a_panicking_item_is_none_on_any_number_of_threads() {
        let work = |&x: &i32| {
            assert!(x != 2, "item 2 fails");
            x
        };
        // On the caller's thread only the failing item is lost.
        assert_eq!(each(1, &[1, 2, 3], work), [Some(1), None, Some(3)]);
        // On threads, the items its worker had done with it.
        let out = each(3, &[1, 2, 3], work);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1], None);
    }
}
