//! The Markov removal-effect model, solved exactly on a sparse chain (DOMAIN.md §2).
//!
//! States are `(start)`, the last `order` keys of a path, `(conversion)` and `(null)`. A path
//! with c conversions and m non-conversions adds c + m to each transition along it, c into
//! `(conversion)` and m into `(null)`. The probability of converting from each transient state
//! solves `(I − Q) p = r`; removing a key sends every transition into a state that ends in it to
//! `(null)`. Removal effect RE(k) = 1 − P_without_k / P; a key's share of the conversions is
//! RE(k) / Σ RE.
//!
//! The chain is kept sparse (one row of transitions per state, in compressed rows) and solved
//! by Gauss–Seidel sweeps with each state's self-loop solved exactly, from the last state
//! discovered to the first (paths run forward, so values flow back to `(start)` in a sweep or
//! two), until no probability moves by more than [`TOLERANCE`]. `(I − Q)` is a nonsingular
//! M-matrix for an absorbing chain, for which Gauss–Seidel converges; an order-4 chain over 20
//! channels (about 100,000 states) solves in well under a second per removal.

use super::chain::{Chain, NO_KEY, START, build};
pub use super::chain::{Outcomes, PathCount, PathRef};
use std::collections::HashMap;

/// A fitted chain's answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// P(conversion) from `(start)`.
    pub conversion_probability: f64,
    /// Removal effect per key id (0 for keys the chain never saw).
    pub removal_effects: Vec<f64>,
    /// Transient states of the chain (start included).
    pub states: usize,
}

impl Fit {
    /// RE(k) / Σ RE per key id; all zero when nothing converts.
    pub fn shares(&self) -> Vec<f64> {
        let total: f64 = self.removal_effects.iter().sum();
        self.removal_effects
            .iter()
            .map(|r| if total > 0.0 { r / total } else { 0.0 })
            .collect()
    }
}

/// Grants `bytes` more memory, or says why not.
pub type Reserve<'a> = dyn Fn(usize) -> Result<(), String> + Sync + 'a;

/// Largest change of a probability between two sweeps at which the solve stops.
pub const TOLERANCE: f64 = 1e-15;
/// Sweeps after which a chain that still moves is reported as not converging.
const MAX_SWEEPS: usize = 100_000;
/// Transitions × removals (one sweep of every removal) under which the removals are solved on
/// the caller's thread.
const PARALLEL_WORK: usize = 1 << 20;
/// P(conversion) from every state, with transitions into states ending in `removed` sent to
/// null. `start` is where the sweeps begin: any probabilities at or above the answer (the
/// chain's own, for a removal: removing a key only lowers them) or all zeros.
fn conversion_probabilities(
    chain: &Chain,
    removed: Option<u32>,
    mut p: Vec<f64>,
) -> Result<Vec<f64>, String> {
    let n = chain.last.len();
    // A removed state's probability stays 0: every transition into it goes nowhere.
    if let Some(k) = removed {
        for (p, last) in p.iter_mut().zip(&chain.last) {
            if *last == k {
                *p = 0.0;
            }
        }
    }
    for sweep in 0..MAX_SWEEPS {
        let mut moved = 0.0f64;
        for i in (0..n).rev() {
            if removed.is_some_and(|k| chain.last[i] == k) {
                continue;
            }
            let (mut rest, mut stay) = (chain.to_conversion[i], 0.0);
            for e in chain.row[i]..chain.row[i + 1] {
                let j = chain.target[e] as usize;
                if j == i {
                    stay += chain.probability[e];
                } else {
                    rest += chain.probability[e] * p[j];
                }
            }
            let next = if stay < 1.0 { rest / (1.0 - stay) } else { 0.0 };
            moved = moved.max((next - p[i]).abs());
            p[i] = next;
        }
        if moved <= TOLERANCE {
            return Ok(p);
        }
        if sweep + 1 == MAX_SWEEPS {
            break;
        }
    }
    Err(format!(
        "the Markov chain of {n} states did not settle within {MAX_SWEEPS} sweeps"
    ))
}

/// Removal effects over `paths` (empty paths are ignored: they are `Unmatched`); `keys` is how
/// many key ids there are.
pub fn fit(paths: &[PathCount], order: usize, keys: usize) -> Result<Fit, String> {
    fit_within(paths, order, keys, &|_| Ok(()))
}

/// [`fit`], the chain's memory first granted by `reserve` (bytes; `Err` says why not — a
/// query's memory limit): a chain too large fails with an error naming its state count.
pub fn fit_within<P: Outcomes>(
    paths: &[P],
    order: usize,
    keys: usize,
    reserve: &Reserve<'_>,
) -> Result<Fit, String> {
    let chain = build(paths, order);
    let n = chain.last.len();
    // The keys some state ends in: one removal each.
    let mut on_chain = vec![false; keys];
    for &k in chain.last.iter().filter(|k| **k != NO_KEY) {
        if let Some(seen) = on_chain.get_mut(k as usize) {
            *seen = true;
        }
    }
    let seen: Vec<u32> = (0..keys as u32).filter(|&k| on_chain[k as usize]).collect();
    // The removals are independent: solved on up to as many threads as there are cores, each
    // starting from the chain's own probabilities — unless a sweep of all of them is so short
    // that starting a thread costs more.
    let threads = if chain.target.len() * seen.len() < PARALLEL_WORK {
        1
    } else {
        super::parallel::cores()
    };
    // The chain, and one vector of probabilities per solve running at once.
    let bytes = n * (4 + 8 + 8) + chain.target.len() * (4 + 8) + (threads + 1) * n * 8;
    reserve(bytes).map_err(|why| {
        format!(
            "the Markov chain of order {order} has {n} states and {} transitions ({} MiB to solve), more than the memory allowed: {why}; lower loopql.attribution.markov_order or raise the query's memory limit",
            chain.target.len(),
            bytes.div_ceil(1 << 20)
        )
    })?;
    let probabilities = conversion_probabilities(&chain, None, vec![0.0; n])?;
    let base = probabilities[START];
    let mut removal_effects = vec![0.0; keys];
    let solved = super::parallel::each(threads, &seen, |&k| {
        conversion_probabilities(&chain, Some(k), probabilities.clone()).map(|p| (k, p[START]))
    });
    for result in solved {
        let (k, without) = result.unwrap_or_else(|| Err("Markov solve panicked".into()))?;
        let re = if base > 0.0 {
            1.0 - without / base
        } else {
            0.0
        };
        if let Some(slot) = removal_effects.get_mut(k as usize) {
            *slot = re.max(0.0);
        }
    }
    Ok(Fit {
        conversion_probability: base,
        removal_effects,
        states: chain.last.len(),
    })
}

/// Groups equal paths, summing their outcomes.
pub fn group(paths: impl IntoIterator<Item = PathCount>) -> Vec<PathCount> {
    let mut grouped: HashMap<Vec<u32>, (f64, f64), ahash::RandomState> = HashMap::default();
    for p in paths {
        let e = grouped.entry(p.keys).or_default();
        e.0 += p.conversions;
        e.1 += p.nulls;
    }
    let mut out: Vec<PathCount> = grouped
        .into_iter()
        .map(|(keys, (conversions, nulls))| PathCount {
            keys,
            conversions,
            nulls,
        })
        .collect();
    // A stable order: the chain's state numbering (and so the sweep order) follows it.
    out.sort_unstable_by(|a, b| a.keys.cmp(&b.keys));
    out
}

/// A conversion's credits: its path's distinct keys in proportion to their removal effects
/// (equally when all are 0), so no conversion credits a key it never touched.
pub fn split(path: &[u32], removal_effects: &[f64]) -> Vec<(u32, f64)> {
    super::paths::split_by(path, |k| {
        removal_effects.get(k as usize).copied().unwrap_or(0.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &[u32], conversions: f64, nulls: f64) -> PathCount {
        PathCount {
            keys: path.to_vec(),
            conversions,
            nulls,
        }
    }

    const A: u32 = 0;
    const B: u32 = 1;
    const C: u32 = 2;

    #[test]
    fn hand_solved_first_order_chain() {
        // start->A (2), start->B (1); A->B (1), A->conv (1); B->conv (1), B->null (1).
        // P(B) = 1/2; P(A) = 1/2 * 1 + 1/2 * P(B) = 3/4; P = 2/3 * 3/4 + 1/3 * 1/2 = 2/3.
        // Without A: P = 1/3 * 1/2 = 1/6 -> RE(A) = 3/4. Without B: P = 2/3 * 1/2 = 1/3 ->
        // RE(B) = 1/2. Shares 0.6 / 0.4.
        let paths = [p(&[A, B], 1.0, 0.0), p(&[A], 1.0, 0.0), p(&[B], 0.0, 1.0)];
        let r = fit(&paths, 1, 2).unwrap();
        assert!((r.conversion_probability - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.removal_effects[0] - 0.75).abs() < 1e-12);
        assert!((r.removal_effects[1] - 0.5).abs() < 1e-12);
        let shares = r.shares();
        assert!((shares[0] - 0.6).abs() < 1e-12);
        assert!((shares[1] - 0.4).abs() < 1e-12);
    }

    #[test]
    fn loops_are_solved_not_simulated() {
        // A > A > A converts: the self-loop makes the chain cyclic. A->A 4, A->conv 2: P(A) =
        // 4/6 P(A) + 2/6 = 1. P(B) = 1/2. P = 2/4 * 1 + 2/4 * 1/2 = 3/4; without A, 1/4.
        let r = fit(&[p(&[A, A, A], 2.0, 0.0), p(&[B], 1.0, 1.0)], 1, 2).unwrap();
        assert!((r.conversion_probability - 0.75).abs() < 1e-12);
        assert!((r.removal_effects[0] - 2.0 / 3.0).abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn higher_orders_remember_more() {
        let paths = [
            p(&[A, B, C], 3.0, 1.0),
            p(&[B, A, C], 1.0, 3.0),
            p(&[C], 1.0, 1.0),
        ];
        for order in 1..=4 {
            let r = fit(&paths, order, 3).unwrap();
            let total: f64 = r.shares().iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "order {order}: {r:?}");
        }
        // Order 2 tells A>B from B>A, order 1 does not: different effects.
        assert_ne!(
            fit(&paths, 1, 3).unwrap().removal_effects,
            fit(&paths, 2, 3).unwrap().removal_effects
        );
    }

    /// `a x = b` by dense Gaussian elimination with partial pivoting: the reference the sparse
    /// solve is checked against.
    fn dense(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
        let n = b.len();
        for col in 0..n {
            let pivot = (col..n)
                .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
                .unwrap();
            a.swap(col, pivot);
            b.swap(col, pivot);
            for r in col + 1..n {
                let f = a[r][col] / a[col][col];
                let (upper, lower) = a.split_at_mut(r);
                for (x, y) in lower[0][col..].iter_mut().zip(&upper[col][col..]) {
                    *x -= f * y;
                }
                b[r] -= f * b[col];
            }
        }
        let mut x = vec![0.0; n];
        for r in (0..n).rev() {
            let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
            x[r] = (b[r] - s) / a[r][r];
        }
        x
    }

    fn dense_probability(chain: &Chain, removed: Option<u32>) -> f64 {
        let n = chain.last.len();
        let mut a = vec![vec![0.0; n]; n];
        let mut b = chain.to_conversion.clone();
        for i in 0..n {
            a[i][i] = 1.0;
            if removed.is_some_and(|k| chain.last[i] == k) {
                b[i] = 0.0;
                continue;
            }
            for e in chain.row[i]..chain.row[i + 1] {
                let j = chain.target[e] as usize;
                if removed.is_some_and(|k| chain.last[j] == k) {
                    continue;
                }
                a[i][j] -= chain.probability[e];
            }
        }
        dense(a, b)[START]
    }

    #[test]
    fn the_sparse_solve_equals_gaussian_elimination_on_random_chains() {
        let mut rng = crate::rng::SplitMix64::new(11);
        for case in 0..40 {
            let channels = 2 + (rng.unit() * 6.0) as u32;
            let paths: Vec<PathCount> = (0..60)
                .map(|_| {
                    let len = 1 + (rng.unit() * 6.0) as usize;
                    let keys = (0..len)
                        .map(|_| (rng.unit() * channels as f64) as u32)
                        .collect::<Vec<_>>();
                    let converts = rng.unit() < 0.4;
                    p(
                        &keys,
                        f64::from(u8::from(converts)),
                        f64::from(u8::from(!converts)),
                    )
                })
                .collect::<Vec<_>>();
            for order in 1..=3 {
                let chain = build(&group(paths.clone()), order);
                let zeros = vec![0.0; chain.last.len()];
                let base = conversion_probabilities(&chain, None, zeros.clone()).unwrap();
                for removed in std::iter::once(None).chain((0..channels).map(Some)) {
                    let exact = dense_probability(&chain, removed);
                    // From zeros and from the whole chain's probabilities (what a removal
                    // starts from).
                    for start in [zeros.clone(), base.clone()] {
                        let sparse = conversion_probabilities(&chain, removed, start).unwrap();
                        assert!(
                            (sparse[START] - exact).abs() < 1e-12,
                            "case {case} order {order} removed {removed:?}: {} vs {exact}",
                            sparse[START]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_conversion_credits_only_its_own_keys_by_their_effects() {
        let re = [0.75, 0.5, 0.25];
        let s = split(&[A, B, A], &re);
        assert_eq!(s.len(), 2);
        assert!((s[0].1 - 0.6).abs() < 1e-12 && (s[1].1 - 0.4).abs() < 1e-12);
        assert_eq!(split(&[C, C], &[0.0, 0.0, 0.0]), vec![(C, 1.0)]);
    }

    #[test]
    fn an_order_4_chain_over_20_channels_stays_sparse() {
        let mut rng = crate::rng::SplitMix64::new(3);
        let paths: Vec<PathCount> = (0..30_000)
            .map(|_| {
                let len = 1 + (rng.unit() * 8.0) as usize;
                let keys = (0..len)
                    .map(|_| (rng.unit() * 20.0) as u32)
                    .collect::<Vec<_>>();
                let converts = rng.unit() < 0.1;
                p(
                    &keys,
                    f64::from(u8::from(converts)),
                    f64::from(u8::from(!converts)),
                )
            })
            .collect();
        let r = fit(&group(paths), 4, 20).unwrap();
        assert!(r.states > 20_000, "{} states", r.states);
        let total: f64 = r.shares().iter().sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_chain_over_the_memory_allowed_fails_naming_its_states() {
        let paths = group([p(&[A, B], 1.0, 0.0), p(&[B, C], 0.0, 1.0)]);
        let refuse = |bytes: usize| Err(format!("{bytes} bytes over a limit of 10"));
        let e = fit_within(&paths, 2, 3, &refuse).unwrap_err();
        assert!(e.contains("has 5 states"), "{e}");
        assert!(e.contains("over a limit of 10"), "{e}");
        assert!(e.contains("markov_order"), "{e}");
        assert!(fit_within(&paths, 2, 3, &|_| Ok(())).is_ok());
    }
}
