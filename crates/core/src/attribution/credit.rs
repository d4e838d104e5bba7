//! Credits for one client's conversions under each model, per conversion type: every
//! conversion's path from its person's touches, the rule-based models one conversion at a time,
//! and the data-driven models (Markov, Shapley) fitted on all of the type's journeys — every
//! conversion and every person who touched without converting — whatever the query's filters
//! (they only choose which conversions are credited). Credits are summed per day × model × key.
//! Conversion types are independent: they are worked on in parallel.

use super::journeys::{Conversion, Journeys, Milestones};
use super::markov::{self, PathCount, Reserve};
use super::paths::{self, Path};
use super::shapley::{self, Journey};
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

/// What the data-driven models learned from one type's journeys.
struct Fits {
    /// Markov removal effects per key id.
    markov: Option<Vec<f64>>,
    /// Shapley values per key id.
    shapley: Option<Vec<f64>>,
}

/// The path of every conversion of `kind` (in `journeys.conversions` order, `None` for other
/// types).
fn paths_of(journeys: &Journeys, kind: u32, options: &AttributionOptions) -> Vec<Option<Path>> {
    journeys
        .conversions
        .iter()
        .map(|c| {
            (c.kind == kind).then(|| {
                let (ts, keys) = journeys.touches(c.person);
                paths::path(ts, keys, &journeys.keys.direct, c.ts, options)
            })
        })
        .collect()
}

/// Every person's journey as a non-converter (their touches within the lookback of their last
/// touch), as distinct key paths with how many people have each: what every conversion type's
/// fit shares, computed once per client.
pub struct LastJourneys {
    /// Distinct non-empty paths.
    paths: Vec<Vec<u32>>,
    /// Person id -> index into `paths` (`u32::MAX`: no touches left after the path rules).
    of_person: Vec<u32>,
    /// Path index -> people whose journey it is.
    people: Vec<f64>,
}

fn last_journeys(journeys: &Journeys, options: &AttributionOptions) -> LastJourneys {
    let mut index: HashMap<Vec<u32>, u32, ahash::RandomState> = HashMap::default();
    let mut out = LastJourneys {
        paths: Vec::new(),
        of_person: Vec::with_capacity(journeys.persons()),
        people: Vec::new(),
    };
    let mut scratch = Path::default();
    for p in 0..journeys.persons() as u32 {
        let (ts, keys) = journeys.touches(p);
        let Some(&last) = ts.last() else {
            out.of_person.push(u32::MAX);
            continue;
        };
        paths::path_into(&mut scratch, ts, keys, &journeys.keys.direct, last, options);
        if scratch.is_empty() {
            out.of_person.push(u32::MAX);
            continue;
        }
        let id = match index.get(scratch.keys.as_slice()) {
            Some(&id) => id,
            None => {
                let id = out.paths.len() as u32;
                out.paths.push(scratch.keys.clone());
                out.people.push(0.0);
                index.insert(scratch.keys.clone(), id);
                id
            }
        };
        out.people[id as usize] += 1.0;
        out.of_person.push(id);
    }
    out
}

/// Markov and Shapley fitted on every conversion of the type and on the journeys of the people
/// with touches and no conversion of the type (`last`: everyone's, from which this type's
/// converters are taken out).
fn fit(
    journeys: &Journeys,
    kind: u32,
    models: &[Model],
    options: &AttributionOptions,
    reserve: &Reserve<'_>,
    last: Option<&LastJourneys>,
) -> Result<Fits, String> {
    let want_markov = models.contains(&Model::Markov);
    let want_shapley = models.contains(&Model::Shapley);
    let (true, Some(last)) = (want_markov || want_shapley, last) else {
        return Ok(Fits {
            markov: None,
            shapley: None,
        });
    };
    let paths = paths_of(journeys, kind, options);
    let mut converted = vec![false; journeys.persons()];
    for c in journeys.conversions.iter().filter(|c| c.kind == kind) {
        converted[c.person as usize] = true;
    }
    // The people without a conversion of this type, per distinct journey.
    let mut others = last.people.clone();
    for (p, &done) in converted.iter().enumerate() {
        let id = last.of_person[p];
        if done && id != u32::MAX {
            others[id as usize] -= 1.0;
        }
    }
    let others = || {
        last.paths
            .iter()
            .zip(others.iter().copied())
            .filter(|(_, n)| *n > 0.0)
    };
    let converting = paths.iter().flatten().filter(|p| !p.is_empty());
    let keys = journeys.keys.len();
    let markov = if want_markov {
        let counts = markov::group(
            converting
                .clone()
                .map(|p| PathCount {
                    keys: p.keys.clone(),
                    conversions: 1.0,
                    nulls: 0.0,
                })
                .chain(others().map(|(keys, n)| PathCount {
                    keys: keys.clone(),
                    conversions: 0.0,
                    nulls: n,
                })),
        );
        let order = usize::try_from(options.markov_order).unwrap_or(1);
        Some(markov::fit_within(&counts, order, keys, reserve)?.removal_effects)
    } else {
        None
    };
    let shapley = if want_shapley {
        let distinct = |keys: &[u32]| {
            let mut k = keys.to_vec();
            k.sort_unstable();
            k.dedup();
            k
        };
        let journeys: Vec<Journey> = converting
            .map(|p| Journey {
                keys: distinct(&p.keys),
                journeys: 1.0,
                conversions: 1.0,
            })
            .chain(others().map(|(keys, n)| Journey {
                keys: distinct(keys),
                journeys: n,
                conversions: 0.0,
            }))
            .collect();
        Some(shapley::values(&journeys, keys))
    } else {
        None
    };
    Ok(Fits { markov, shapley })
}

/// A type's running credits: one row of cells per day that has any, each row the models × keys
/// (cell 0 of a model stands for `Unmatched`), so adding a share is an index, not a hash of
/// (day, model, key).
struct Grid {
    /// Cells per model: the keys and `Unmatched`.
    width: usize,
    /// Cells per row.
    stride: usize,
    rows: HashMap<i32, usize, ahash::RandomState>,
    days: Vec<i32>,
    cells: Vec<(f64, f64)>,
}

impl Grid {
    fn new(models: usize, keys: usize) -> Self {
        let width = keys + 1;
        Grid {
            width,
            stride: width * models,
            rows: HashMap::default(),
            days: Vec::new(),
            cells: Vec::new(),
        }
    }

    /// The first cell of `day`'s row.
    fn row(&mut self, day: i32) -> usize {
        if let Some(&at) = self.rows.get(&day) {
            return at;
        }
        let at = self.cells.len();
        self.cells.resize(at + self.stride, (0.0, 0.0));
        self.days.push(day);
        self.rows.insert(day, at);
        at
    }

    /// Adds `share` of a conversion worth `value` to `key` under the model at `model` (its
    /// index among the computed models) in the row at `row`.
    fn add(&mut self, row: usize, model: usize, key: u32, share: f64, value: f64) {
        let cell = if key == UNMATCHED_KEY {
            0
        } else {
            key as usize + 1
        };
        let c = &mut self.cells[row + model * self.width + cell];
        c.0 += share;
        c.1 += share * value;
    }

    /// The cells that were given any share.
    fn into_sums(self, models: &[Model]) -> Sums {
        let mut sums = Sums::default();
        for (r, &day) in self.days.iter().enumerate() {
            for (m, &model) in models.iter().enumerate() {
                let at = r * self.stride + m * self.width;
                for (cell, &sum) in self.cells[at..at + self.width].iter().enumerate() {
                    if sum.0 > 0.0 {
                        let key = if cell == 0 {
                            UNMATCHED_KEY
                        } else {
                            cell as u32 - 1
                        };
                        sums.insert((day, model, key), sum);
                    }
                }
            }
        }
        sums
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
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Everyone's journeys as non-converters, per client: made by the first of its types to need
    // them (the others wait), shared by all of them.
    let data_driven = models.iter().any(|m| m.data_driven());
    let last: Vec<std::sync::OnceLock<LastJourneys>> =
        clients.iter().map(|_| std::sync::OnceLock::new()).collect();
    let results: Vec<Result<Vec<(usize, Credits)>, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, tasks.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(client, kind, _)) = tasks.get(i) else {
                            break;
                        };
                        let journeys = &clients[client];
                        let last = data_driven
                            .then(|| last[client].get_or_init(|| last_journeys(journeys, options)));
                        let credits =
                            credit_type(journeys, kind, models, options, dating, reserve, last)?;
                        done.push((client, credits));
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("attribution worker panicked".into()))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    out.sort_by_key(|(client, c)| (*client, c.kind));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::MODELS;
    use crate::attribution::journeys::Builder;

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
