//! The rule-based models, one conversion at a time: first, last, last non-direct, linear,
//! position-based, time-decay, W-shaped, and Shapley (whose exact value for the "paths inside
//! the coalition" game is an equal split over the path's distinct channels).

use super::{DIRECT, Milestones, Model, Params, Touch, UNMATCHED, merge};

/// Weights summing to 1 over `touches` (in time order), for every model but Markov.
/// `conversion_ts` is the conversion's time (µs), used by time decay.
pub fn weights(
    model: Model,
    touches: &[Touch],
    conversion_ts: i64,
    params: &Params,
    milestones: &Milestones,
) -> Vec<f64> {
    let n = touches.len();
    if n == 0 {
        return Vec::new();
    }
    let mut w = vec![0.0; n];
    match model {
        Model::First => w[0] = 1.0,
        Model::Last | Model::Markov => w[n - 1] = 1.0,
        Model::LastNonDirect => {
            let i = touches
                .iter()
                .rposition(|t| t.key != DIRECT)
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
            for (wi, t) in w.iter_mut().zip(touches) {
                let age = (conversion_ts - t.ts).max(0) as f64;
                *wi = (-age / half_life_us).exp2();
            }
            normalize(&mut w);
        }
        Model::WShaped => {
            // 30% to the first touch, to the last touch before the lead was created and to the
            // last before the opportunity was created (a touch that is several milestones gets
            // each share); 10% over the other touches; then normalized, so missing milestones or
            // no other touches give their share to the rest in proportion.
            let last_before =
                |at: Option<i64>| at.and_then(|at| touches.iter().rposition(|t| t.ts <= at));
            let mut milestone = vec![0.0; n];
            milestone[0] += 0.3;
            for at in [milestones.lead_at, milestones.opportunity_at] {
                if let Some(i) = last_before(at) {
                    milestone[i] += 0.3;
                }
            }
            let others = milestone.iter().filter(|m| **m == 0.0).count();
            for (wi, m) in w.iter_mut().zip(&milestone) {
                *wi = if *m > 0.0 { *m } else { 0.1 / others as f64 };
            }
            normalize(&mut w);
        }
        Model::Shapley => {
            let mut distinct: Vec<&str> = touches.iter().map(|t| t.key.as_str()).collect();
            distinct.sort_unstable();
            distinct.dedup();
            let share = 1.0 / distinct.len() as f64;
            // Each distinct channel's share goes to its first touch (credits are per channel).
            for k in distinct {
                if let Some(i) = touches.iter().position(|t| t.key == k) {
                    w[i] = share;
                }
            }
        }
    }
    w
}

fn normalize(w: &mut [f64]) {
    let total: f64 = w.iter().sum();
    if total > 0.0 {
        w.iter_mut().for_each(|x| *x /= total);
    }
}

/// A conversion's credits per key (channel or campaign), summing to 1; `Unmatched` when the path
/// is empty.
pub fn credits(
    model: Model,
    touches: &[Touch],
    conversion_ts: i64,
    params: &Params,
    milestones: &Milestones,
) -> Vec<(String, f64)> {
    if touches.is_empty() {
        return vec![(UNMATCHED.to_string(), 1.0)];
    }
    let w = weights(model, touches, conversion_ts, params, milestones);
    merge(
        touches
            .iter()
            .zip(w)
            .filter(|(_, w)| *w != 0.0)
            .map(|(t, w)| (t.key.clone(), w))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(keys: &[&str]) -> Vec<Touch> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| Touch {
                key: k.to_string(),
                ts: i as i64 * 86_400_000_000,
            })
            .collect()
    }

    fn c(model: Model, keys: &[&str]) -> Vec<(String, f64)> {
        let touches = path(keys);
        let end = touches.last().map_or(0, |t| t.ts);
        credits(
            model,
            &touches,
            end,
            &Params::default(),
            &Milestones::default(),
        )
    }

    fn get(credits: &[(String, f64)], k: &str) -> f64 {
        credits.iter().find(|(c, _)| c == k).map_or(0.0, |c| c.1)
    }

    #[test]
    fn position_based_ends_and_middles() {
        let r = c(Model::Position, &["A", "B", "C", "D"]);
        for (k, e) in ["A", "B", "C", "D"].iter().zip([0.4, 0.1, 0.1, 0.4]) {
            assert!((get(&r, k) - e).abs() < 1e-12, "{k}: {r:?}");
        }
        assert_eq!(
            c(Model::Position, &["A", "B"]),
            vec![("A".into(), 0.5), ("B".into(), 0.5)]
        );
        assert_eq!(c(Model::Position, &["A"]), vec![("A".into(), 1.0)]);
    }

    #[test]
    fn linear_counts_repeats() {
        let r = c(Model::Linear, &["A", "B", "A"]);
        assert!((get(&r, "A") - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn last_non_direct_skips_direct_unless_all_direct() {
        assert_eq!(
            c(Model::LastNonDirect, &["A", "Direct"]),
            vec![("A".into(), 1.0)]
        );
        assert_eq!(
            c(Model::LastNonDirect, &["Direct", "Direct"]),
            vec![("Direct".into(), 1.0)]
        );
    }

    #[test]
    fn time_decay_halves_each_half_life() {
        // Touches 7 days and 0 days before the conversion: weights 1/2 and 1.
        let touches = vec![
            Touch {
                key: "A".into(),
                ts: 0,
            },
            Touch {
                key: "B".into(),
                ts: 7 * 86_400_000_000,
            },
        ];
        let r = credits(
            Model::TimeDecay,
            &touches,
            7 * 86_400_000_000,
            &Params::default(),
            &Milestones::default(),
        );
        assert!((get(&r, "A") - 1.0 / 3.0).abs() < 1e-12);
        assert!((get(&r, "B") - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn w_shaped_milestones() {
        // Touches on days 0..4; lead on day 2, opportunity on day 3.
        let touches = path(&["A", "B", "C", "D", "E"]);
        let day = 86_400_000_000;
        let m = Milestones {
            lead_at: Some(2 * day),
            opportunity_at: Some(3 * day),
        };
        let r = credits(Model::WShaped, &touches, 4 * day, &Params::default(), &m);
        let expect = [0.3, 0.05, 0.3, 0.3, 0.05];
        for (k, e) in ["A", "B", "C", "D", "E"].iter().zip(expect) {
            assert!((get(&r, k) - e).abs() < 1e-12, "{k}: {r:?}");
        }
        // No milestones: the first touch's 30% against 10% over the rest, normalized.
        let r = credits(
            Model::WShaped,
            &touches,
            4 * day,
            &Params::default(),
            &Milestones::default(),
        );
        assert!((get(&r, "A") - 0.75).abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn shapley_splits_over_distinct_channels() {
        let r = c(Model::Shapley, &["A", "B", "A", "A"]);
        assert_eq!((get(&r, "A"), get(&r, "B")), (0.5, 0.5));
    }

    #[test]
    fn an_empty_path_is_unmatched() {
        assert_eq!(c(Model::Linear, &[]), vec![(UNMATCHED.into(), 1.0)]);
    }
}
