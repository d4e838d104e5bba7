//! Data-driven Shapley attribution (DOMAIN.md §2). The players are the keys (channels, or
//! campaigns); a coalition is the set of distinct keys of a journey. For an observed set S,
//! N(S) counts the journeys (converting and not) whose distinct keys are exactly S, C(S) their
//! conversions, and v(S) = C(S) / N(S); unobserved sets are worth 0. Over the n keys,
//!
//! φ_k = Σ_{S ⊆ K∖{k}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {k}) − v(S)),
//!
//! summed over observed sets only: an observed set T adds w(|T| − 1) · v(T) to each key in it
//! (as S ∪ {k}) and subtracts w(|T|) · v(T) from each key outside it (as S), where
//! w(s) = s! (n − s − 1)! / n!. A conversion's credit goes to the distinct keys of its own path
//! in proportion to max(φ_k, 0), equally when all are 0.

use std::collections::HashMap;

/// Journeys with the same distinct keys (sorted): how many, and how many of them converted.
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    pub keys: Vec<u32>,
    pub journeys: f64,
    pub conversions: f64,
}

/// w(s) = s! (n − s − 1)! / n! = 1 / (n · C(n − 1, s)), in logarithms so that hundreds of
/// campaigns do not overflow.
fn weight(n: usize, s: usize) -> f64 {
    let ln_fact = |m: usize| (1..=m).map(|i| (i as f64).ln()).sum::<f64>();
    (ln_fact(s) + ln_fact(n - s - 1) - ln_fact(n)).exp()
}

/// φ per key id (0 for keys no journey has); `keys` is how many key ids there are.
pub fn values(journeys: &[Journey], keys: usize) -> Vec<f64> {
    let mut sets: HashMap<&[u32], (f64, f64), ahash::RandomState> = HashMap::default();
    for j in journeys {
        if j.keys.is_empty() {
            continue;
        }
        let e = sets.entry(j.keys.as_slice()).or_default();
        e.0 += j.journeys;
        e.1 += j.conversions;
    }
    let mut present = vec![false; keys];
    for s in sets.keys() {
        for &k in *s {
            if let Some(p) = present.get_mut(k as usize) {
                *p = true;
            }
        }
    }
    let n = present.iter().filter(|p| **p).count();
    let mut phi = vec![0.0; keys];
    if n == 0 {
        return phi;
    }
    // Σ over every observed set of w(|T|) v(T): what each key outside T loses.
    let mut outside = 0.0;
    let mut weights: HashMap<usize, (f64, f64)> = HashMap::new();
    for (set, (count, conversions)) in &sets {
        if *count <= 0.0 {
            continue;
        }
        let v = conversions / count;
        let size = set.len();
        let (with, without) = *weights.entry(size).or_insert_with(|| {
            (
                weight(n, size - 1),
                if size < n { weight(n, size) } else { 0.0 },
            )
        });
        outside += without * v;
        for &k in *set {
            // In T: gains w(|T| − 1) v(T); and T is not "outside" k, so it gives back what the
            // total below takes away.
            phi[k as usize] += with * v + without * v;
        }
    }
    for (k, p) in phi.iter_mut().enumerate() {
        if present[k] {
            *p -= outside;
        }
    }
    phi
}

/// A conversion's credits: its path's distinct keys in proportion to max(φ, 0), equally when
/// all are 0.
pub fn split(path: &[u32], phi: &[f64]) -> Vec<(u32, f64)> {
    super::paths::split_by(path, |k| {
        phi.get(k as usize).copied().unwrap_or(0.0).max(0.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(keys: &[u32], conversions: f64) -> Journey {
        Journey {
            keys: keys.to_vec(),
            journeys: 1.0,
            conversions,
        }
    }

    /// φ by the definition: every subset of the other keys, with v from the observed sets.
    fn brute_force(journeys: &[Journey], keys: usize) -> Vec<f64> {
        let mut v: HashMap<Vec<u32>, (f64, f64)> = HashMap::new();
        for jn in journeys {
            let e = v.entry(jn.keys.clone()).or_default();
            e.0 += jn.journeys;
            e.1 += jn.conversions;
        }
        let value = |s: &Vec<u32>| v.get(s).map_or(0.0, |(n, c)| c / n);
        let n = keys;
        let fact = |m: usize| (1..=m).map(|i| i as f64).product::<f64>();
        (0..n as u32)
            .map(|k| {
                let others: Vec<u32> = (0..n as u32).filter(|o| *o != k).collect();
                let mut phi = 0.0;
                for mask in 0..(1u32 << others.len()) {
                    let s: Vec<u32> = others
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, o)| *o)
                        .collect();
                    let mut with = s.clone();
                    with.push(k);
                    with.sort_unstable();
                    let w = fact(s.len()) * fact(n - s.len() - 1) / fact(n);
                    phi += w * (value(&with) - value(&s));
                }
                phi
            })
            .collect()
    }

    #[test]
    fn two_channels_by_hand() {
        // {A}: 2 journeys, 1 conversion (v = 1/2); {B}: 1 journey, 0 (v = 0); {A,B}: 1, 1 (v = 1).
        // φ_A = 1/2 (v(A) − v(∅)) + 1/2 (v(AB) − v(B)) = 1/4 + 1/2 = 3/4; φ_B = 1/2 · 0 +
        // 1/2 (1 − 1/2) = 1/4. φ sums to v(AB) = 1 (efficiency).
        let journeys = [j(&[0], 1.0), j(&[0], 0.0), j(&[1], 0.0), j(&[0, 1], 1.0)];
        let phi = values(&journeys, 2);
        assert!((phi[0] - 0.75).abs() < 1e-12, "{phi:?}");
        assert!((phi[1] - 0.25).abs() < 1e-12, "{phi:?}");
    }

    #[test]
    fn equals_the_definition_on_random_journeys() {
        let mut rng = crate::rng::SplitMix64::new(5);
        for case in 0..30 {
            let keys = 2 + (rng.unit() * 5.0) as usize;
            let journeys: Vec<Journey> = (0..80)
                .map(|_| {
                    let mut set: Vec<u32> = (0..keys as u32).filter(|_| rng.unit() < 0.4).collect();
                    if set.is_empty() {
                        set.push((rng.unit() * keys as f64) as u32);
                    }
                    j(&set, f64::from(u8::from(rng.unit() < 0.3)))
                })
                .collect();
            // Every key appears, so n is the same for both.
            let mut all: Vec<Journey> = journeys.clone();
            all.extend((0..keys as u32).map(|k| j(&[k], 0.0)));
            let fast = values(&all, keys);
            let slow = brute_force(&all, keys);
            for k in 0..keys {
                assert!(
                    (fast[k] - slow[k]).abs() < 1e-12,
                    "case {case} key {k}: {fast:?} vs {slow:?}"
                );
            }
        }
    }

    #[test]
    fn a_conversion_credits_only_its_keys() {
        let s = split(&[2, 0, 2], &[0.3, 5.0, -0.1]);
        assert_eq!(s, vec![(0, 1.0), (2, 0.0)]);
        assert_eq!(split(&[1, 2], &[0.0, -1.0, 0.0]), vec![(1, 0.5), (2, 0.5)]);
    }
}
