//! Credits for one client's conversions under each model, per conversion type: every
//! conversion's path from its person's touches, the rule-based models one conversion at a time,
//! and the data-driven models (Markov, Shapley) fitted on all of the type's journeys — every
//! conversion and every person who touched without converting — whatever the query's filters
//! (they only choose which conversions are credited). Credits are summed per day × model × key.
//! Conversion types are independent: they are worked on in parallel.

use super::fit::{Fits, LastJourneys, fit, last_journeys};
use super::grid::Grid;
use super::journeys::{Conversion, Journeys, Milestones};
use super::markov::{self, Reserve};
use super::paths::{self, Path};
use super::shapley;
use super::{Model, Params, heuristic};
use crate::settings::AttributionOptions;
use std::collections::HashMap;

/// Which day a credit is counted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dating {
    /// The conversion's day (what a conversion brought, when it came).
    #[default]
    Conversion,
    /// The day of the touch that earned it (what a day's marketing brought, whenever it
    /// converted): each touch's share of the conversion; a key's share under Markov or Shapley
    /// goes in equal parts to its touches on the path; `Unmatched` keeps the conversion's day.
    Touch,
}

/// Key id that stands for `Unmatched` in a [`Credits`] (conversions without a touch).
pub const UNMATCHED_KEY: u32 = u32::MAX;

/// A type's credits: (day, model, key) -> (conversions, value).
pub type Sums = HashMap<(i32, Model, u32), (f64, f64), ahash::RandomState>;

/// The credits of one conversion type.
#[derive(Debug, Default)]
pub struct Credits {
    /// Conversion type id (see [`Journeys::types`]).
    pub kind: u32,
    pub sums: Sums,
}

pub fn params(options: &AttributionOptions) -> Params {
    Params {
        position_first: options.position_first_share,
        position_last: options.position_last_share,
        half_life_days: options.half_life_days,
    }
}

/// Reused buffers for one conversion's shares.
#[derive(Default)]
struct Scratch {
    path: Path,
    weights: Vec<f64>,
}

/// Adds one credited conversion's shares under every model to `grid`.
#[allow(clippy::too_many_arguments)]
fn credit_conversion(
    grid: &mut Grid,
    scratch: &mut Scratch,
    c: &Conversion,
    journeys: &Journeys,
    models: &[Model],
    fits: &Fits,
    params: &Params,
    dating: Dating,
) {
    let path = &scratch.path;
    if path.is_empty() {
        let row = grid.row(c.date);
        for m in 0..models.len() {
            grid.add(row, m, UNMATCHED_KEY, 1.0, c.value);
        }
        return;
    }
    let milestones = journeys
        .milestones
        .get(c.person as usize)
        .copied()
        .unwrap_or(Milestones::default());
    let conversion_row = match dating {
        Dating::Conversion => Some(grid.row(c.date)),
        Dating::Touch => None,
    };
    for (m, &model) in models.iter().enumerate() {
        let per_key = match (model, &fits.markov, &fits.shapley) {
            (Model::Markov, Some(re), _) => Some(markov::split(&path.keys, re)),
            (Model::Shapley, _, Some(phi)) => Some(shapley::split(&path.keys, phi)),
            _ => None,
        };
        match (per_key, conversion_row) {
            (Some(shares), Some(row)) => {
                for (key, share) in shares {
                    if share > 0.0 {
                        grid.add(row, m, key, share, c.value);
                    }
                }
            }
            // A key's share goes in equal parts to its touches on the path, each on its day.
            (Some(shares), None) => {
                for (key, share) in shares {
                    if share <= 0.0 {
                        continue;
                    }
                    let touches = path.keys.iter().filter(|k| **k == key).count() as f64;
                    for (i, _) in path.keys.iter().enumerate().filter(|(_, k)| **k == key) {
                        let row = grid.row(journeys.touch_day(c.person, path.ts[i]));
                        grid.add(row, m, key, share / touches, c.value);
                    }
                }
            }
            (None, row) => {
                heuristic::weights_into(
                    &mut scratch.weights,
                    model,
                    path,
                    c.ts,
                    &journeys.keys.direct,
                    params,
                    &milestones,
                );
                for (i, &w) in scratch.weights.iter().enumerate() {
                    if w <= 0.0 {
                        continue;
                    }
                    let row = match row {
                        Some(row) => row,
                        None => grid.row(journeys.touch_day(c.person, path.ts[i])),
                    };
                    grid.add(row, m, path.keys[i], w, c.value);
                }
            }
        }
    }
}

/// The credits of one conversion type.
fn credit_type(
    journeys: &Journeys,
    kind: u32,
    models: &[Model],
    options: &AttributionOptions,
    dating: Dating,
    reserve: &Reserve<'_>,
    last: Option<&LastJourneys>,
) -> Result<Credits, String> {
    let params = params(options);
    let fits = fit(journeys, kind, models, options, reserve, last)?;
    let mut grid = Grid::new(models.len(), journeys.keys.len());
    let mut scratch = Scratch::default();
    for c in &journeys.conversions {
        if c.kind != kind || !c.credited {
            continue;
        }
        let (ts, keys) = journeys.touches(c.person);
        paths::path_into(
            &mut scratch.path,
            ts,
            keys,
            &journeys.keys.direct,
            c.ts,
            options,
        );
        credit_conversion(
            &mut grid,
            &mut scratch,
            c,
            journeys,
            models,
            &fits,
            &params,
            dating,
        );
    }
    Ok(Credits {
        kind,
        sums: grid.into_sums(models),
    })
}

/// The credits of every client × conversion type that some credited conversion has, under
/// `models`, dated by `dating`: (client index into `clients`, credits). Client × type groups
/// are independent and run in parallel on up to `threads` threads, largest first. A Markov
/// chain's memory is granted by `reserve` first (a query's memory limit).
pub fn credits(
    clients: &[Journeys],
    models: &[Model],
    options: &AttributionOptions,
    dating: Dating,
    threads: usize,
    reserve: &Reserve<'_>,
) -> Result<Vec<(usize, Credits)>, String> {
    let mut tasks: Vec<(usize, u32, usize)> = Vec::new();
    for (i, journeys) in clients.iter().enumerate() {
        let mut kinds: Vec<u32> = journeys
            .conversions
            .iter()
            .filter(|c| c.credited)
            .map(|c| c.kind)
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let size = journeys.touch_ts.len() + journeys.conversions.len();
        tasks.extend(kinds.into_iter().map(|k| (i, k, size)));
    }
    tasks.sort_by_key(|b| std::cmp::Reverse(b.2));
    // Everyone's journeys as non-converters, per client: made by the first of its types to need
    // them (the others wait), shared by all of them.
    let data_driven = models.iter().any(|m| m.data_driven());
    let last: Vec<std::sync::OnceLock<LastJourneys>> =
        clients.iter().map(|_| std::sync::OnceLock::new()).collect();
    let results = super::parallel::each(threads, &tasks, |&(client, kind, _)| {
        let journeys = &clients[client];
        let last =
            data_driven.then(|| last[client].get_or_init(|| last_journeys(journeys, options)));
        credit_type(journeys, kind, models, options, dating, reserve, last)
            .map(|credits| (client, credits))
    });
    let mut out = Vec::new();
    for r in results {
        out.push(r.unwrap_or_else(|| Err("attribution worker panicked".into()))?);
    }
    out.sort_by_key(|(client, c)| (*client, c.kind));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::MODELS;
    use crate::attribution::fit::paths_of;
    use crate::attribution::journeys::Builder;
    use crate::attribution::markov::PathCount;

    const DAY: i64 = 86_400_000_000;

    /// A seeded random world: people with random touches over 60 days, some converting.
    fn world(seed: u64) -> Journeys {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let channels = [
            "Paid Search",
            "Direct",
            "Email",
            "Organic Search",
            "Paid Social",
        ];
        let mut b = Builder::default();
        for person in 0..60 {
            let key = format!("p{person}");
            let n = (rng.unit() * 6.0) as usize;
            for _ in 0..n {
                let ch = channels[(rng.unit() * channels.len() as f64) as usize];
                b.touch(
                    &key,
                    (rng.unit() * 60.0 * DAY as f64) as i64,
                    ch,
                    ch == "Direct",
                );
            }
            if rng.unit() < 0.5 {
                let ts = (rng.unit() * 70.0 * DAY as f64) as i64;
                b.conversion(&key, "lead", ts, (ts / DAY) as i32, 0.0, true);
                if rng.unit() < 0.5 {
                    let won = ts + DAY;
                    b.conversion(
                        &key,
                        "won_deal",
                        won,
                        (won / DAY) as i32,
                        100.0 + person as f64,
                        true,
                    );
                }
            }
        }
        // Someone who converted without ever touching: Unmatched.
        b.conversion("nobody", "won_deal", 5 * DAY, 5, 42.0, true);
        b.finish()
    }

    fn per_model(credits: &[(usize, Credits)], model: Model) -> (f64, f64) {
        credits
            .iter()
            .flat_map(|(_, c)| c.sums.iter())
            .filter(|((_, m, _), _)| *m == model)
            .fold((0.0, 0.0), |(c, v), (_, (a, b))| (c + a, v + b))
    }

    #[test]
    fn every_model_credits_each_conversion_exactly_once() {
        for seed in 1..=20 {
            let j = world(seed);
            let credits = credits(
                std::slice::from_ref(&j),
                &MODELS,
                &AttributionOptions::default(),
                Dating::Conversion,
                2,
                &|_| Ok(()),
            )
            .unwrap();
            let expected_count = j.conversions.len() as f64;
            let expected_value: f64 = j.conversions.iter().map(|c| c.value).sum();
            for model in MODELS {
                let (count, value) = per_model(&credits, model);
                assert!(
                    (count - expected_count).abs() < 1e-9,
                    "seed {seed} {model}: {count}"
                );
                assert!(
                    (value - expected_value).abs() < 1e-6,
                    "seed {seed} {model}: {value}"
                );
            }
        }
    }

    #[test]
    fn filters_choose_what_is_credited_never_what_is_fitted() {
        let all = world(3);
        let mut march = all.clone();
        for c in &mut march.conversions {
            c.credited = (30..40).contains(&c.date);
        }
        let options = AttributionOptions::default();
        let whole = credits(
            &[all],
            &MODELS,
            &options,
            Dating::Conversion,
            1,
            &|_| Ok(()),
        )
        .unwrap();
        let part = credits(&[march], &MODELS, &options, Dating::Conversion, 1, &|_| {
            Ok(())
        })
        .unwrap();
        for (_, p) in &part {
            let (_, w) = whole.iter().find(|(_, w)| w.kind == p.kind).unwrap();
            for (key, got) in &p.sums {
                let want = w.sums[key];
                assert!(
                    (got.0 - want.0).abs() < 1e-12 && (got.1 - want.1).abs() < 1e-9,
                    "{key:?}"
                );
            }
        }
    }

    #[test]
    fn markov_credits_only_keys_on_the_conversions_own_path() {
        let mut b = Builder::default();
        b.touch("a", 0, "Email", false);
        b.conversion("a", "lead", DAY, 1, 1.0, true);
        b.touch("b", 0, "Paid Search", false);
        b.touch("b", DAY, "Email", false);
        b.conversion("b", "lead", 2 * DAY, 2, 1.0, true);
        b.touch("c", 0, "Paid Search", false);
        let j = b.finish();
        let email = j.keys.text.iter().position(|k| k == "Email").unwrap() as u32;
        let credits = credits(
            &[j],
            &[Model::Markov],
            &AttributionOptions::default(),
            Dating::Conversion,
            1,
            &|_| Ok(()),
        )
        .unwrap();
        // Day 1's conversion had Email only: all of it to Email.
        assert_eq!(credits[0].1.sums[&(1, Model::Markov, email)], (1.0, 1.0));
    }

    #[test]
    fn touch_dating_moves_each_touchs_share_to_its_day_and_keeps_the_totals() {
        let options = AttributionOptions::default();
        for seed in [2, 7] {
            let j = world(seed);
            let by_conversion = credits(
                std::slice::from_ref(&j),
                &MODELS,
                &options,
                Dating::Conversion,
                1,
                &|_| Ok(()),
            )
            .unwrap();
            let by_touch = credits(
                std::slice::from_ref(&j),
                &MODELS,
                &options,
                Dating::Touch,
                1,
                &|_| Ok(()),
            )
            .unwrap();
            for model in MODELS {
                let (a, b) = (
                    per_model(&by_conversion, model),
                    per_model(&by_touch, model),
                );
                assert!(
                    (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-6,
                    "{model}"
                );
                // Per key, the totals over all days agree too.
                let per_key = |c: &[(usize, Credits)]| {
                    let mut m: std::collections::BTreeMap<(u32, u32), f64> = Default::default();
                    for (_, cr) in c {
                        for ((_, mm, key), (n, _)) in &cr.sums {
                            if *mm == model {
                                *m.entry((cr.kind, *key)).or_default() += n;
                            }
                        }
                    }
                    m
                };
                let (x, y) = (per_key(&by_conversion), per_key(&by_touch));
                assert_eq!(x.len(), y.len(), "{model}");
                for (k, v) in &x {
                    assert!((v - y[k]).abs() < 1e-9, "{model} {k:?}");
                }
            }
        }
        // Linear: a touch on day 0 and one on day 3, the conversion on day 5.
        let mut b = Builder::default();
        b.touch("a", 0, "Email", false);
        b.touch("a", 3 * DAY, "Paid Search", false);
        b.conversion("a", "purchase", 5 * DAY, 5, 10.0, true);
        let j = b.finish();
        let key = |t: &str| j.keys.text.iter().position(|k| k == t).unwrap() as u32;
        let (email, search) = (key("Email"), key("Paid Search"));
        let got = credits(
            std::slice::from_ref(&j),
            &[Model::Linear, Model::Markov],
            &options,
            Dating::Touch,
            1,
            &|_| Ok(()),
        )
        .unwrap();
        let sums = &got[0].1.sums;
        assert_eq!(sums[&(0, Model::Linear, email)], (0.5, 5.0));
        assert_eq!(sums[&(3, Model::Linear, search)], (0.5, 5.0));
        assert!(
            !sums.keys().any(|(d, _, _)| *d == 5),
            "nothing on the conversion day"
        );
    }

    /// The fits share everyone's journeys across types; the result is the fit over each
    /// non-converter's own journey, person by person.
    #[test]
    fn shared_journeys_fit_like_each_persons_own() {
        let options = AttributionOptions::default();
        for seed in [4, 9] {
            let j = world(seed);
            let last = last_journeys(&j, &options);
            for kind in 0..j.types.len() as u32 {
                let fits = fit(&j, kind, &MODELS, &options, &|_| Ok(()), Some(&last)).unwrap();
                let mut converted = vec![false; j.persons()];
                for c in j.conversions.iter().filter(|c| c.kind == kind) {
                    converted[c.person as usize] = true;
                }
                let mut each: Vec<PathCount> = paths_of(&j, kind, &options)
                    .into_iter()
                    .flatten()
                    .filter(|p| !p.is_empty())
                    .map(|p| PathCount {
                        keys: p.keys,
                        conversions: 1.0,
                        nulls: 0.0,
                    })
                    .collect();
                for p in (0..j.persons() as u32).filter(|p| !converted[*p as usize]) {
                    let (ts, keys) = j.touches(p);
                    let path = paths::last_journey(ts, keys, &j.keys.direct, &options);
                    if !path.is_empty() {
                        each.push(PathCount {
                            keys: path.keys,
                            conversions: 0.0,
                            nulls: 1.0,
                        });
                    }
                }
                let want = markov::fit(&markov::group(each), 1, j.keys.len())
                    .unwrap()
                    .removal_effects;
                assert_eq!(fits.markov.unwrap(), want, "seed {seed} type {kind}");
                assert!(fits.shapley.is_some());
            }
        }
    }
}
