//! Conversion paths (DOMAIN.md §1): a conversion's path is its person's touches at or before it
//! within the lookback window, after the direct policy and the path transform, and then at most
//! the last `lookback_steps` of them. Touches are key ids; whether a key's channel is Direct
//! comes from the client's [`super::journeys::Keys`].

use crate::settings::{AttributionOptions, DirectPolicy, PathTransform};

/// A path: each touch's time (µs) and key id, in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Path {
    pub ts: Vec<i64>,
    pub keys: Vec<u32>,
}

impl Path {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

const DAY_US: i64 = 86_400_000_000;

/// The path at `at` (µs) over one person's touches (`ts`, `keys`, in time order); `direct[k]`
/// says whether key k's channel is Direct.
pub fn path(
    ts: &[i64],
    keys: &[u32],
    direct: &[bool],
    at: i64,
    options: &AttributionOptions,
) -> Path {
    let mut out = Path::default();
    path_into(&mut out, ts, keys, direct, at, options);
    out
}

/// [`path`] written into `out` (cleared first), so a loop over many conversions reuses one
/// path's buffers.
pub fn path_into(
    out: &mut Path,
    ts: &[i64],
    keys: &[u32],
    direct: &[bool],
    at: i64,
    options: &AttributionOptions,
) {
    out.ts.clear();
    out.keys.clear();
    let lookback = i64::try_from(options.lookback_days)
        .unwrap_or(i64::MAX / DAY_US)
        .saturating_mul(DAY_US);
    // Touches are in time order: the window is a range.
    let end = ts.partition_point(|&t| t <= at);
    let begin = ts[..end].partition_point(|&t| at.saturating_sub(t) > lookback);
    let is_direct = |k: u32| direct.get(k as usize).copied().unwrap_or(false);
    let window = begin..end;
    let all_direct = window.clone().all(|i| is_direct(keys[i]));
    for i in window {
        let k = keys[i];
        let kept = match options.direct_policy {
            DirectPolicy::Keep => true,
            DirectPolicy::Exclude => !is_direct(k),
            DirectPolicy::LastNonDirect => all_direct || !is_direct(k),
        };
        if !kept {
            continue;
        }
        let keep = match options.path_transform {
            PathTransform::Unique => true,
            PathTransform::Exposure => out.keys.last() != Some(&k),
            PathTransform::First => !out.keys.contains(&k),
        };
        if keep {
            out.ts.push(ts[i]);
            out.keys.push(k);
        }
    }
    let steps = usize::try_from(options.lookback_steps).unwrap_or(usize::MAX);
    if steps > 0 && out.len() > steps {
        let cut = out.len() - steps;
        out.ts.drain(..cut);
        out.keys.drain(..cut);
    }
}

/// A non-converting journey: the person's touches within the lookback of their last touch.
pub fn last_journey(
    ts: &[i64],
    keys: &[u32],
    direct: &[bool],
    options: &AttributionOptions,
) -> Path {
    match ts.last() {
        Some(&last) => path(ts, keys, direct, last, options),
        None => Path::default(),
    }
}

/// One conversion's shares: its path's distinct keys in proportion to `weight` (equally when
/// the weights add up to 0), so no conversion credits a key it never touched. Markov weighs by
/// removal effect, Shapley by max(φ, 0).
pub fn split_by(path: &[u32], weight: impl Fn(u32) -> f64) -> Vec<(u32, f64)> {
    let mut distinct: Vec<u32> = path.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let total: f64 = distinct.iter().map(|&k| weight(k)).sum();
    distinct
        .iter()
        .map(|&k| {
            let share = if total > 0.0 {
                weight(k) / total
            } else {
                1.0 / distinct.len() as f64
            };
            (k, share)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Touches on the given days with keys 0 = A, 1 = B, 2 = C, 3 = D, 9 = Direct.
    fn touches(spec: &[(i64, u32)]) -> (Vec<i64>, Vec<u32>) {
        spec.iter().map(|(day, k)| (day * DAY_US, *k)).unzip()
    }

    fn direct() -> Vec<bool> {
        (0..10).map(|k| k == 9).collect()
    }

    fn keys(ts: &[i64], k: &[u32], at_day: i64, o: &AttributionOptions) -> Vec<u32> {
        path(ts, k, &direct(), at_day * DAY_US, o).keys
    }

    #[test]
    fn lookback_window_is_inclusive_and_ignores_later_touches() {
        let (ts, k) = touches(&[(0, 0), (10, 1), (40, 2), (41, 3)]);
        let o = AttributionOptions::default();
        // Conversion on day 40: A is 40 days before (outside 30), B 30 days (inside), D after.
        assert_eq!(keys(&ts, &k, 40, &o), [1, 2]);
    }

    #[test]
    fn transforms_direct_policy_and_steps() {
        let (ts, k) = touches(&[(1, 0), (2, 9), (3, 0), (4, 0), (5, 1), (6, 0)]);
        let mut o = AttributionOptions::default();
        assert_eq!(keys(&ts, &k, 6, &o), [0, 9, 0, 0, 1, 0]);
        o.path_transform = PathTransform::Exposure;
        assert_eq!(keys(&ts, &k, 6, &o), [0, 9, 0, 1, 0]);
        o.direct_policy = DirectPolicy::Exclude;
        assert_eq!(keys(&ts, &k, 6, &o), [0, 1, 0]);
        o.path_transform = PathTransform::First;
        assert_eq!(keys(&ts, &k, 6, &o), [0, 1]);
        o.path_transform = PathTransform::Unique;
        o.lookback_steps = 2;
        assert_eq!(keys(&ts, &k, 6, &o), [1, 0]);
    }

    #[test]
    fn an_all_direct_path_survives_last_non_direct_but_not_exclude() {
        let (ts, k) = touches(&[(1, 9), (2, 9)]);
        let mut o = AttributionOptions {
            direct_policy: DirectPolicy::LastNonDirect,
            ..Default::default()
        };
        assert_eq!(keys(&ts, &k, 2, &o), [9, 9]);
        o.direct_policy = DirectPolicy::Exclude;
        assert!(keys(&ts, &k, 2, &o).is_empty());
    }

    #[test]
    fn a_journey_without_conversion_ends_at_its_last_touch() {
        let (ts, k) = touches(&[(0, 0), (20, 1), (45, 2)]);
        let p = last_journey(&ts, &k, &direct(), &AttributionOptions::default());
        assert_eq!(p.keys, [1, 2]);
    }
}
