//! Credits for a set of conversions under each model: builds every conversion's path from its
//! person's touches, runs the models, and sums the credits per client × day × conversion type ×
//! model × key. Markov, a model of the whole population, is fitted per client and conversion type
//! over the conversions' paths and the paths of people who touched but did not convert; each
//! matched conversion is then split by the channels' global shares (so the totals are DOMAIN's
//! A(k) = RE(k) / Σ RE · conversions, and each conversion still sums to 1).

use super::heuristic;
use super::markov::{self, PathCount};
use super::paths::{self, RawTouch};
use super::{Milestones, Model, Params, UNMATCHED};
use crate::settings::AttributionOptions;
use std::collections::{BTreeMap, HashMap, HashSet};

/// (client_id, person_key)
pub type PersonKey = (String, String);

/// (client_id, day, conversion type, model, key)
type SumKey = (String, i32, String, Model, String);

#[derive(Debug, Clone)]
pub struct Conversion {
    pub client_id: String,
    pub person_key: String,
    pub ts: i64,
    /// Days since the epoch, in the client's time zone.
    pub date: i32,
    pub conversion_type: String,
    pub value: f64,
}

/// Credits summed at client × day × type × model × key.
#[derive(Debug, Clone, PartialEq)]
pub struct Credit {
    pub client_id: String,
    pub date: i32,
    pub conversion_type: String,
    pub model: Model,
    pub key: String,
    pub conversions: f64,
    pub value: f64,
}

pub struct Inputs<'a> {
    /// The conversions to credit.
    pub conversions: &'a [Conversion],
    /// Every person's touches, in time order.
    pub touches: &'a HashMap<PersonKey, Vec<RawTouch>>,
    /// Lead and opportunity times per person (W-shaped).
    pub milestones: &'a HashMap<PersonKey, Milestones>,
    /// (client, person, type) of every conversion there is: people without one of a type are
    /// that type's non-conversions (Markov).
    pub converted: &'a HashSet<(String, String, String)>,
}

pub fn params(options: &AttributionOptions) -> Params {
    Params {
        position_first: options.position_first_share,
        position_last: options.position_last_share,
        half_life_days: options.half_life_days,
    }
}

/// Every conversion's path (in `inputs.conversions` order).
fn conversion_paths(inputs: &Inputs, options: &AttributionOptions) -> Vec<Vec<super::Touch>> {
    inputs
        .conversions
        .iter()
        .map(|c| {
            inputs
                .touches
                .get(&(c.client_id.clone(), c.person_key.clone()))
                .map(|t| paths::path(t, c.ts, options))
                .unwrap_or_default()
        })
        .collect()
}

/// Markov shares per (client, conversion type).
fn markov_shares(
    inputs: &Inputs,
    paths: &[Vec<super::Touch>],
    options: &AttributionOptions,
) -> HashMap<(String, String), Vec<(String, f64)>> {
    let mut groups: BTreeMap<(String, String), Vec<PathCount>> = BTreeMap::new();
    for (c, p) in inputs.conversions.iter().zip(paths) {
        groups
            .entry((c.client_id.clone(), c.conversion_type.clone()))
            .or_default()
            .push(PathCount {
                channels: p.iter().map(|t| t.key.clone()).collect(),
                conversions: 1.0,
                nulls: 0.0,
            });
    }
    let mut out = HashMap::new();
    for ((client, ctype), mut counts) in groups {
        for ((c, person), touches) in inputs.touches {
            if *c != client
                || inputs
                    .converted
                    .contains(&(c.clone(), person.clone(), ctype.clone()))
            {
                continue;
            }
            let Some(last) = touches.last() else { continue };
            let p = paths::path(touches, last.ts, options);
            counts.push(PathCount {
                channels: p.into_iter().map(|t| t.key).collect(),
                conversions: 0.0,
                nulls: 1.0,
            });
        }
        let order = usize::try_from(options.markov_order).unwrap_or(1);
        let fitted = markov::removal_effects(&markov::group(counts), order);
        out.insert((client, ctype), fitted.shares);
    }
    out
}

/// The credits of `inputs.conversions` under `models`.
pub fn credits(inputs: &Inputs, models: &[Model], options: &AttributionOptions) -> Vec<Credit> {
    let params = params(options);
    let paths = conversion_paths(inputs, options);
    let shares = if models.contains(&Model::Markov) {
        markov_shares(inputs, &paths, options)
    } else {
        HashMap::new()
    };
    let mut sums: BTreeMap<SumKey, (f64, f64)> = BTreeMap::new();
    for (c, path) in inputs.conversions.iter().zip(&paths) {
        let person = (c.client_id.clone(), c.person_key.clone());
        let milestones = inputs.milestones.get(&person).copied().unwrap_or_default();
        for &model in models {
            let split = if path.is_empty() {
                vec![(UNMATCHED.to_string(), 1.0)]
            } else if model == Model::Markov {
                match shares.get(&(c.client_id.clone(), c.conversion_type.clone())) {
                    Some(s) if !s.is_empty() => s.clone(),
                    // Nothing in the chain converts (cannot happen with a matched conversion,
                    // kept for safety): the last touch.
                    _ => heuristic::credits(Model::Last, path, c.ts, &params, &milestones),
                }
            } else {
                heuristic::credits(model, path, c.ts, &params, &milestones)
            };
            for (key, share) in split.into_iter().filter(|(_, s)| *s > 0.0) {
                let e = sums
                    .entry((
                        c.client_id.clone(),
                        c.date,
                        c.conversion_type.clone(),
                        model,
                        key,
                    ))
                    .or_default();
                e.0 += share;
                e.1 += share * c.value;
            }
        }
    }
    sums.into_iter()
        .map(
            |((client_id, date, conversion_type, model, key), (conversions, value))| Credit {
                client_id,
                date,
                conversion_type,
                model,
                key,
                conversions,
                value,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::MODELS;

    const DAY: i64 = 86_400_000_000;

    /// A seeded random world: people with random touches over 60 days, some converting.
    fn world(seed: u64) -> (Vec<Conversion>, HashMap<PersonKey, Vec<RawTouch>>) {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let channels = [
            "Paid Search",
            "Direct",
            "Email",
            "Organic Search",
            "Paid Social",
        ];
        let mut touches = HashMap::new();
        let mut conversions = Vec::new();
        for person in 0..60 {
            let key = ("c".to_string(), format!("p{person}"));
            let n = (rng.unit() * 6.0) as usize;
            let mut list: Vec<RawTouch> = (0..n)
                .map(|_| {
                    let ch = channels[(rng.unit() * 5.0) as usize % 5];
                    RawTouch {
                        ts: (rng.unit() * 60.0 * DAY as f64) as i64,
                        channel: ch.to_string(),
                        key: ch.to_string(),
                    }
                })
                .collect();
            list.sort_by_key(|t| t.ts);
            if rng.unit() < 0.5 {
                conversions.push(Conversion {
                    client_id: "c".into(),
                    person_key: key.1.clone(),
                    ts: (rng.unit() * 70.0 * DAY as f64) as i64,
                    date: 0,
                    conversion_type: "lead".into(),
                    value: (rng.unit() * 1000.0).round(),
                });
            }
            touches.insert(key, list);
        }
        (conversions, touches)
    }

    #[test]
    fn every_model_credits_each_conversion_exactly_once_with_its_value() {
        for seed in [1, 2, 3, 42, 2024] {
            let (conversions, touches) = world(seed);
            let converted = conversions
                .iter()
                .map(|c| {
                    (
                        c.client_id.clone(),
                        c.person_key.clone(),
                        c.conversion_type.clone(),
                    )
                })
                .collect();
            let milestones = HashMap::new();
            let inputs = Inputs {
                conversions: &conversions,
                touches: &touches,
                milestones: &milestones,
                converted: &converted,
            };
            for order in 1..=3 {
                let options = AttributionOptions {
                    markov_order: order,
                    ..Default::default()
                };
                // One conversion at a time, so per-conversion sums are visible.
                for c in &conversions {
                    let one = Inputs {
                        conversions: std::slice::from_ref(c),
                        ..inputs
                    };
                    for model in MODELS {
                        let credits = credits(&one, &[model], &options);
                        let count: f64 = credits.iter().map(|c| c.conversions).sum();
                        let value: f64 = credits.iter().map(|c| c.value).sum();
                        assert!(
                            (count - 1.0).abs() < 1e-9,
                            "seed {seed} {model}: {credits:?}"
                        );
                        assert!(
                            (value - c.value).abs() < 1e-9 * c.value.max(1.0),
                            "seed {seed} {model}: {value} vs {}",
                            c.value
                        );
                    }
                }
            }
        }
    }
}
