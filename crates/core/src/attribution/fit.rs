//! What the data-driven models (Markov, Shapley) learn from one conversion type's journeys:
//! fitted on every conversion of the type and on the journeys of everyone without one —
//! whatever the query's filters. Everyone's non-converting journey is made once per client
//! ([`LastJourneys`]) and shared by its types.

use super::Model;
use super::journeys::Journeys;
use super::markov::{self, PathCount, Reserve};
use super::paths::{self, Path};
use super::shapley::{self, Journey};
use crate::settings::AttributionOptions;
use std::collections::HashMap;

/// What the data-driven models learned from one type's journeys.
pub(super) struct Fits {
    /// Markov removal effects per key id.
    pub markov: Option<Vec<f64>>,
    /// Shapley values per key id.
    pub shapley: Option<Vec<f64>>,
}

/// The path of every conversion of `kind` (in `journeys.conversions` order, `None` for other
/// types).
pub(super) fn paths_of(
    journeys: &Journeys,
    kind: u32,
    options: &AttributionOptions,
) -> Vec<Option<Path>> {
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

pub(super) fn last_journeys(journeys: &Journeys, options: &AttributionOptions) -> LastJourneys {
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
pub(super) fn fit(
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
