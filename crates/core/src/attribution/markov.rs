//! The Markov removal-effect model, solved exactly (DOMAIN.md §2). States are `(start)`, the last
//! `order` channels of a path, `(conversion)` and `(null)`. A path with c conversions and m
//! non-conversions adds c + m to each transition along it, c into `(conversion)` and m into
//! `(null)`. The probability of converting from each transient state solves `(I − Q) p = r`
//! (Gaussian elimination with partial pivoting); removing a channel sends every transition into
//! a state that ends in it to `(null)`. Removal effect RE(k) = 1 − P_without_k / P; a channel's
//! share of the conversions (and of the value) is RE(k) / Σ RE.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One distinct path with its outcomes.
#[derive(Debug, Clone, PartialEq)]
pub struct PathCount {
    pub channels: Vec<String>,
    pub conversions: f64,
    pub nulls: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Result {
    /// P(conversion) from `(start)`.
    pub conversion_probability: f64,
    /// Removal effect per channel, channels in name order.
    pub removal_effects: Vec<(String, f64)>,
    /// RE / Σ RE per channel (empty when nothing converts).
    pub shares: Vec<(String, f64)>,
}

const START: usize = 0;

/// The chain: transient states (0 = start) and counts between them.
struct Chain {
    /// The last channel of each transient state (None for start).
    last: Vec<Option<String>>,
    /// counts[i][j] between transient states.
    counts: Vec<HashMap<usize, f64>>,
    to_conversion: Vec<f64>,
    to_null: Vec<f64>,
}

fn build(paths: &[PathCount], order: usize) -> Chain {
    let mut index: HashMap<Vec<String>, usize> = HashMap::new();
    let mut chain = Chain {
        last: vec![None],
        counts: vec![HashMap::new()],
        to_conversion: vec![0.0],
        to_null: vec![0.0],
    };
    for p in paths {
        let weight = p.conversions + p.nulls;
        if p.channels.is_empty() || weight <= 0.0 {
            continue;
        }
        let mut from = START;
        for i in 0..p.channels.len() {
            let window = p.channels[i.saturating_sub(order - 1)..=i].to_vec();
            let to = *index.entry(window).or_insert_with(|| {
                chain.last.push(Some(p.channels[i].clone()));
                chain.counts.push(HashMap::new());
                chain.to_conversion.push(0.0);
                chain.to_null.push(0.0);
                chain.last.len() - 1
            });
            *chain.counts[from].entry(to).or_insert(0.0) += weight;
            from = to;
        }
        chain.to_conversion[from] += p.conversions;
        chain.to_null[from] += p.nulls;
    }
    chain
}

/// P(conversion) from start, with transitions into states ending in `removed` sent to null.
fn conversion_probability(chain: &Chain, removed: Option<&str>) -> f64 {
    let n = chain.last.len();
    let mut a = vec![vec![0.0; n]; n];
    let mut b = vec![0.0; n];
    for i in 0..n {
        a[i][i] = 1.0;
        let out: f64 =
            chain.counts[i].values().sum::<f64>() + chain.to_conversion[i] + chain.to_null[i];
        if out <= 0.0 {
            continue;
        }
        b[i] = chain.to_conversion[i] / out;
        for (&j, &c) in &chain.counts[i] {
            if removed.is_some() && chain.last[j].as_deref() == removed {
                continue;
            }
            a[i][j] -= c / out;
        }
    }
    solve(a, b).map_or(0.0, |p| p[START])
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; None if singular.
pub fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            if f == 0.0 {
                continue;
            }
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[col + 1 + offset] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// Removal effects and shares over `paths` (empty paths are ignored: they are `Unmatched`).
pub fn removal_effects(paths: &[PathCount], order: usize) -> Result {
    let chain = build(paths, order.max(1));
    let base = conversion_probability(&chain, None);
    let channels: BTreeSet<&str> = chain.last.iter().flatten().map(String::as_str).collect();
    let mut removal_effects = Vec::new();
    for c in channels {
        let without = conversion_probability(&chain, Some(c));
        let re = if base > 0.0 {
            1.0 - without / base
        } else {
            0.0
        };
        removal_effects.push((c.to_string(), re.max(0.0)));
    }
    let total: f64 = removal_effects.iter().map(|(_, r)| r).sum();
    let shares = if total > 0.0 {
        removal_effects
            .iter()
            .map(|(c, r)| (c.clone(), r / total))
            .collect()
    } else {
        Vec::new()
    };
    Result {
        conversion_probability: base,
        removal_effects,
        shares,
    }
}

/// Groups equal paths, summing their outcomes.
pub fn group(paths: impl IntoIterator<Item = PathCount>) -> Vec<PathCount> {
    let mut grouped: BTreeMap<Vec<String>, (f64, f64)> = BTreeMap::new();
    for p in paths {
        let e = grouped.entry(p.channels).or_default();
        e.0 += p.conversions;
        e.1 += p.nulls;
    }
    grouped
        .into_iter()
        .map(|(channels, (conversions, nulls))| PathCount {
            channels,
            conversions,
            nulls,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str, conversions: f64, nulls: f64) -> PathCount {
        PathCount {
            channels: path.split('>').map(|s| s.trim().to_string()).collect(),
            conversions,
            nulls,
        }
    }

    fn get(r: &[(String, f64)], k: &str) -> f64 {
        r.iter().find(|(c, _)| c == k).map_or(f64::NAN, |c| c.1)
    }

    #[test]
    fn hand_solved_first_order_chain() {
        // start->A (2), start->B (1); A->B (1), A->conv (1); B->conv (1), B->null (1).
        // P(B) = 1/2; P(A) = 1/2 * 1 + 1/2 * P(B) = 3/4; P = 2/3 * 3/4 + 1/3 * 1/2 = 2/3.
        // Without A: P = 1/3 * 1/2 = 1/6 -> RE(A) = 3/4. Without B: P = 2/3 * 1/2 = 1/3 ->
        // RE(B) = 1/2. Shares 0.6 / 0.4.
        let paths = [p("A > B", 1.0, 0.0), p("A", 1.0, 0.0), p("B", 0.0, 1.0)];
        let r = removal_effects(&paths, 1);
        assert!((r.conversion_probability - 2.0 / 3.0).abs() < 1e-12);
        assert!((get(&r.removal_effects, "A") - 0.75).abs() < 1e-12);
        assert!((get(&r.removal_effects, "B") - 0.5).abs() < 1e-12);
        assert!((get(&r.shares, "A") - 0.6).abs() < 1e-12);
        assert!((get(&r.shares, "B") - 0.4).abs() < 1e-12);
    }

    #[test]
    fn loops_are_solved_not_simulated() {
        // A > A > A converts: the self-loop makes the chain cyclic. A->A 4, A->conv 2: P(A) =
        // 4/6 P(A) + 2/6 = 1. P(B) = 1/2. P = 2/4 * 1 + 2/4 * 1/2 = 3/4; without A, 1/4.
        let r = removal_effects(&[p("A > A > A", 2.0, 0.0), p("B", 1.0, 1.0)], 1);
        assert!((r.conversion_probability - 0.75).abs() < 1e-12);
        assert!(
            (get(&r.removal_effects, "A") - 2.0 / 3.0).abs() < 1e-12,
            "{r:?}"
        );
    }

    #[test]
    fn higher_orders_remember_more() {
        let paths = [
            p("A > B > C", 3.0, 1.0),
            p("B > A > C", 1.0, 3.0),
            p("C", 1.0, 1.0),
        ];
        for order in 1..=4 {
            let r = removal_effects(&paths, order);
            let total: f64 = r.shares.iter().map(|s| s.1).sum();
            assert!((total - 1.0).abs() < 1e-12, "order {order}: {r:?}");
        }
        // Order 2 tells A>B from B>A, order 1 does not: different effects.
        assert_ne!(
            removal_effects(&paths, 1).removal_effects,
            removal_effects(&paths, 2).removal_effects
        );
    }

    #[test]
    fn gaussian_elimination_pivots() {
        let x = solve(vec![vec![0.0, 1.0], vec![2.0, 1.0]], vec![1.0, 3.0]).unwrap();
        assert_eq!(x, vec![1.0, 1.0]);
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 2.0]).is_none());
    }
}
