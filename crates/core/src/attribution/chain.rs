//! A Markov chain over paths of key ids, built in compressed rows (see `markov.rs` for the
//! model): states are `(start)` and the last `order` keys of a path, numbered in the order the
//! paths first reach them; a path with c conversions and m non-conversions adds c + m to each
//! transition along it. Small chains are counted in plain arrays, larger ones in hash maps.

use std::collections::HashMap;

/// One distinct path (of key ids) with its outcomes.
#[derive(Debug, Clone, PartialEq)]
pub struct PathCount {
    pub keys: Vec<u32>,
    pub conversions: f64,
    pub nulls: f64,
}

/// A path of key ids with its outcomes, as the chain reads it: owned ([`PathCount`]) or
/// borrowed ([`PathRef`], e.g. from a flat arena of many paths).
pub trait Outcomes {
    fn keys(&self) -> &[u32];
    fn conversions(&self) -> f64;
    fn nulls(&self) -> f64;
}

impl Outcomes for PathCount {
    fn keys(&self) -> &[u32] {
        &self.keys
    }
    fn conversions(&self) -> f64 {
        self.conversions
    }
    fn nulls(&self) -> f64 {
        self.nulls
    }
}

/// A borrowed path with its outcomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathRef<'a> {
    pub keys: &'a [u32],
    pub conversions: f64,
    pub nulls: f64,
}

impl Outcomes for PathRef<'_> {
    fn keys(&self) -> &[u32] {
        self.keys
    }
    fn conversions(&self) -> f64 {
        self.conversions
    }
    fn nulls(&self) -> f64 {
        self.nulls
    }
}

/// The `(start)` state.
pub(super) const START: usize = 0;
/// No key: `(start)`'s last key, an unused window slot.
pub(super) const NO_KEY: u32 = u32::MAX;

/// A state: the last `order` keys (unused slots are `NO_KEY`).
type Window = [u32; 4];

/// The chain in compressed rows: state i's transitions are `target[row[i]..row[i + 1]]`.
pub(super) struct Chain {
    /// The key each transient state ends in (`NO_KEY` for start).
    pub(super) last: Vec<u32>,
    pub(super) row: Vec<usize>,
    pub(super) target: Vec<u32>,
    /// Transition probability.
    pub(super) probability: Vec<f64>,
    /// P(state -> conversion).
    pub(super) to_conversion: Vec<f64>,
}

/// Largest table of transitions (possible windows × keys) for which the chain is built with
/// plain arrays instead of hash maps.
const DENSE: usize = 1 << 20;

/// Window -> state id.
enum States {
    /// Indexed by the window's mixed-radix number (digit: key + 1, 0 for an unused slot).
    Dense {
        radix: usize,
        table: Vec<u32>,
    },
    Hashed(HashMap<Window, u32, ahash::RandomState>),
}

/// Counted transitions.
enum Edges {
    /// (from state × key) -> (to state, count): the next key decides the next state.
    Dense {
        keys: usize,
        to: Vec<u32>,
        count: Vec<f64>,
    },
    Hashed(HashMap<(u32, u32), f64, ahash::RandomState>),
}

/// Whether a chain of `order` over `keys` key ids fits [`DENSE`]: `(keys + 1)^order` windows
/// (at least as many as states), times `keys` transitions out of each.
fn dense_windows(keys: usize, order: usize) -> Option<usize> {
    let windows = (keys + 1).checked_pow(u32::try_from(order).ok()?)?;
    (windows.checked_mul(keys.max(1))? <= DENSE).then_some(windows)
}

/// The chain over `paths`; states are numbered in the order the paths first reach them (equal
/// paths may repeat: their counts add up). Small chains (up to about [`DENSE`] windows) are
/// counted in arrays, larger ones in hash maps: the same chain either way.
pub(super) fn build<P: Outcomes>(paths: &[P], order: usize) -> Chain {
    let order = order.clamp(1, 4);
    let keys = paths
        .iter()
        .flat_map(|p| p.keys().iter().copied())
        .max()
        .map_or(0, |k| k as usize + 1);
    build_as(
        paths,
        order,
        dense_windows(keys, order).map(|windows| (keys, windows)),
    )
}

/// [`build`], with arrays when `dense` is (keys, windows).
fn build_as<P: Outcomes>(paths: &[P], order: usize, dense: Option<(usize, usize)>) -> Chain {
    let (mut states, mut edges) = match dense {
        Some((keys, windows)) => (
            States::Dense {
                radix: keys + 1,
                table: vec![u32::MAX; windows],
            },
            Edges::Dense {
                keys,
                to: vec![u32::MAX; keys],
                count: vec![0.0; keys],
            },
        ),
        None => (
            States::Hashed(HashMap::default()),
            Edges::Hashed(HashMap::default()),
        ),
    };
    let mut last = vec![NO_KEY];
    let mut conversion = vec![0.0];
    let mut null = vec![0.0];
    for p in paths {
        let (keys, conversions, nulls) = (p.keys(), p.conversions(), p.nulls());
        let weight = conversions + nulls;
        if keys.is_empty() || weight <= 0.0 {
            continue;
        }
        let mut from = START as u32;
        for i in 0..keys.len() {
            let window = &keys[i.saturating_sub(order - 1)..=i];
            let next = last.len() as u32;
            let to = match &mut states {
                States::Dense { radix, table } => {
                    let at = window
                        .iter()
                        .rev()
                        .fold(0, |n, &k| n * *radix + k as usize + 1);
                    let id = &mut table[at];
                    if *id == u32::MAX {
                        *id = next;
                    }
                    *id
                }
                States::Hashed(index) => {
                    let mut w = [NO_KEY; 4];
                    w[..window.len()].copy_from_slice(window);
                    *index.entry(w).or_insert(next)
                }
            };
            if to == next {
                last.push(keys[i]);
                conversion.push(0.0);
                null.push(0.0);
                if let Edges::Dense { keys, to, count } = &mut edges {
                    to.resize(to.len() + *keys, u32::MAX);
                    count.resize(count.len() + *keys, 0.0);
                }
            }
            match &mut edges {
                Edges::Dense {
                    keys: n,
                    to: targets,
                    count,
                } => {
                    let at = from as usize * *n + keys[i] as usize;
                    targets[at] = to;
                    count[at] += weight;
                }
                Edges::Hashed(map) => *map.entry((from, to)).or_insert(0.0) += weight,
            }
            from = to;
        }
        conversion[from as usize] += conversions;
        null[from as usize] += nulls;
    }
    // Transitions sorted by (from, to), as the rows are laid out.
    let edges: Vec<((u32, u32), f64)> = match edges {
        Edges::Dense { keys, to, count } => {
            let mut out = Vec::new();
            let mut row = Vec::new();
            for from in 0..last.len() {
                row.clear();
                for at in from * keys..(from + 1) * keys {
                    if to[at] != u32::MAX {
                        row.push(((from as u32, to[at]), count[at]));
                    }
                }
                row.sort_unstable_by_key(|(edge, _)| *edge);
                out.extend_from_slice(&row);
            }
            out
        }
        Edges::Hashed(map) => {
            let mut out: Vec<((u32, u32), f64)> = map.into_iter().collect();
            out.sort_unstable_by_key(|(edge, _)| *edge);
            out
        }
    };
    let n = last.len();
    let mut out = vec![0.0; n];
    let mut per_row = vec![0usize; n + 1];
    for &((from, _), count) in &edges {
        out[from as usize] += count;
        per_row[from as usize + 1] += 1;
    }
    for i in 0..n {
        out[i] += conversion[i] + null[i];
        per_row[i + 1] += per_row[i];
    }
    let row = per_row;
    let target: Vec<u32> = edges.iter().map(|((_, to), _)| *to).collect();
    let probability: Vec<f64> = edges
        .iter()
        .map(|((from, _), count)| count / out[*from as usize])
        .collect();
    let to_conversion = (0..n)
        .map(|i| {
            if out[i] > 0.0 {
                conversion[i] / out[i]
            } else {
                0.0
            }
        })
        .collect();
    Chain {
        last,
        row,
        target,
        probability,
        to_conversion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_hash_maps_build_the_same_chain() {
        let mut rng = crate::rng::SplitMix64::new(5);
        let paths: Vec<PathCount> = (0..500)
            .map(|_| {
                let len = 1 + (rng.unit() * 7.0) as usize;
                let keys = (0..len).map(|_| (rng.unit() * 9.0) as u32).collect();
                PathCount {
                    keys,
                    conversions: rng.unit().round(),
                    nulls: rng.unit().round() + 0.5,
                }
            })
            .collect();
        for order in 1..=4 {
            let windows = dense_windows(9, order).unwrap();
            let a = build_as(&paths, order, Some((9, windows)));
            let h = build_as(&paths, order, None);
            assert_eq!(a.last, h.last, "order {order}");
            assert_eq!(a.row, h.row, "order {order}");
            assert_eq!(a.target, h.target, "order {order}");
            assert_eq!(a.probability, h.probability, "order {order}");
            assert_eq!(a.to_conversion, h.to_conversion, "order {order}");
        }
        // 200 keys at order 3: too many windows for arrays.
        assert!(dense_windows(200, 3).is_none());
        assert!(dense_windows(20, 1).is_some());
    }
}
