//! The rule-based models, one conversion at a time: first, last, last non-direct, linear,
//! position-based, time-decay, W-shaped, and `equal_distinct` (an equal split over the path's
//! distinct keys: the count-only "Shapley" game's closed form, which is not data-driven Shapley).

use super::journeys::Milestones;
use super::paths::Path;
use super::{Model, Params};

/// Weights summing to 1 over a path's touches (in time order), for every rule-based model.
/// `conversion_ts` is the conversion's time (µs); `direct[k]` says whether key k's channel is
/// Direct.
pub fn weights(
    model: Model,
    path: &Path,
    conversion_ts: i64,
    direct: &[bool],
    params: &Params,
    milestones: &Milestones,
) -> Vec<f64> {
    let mut w = Vec::new();
    weights_into(
        &mut w,
        model,
        path,
        conversion_ts,
        direct,
        params,
        milestones,
    );
    w
}

/// [`weights`] written into `w` (resized to the path's length), so a loop over many
/// conversions reuses one buffer.
pub fn weights_into(
    w: &mut Vec<f64>,
    model: Model,
    path: &Path,
    conversion_ts: i64,
    direct: &[bool],
    params: &Params,
    milestones: &Milestones,
) {
    let n = path.len();
    w.clear();
    if n == 0 {
        return;
    }
    w.resize(n, 0.0);
    match model {
        Model::First => w[0] = 1.0,
        Model::Last | Model::Markov | Model::Shapley => w[n - 1] = 1.0,
        Model::LastNonDirect => {
            let is_direct = |k: &u32| direct.get(*k as usize).copied().unwrap_or(false);
            let i = path
                .keys
                .iter()
                .rposition(|k| !is_direct(k))
                .unwrap_or(n - 1);
            w[i] = 1.0;
        }
        Model::Linear => w.fill(1.0 / n as f64),
        Model::Position => match n {
            1 => w[0] = 1.0,
            2 => w.fill(0.5),
            _ => {
                let (first, last) = (params.position_first, params.position_last);
                let middle = (1.0 - first - last) / (n - 2) as f64;
                w.fill(middle);
                w[0] = first;
                w[n - 1] = last;
            }
        },
        Model::TimeDecay => {
            let half_life_us = params.half_life_days * 86_400e6;
            for (wi, t) in w.iter_mut().zip(&path.ts) {
                let age = (conversion_ts - t).max(0) as f64;
                *wi = (-age / half_life_us).exp2();
            }
            normalize(w);
        }
        Model::WShaped => w_shaped(w, path, conversion_ts, milestones),
        Model::EqualDistinct => {
            let mut distinct: Vec<u32> = path.keys.clone();
            distinct.sort_unstable();
            distinct.dedup();
            let share = 1.0 / distinct.len() as f64;
            // Each distinct key's share goes to its first touch (credits are per key).
            for k in distinct {
                if let Some(i) = path.keys.iter().position(|x| *x == k) {
                    w[i] = share;
                }
            }
        }
    }
}

/// W-shaped (DOMAIN.md §2): the anchors are the first touch, the lead touch (the last touch at
/// or before the person became a lead) and the opportunity touch (likewise); a milestone counts
/// only at or before the conversion, and without a lead milestone yet the last touch is the lead
/// touch. Raw shares: 0.3 to each anchor (anchors that are the same touch add up) and 0.1 split
/// over the other touches; then scaled to sum to 1.
fn w_shaped(w: &mut [f64], path: &Path, conversion_ts: i64, milestones: &Milestones) {
    let n = w.len();
    let at_or_before = |at: i64| path.ts.iter().rposition(|&t| t <= at);
    let counted = |at: Option<i64>| at.filter(|&at| at <= conversion_ts);
    let lead = match counted(milestones.lead_at) {
        Some(at) => at_or_before(at),
        None => Some(n - 1),
    };
    let opportunity = counted(milestones.opportunity_at).and_then(at_or_before);
    let mut anchor = vec![0.0; n];
    anchor[0] += 0.3;
    for i in [lead, opportunity].into_iter().flatten() {
        anchor[i] += 0.3;
    }
    let others = anchor.iter().filter(|a| **a == 0.0).count();
    for (wi, a) in w.iter_mut().zip(&anchor) {
        *wi = if *a > 0.0 { *a } else { 0.1 / others as f64 };
    }
    normalize(w);
}

fn normalize(w: &mut [f64]) {
    let total: f64 = w.iter().sum();
    if total > 0.0 {
        w.iter_mut().for_each(|x| *x /= total);
    }
}

/// A conversion's credits per key id, summing to 1 (an empty path has none: the caller credits
/// `Unmatched`).
pub fn credits(
    model: Model,
    path: &Path,
    conversion_ts: i64,
    direct: &[bool],
    params: &Params,
    milestones: &Milestones,
) -> Vec<(u32, f64)> {
    let w = weights(model, path, conversion_ts, direct, params, milestones);
    let mut out: Vec<(u32, f64)> = Vec::with_capacity(w.len());
    for (k, w) in path.keys.iter().zip(w) {
        if w == 0.0 {
            continue;
        }
        match out.iter_mut().find(|(o, _)| o == k) {
            Some(e) => e.1 += w,
            None => out.push((*k, w)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;
    const DIRECT: u32 = 9;

    fn direct() -> Vec<bool> {
        (0..10).map(|k| k == DIRECT).collect()
    }

    fn path(keys: &[u32]) -> Path {
        Path {
            ts: (0..keys.len() as i64).map(|i| i * DAY).collect(),
            keys: keys.to_vec(),
        }
    }

    fn c(model: Model, keys: &[u32]) -> Vec<(u32, f64)> {
        let p = path(keys);
        let end = p.ts.last().copied().unwrap_or(0);
        credits(
            model,
            &p,
            end,
            &direct(),
            &Params::default(),
            &Milestones::default(),
        )
    }

    fn get(credits: &[(u32, f64)], k: u32) -> f64 {
        credits.iter().find(|(c, _)| *c == k).map_or(0.0, |c| c.1)
    }

    #[test]
    fn position_based_ends_and_middles() {
        let r = c(Model::Position, &[0, 1, 2, 3]);
        for (k, e) in [0, 1, 2, 3].into_iter().zip([0.4, 0.1, 0.1, 0.4]) {
            assert!((get(&r, k) - e).abs() < 1e-12, "{k}: {r:?}");
        }
        assert_eq!(c(Model::Position, &[0, 1]), vec![(0, 0.5), (1, 0.5)]);
        assert_eq!(c(Model::Position, &[0]), vec![(0, 1.0)]);
    }

    #[test]
    fn linear_counts_repeats() {
        let r = c(Model::Linear, &[0, 1, 0]);
        assert!((get(&r, 0) - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn last_non_direct_skips_direct_unless_all_direct() {
        assert_eq!(c(Model::LastNonDirect, &[0, DIRECT]), vec![(0, 1.0)]);
        assert_eq!(
            c(Model::LastNonDirect, &[DIRECT, DIRECT]),
            vec![(DIRECT, 1.0)]
        );
    }

    #[test]
    fn last_non_direct_looks_at_the_channel_of_a_campaign_key() {
        // Keys 5 and 6 are campaigns; 6's channel is Direct.
        let direct: Vec<bool> = (0..10).map(|k| k == 6).collect();
        let p = path(&[5, 6]);
        let r = credits(
            Model::LastNonDirect,
            &p,
            DAY,
            &direct,
            &Params::default(),
            &Milestones::default(),
        );
        assert_eq!(r, vec![(5, 1.0)]);
    }

    #[test]
    fn time_decay_halves_each_half_life() {
        // Touches 7 days and 0 days before the conversion: weights 1/2 and 1.
        let p = Path {
            ts: vec![0, 7 * DAY],
            keys: vec![0, 1],
        };
        let r = credits(
            Model::TimeDecay,
            &p,
            7 * DAY,
            &direct(),
            &Params::default(),
            &Milestones::default(),
        );
        assert!((get(&r, 0) - 1.0 / 3.0).abs() < 1e-12);
        assert!((get(&r, 1) - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn w_shaped_anchors_and_scaling() {
        // Touches on days 0..4; lead on day 2, opportunity on day 3: raw 0.3, 0.1/2, 0.3, 0.3,
        // 0.1/2 — already summing to 1.
        let p = path(&[0, 1, 2, 3, 4]);
        let m = Milestones {
            lead_at: Some(2 * DAY),
            opportunity_at: Some(3 * DAY),
        };
        let w = |m: &Milestones, at: i64| {
            credits(Model::WShaped, &p, at, &direct(), &Params::default(), m)
        };
        let r = w(&m, 4 * DAY);
        for (k, e) in [0, 1, 2, 3, 4].into_iter().zip([0.3, 0.05, 0.3, 0.3, 0.05]) {
            assert!((get(&r, k) - e).abs() < 1e-12, "{k}: {r:?}");
        }
        // No milestone yet: the last touch is the lead touch; raw 0.3 first, 0.3 last, 0.1 over
        // the three others, scaled by 1/0.7.
        let r = w(&Milestones::default(), 4 * DAY);
        for (k, e) in [0, 1, 2, 3, 4]
            .into_iter()
            .zip([0.3, 0.1 / 3.0, 0.1 / 3.0, 0.1 / 3.0, 0.3])
        {
            assert!((get(&r, k) - e / 0.7).abs() < 1e-12, "{k}: {r:?}");
        }
        // Two touches, no milestone: 50/50.
        let two = path(&[0, 1]);
        let r = credits(
            Model::WShaped,
            &two,
            DAY,
            &direct(),
            &Params::default(),
            &Milestones::default(),
        );
        assert_eq!(r, vec![(0, 0.5), (1, 0.5)]);
        // Milestones after the conversion do not count: a purchase on day 1, lead on day 3.
        let later = Milestones {
            lead_at: Some(3 * DAY),
            opportunity_at: Some(4 * DAY),
        };
        assert_eq!(
            credits(
                Model::WShaped,
                &two,
                DAY,
                &direct(),
                &Params::default(),
                &later
            ),
            vec![(0, 0.5), (1, 0.5)]
        );
    }

    #[test]
    fn equal_distinct_splits_over_distinct_keys() {
        let r = c(Model::EqualDistinct, &[0, 1, 0, 0]);
        assert_eq!((get(&r, 0), get(&r, 1)), (0.5, 0.5));
    }

    #[test]
    fn an_empty_path_has_no_credits() {
        assert!(c(Model::Linear, &[]).is_empty());
    }
}
