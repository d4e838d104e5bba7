//! Numbering a client's persons while its rows are read: a run of rows of one person gets one
//! id. When conversions and touches both come grouped by person in ascending key order (as the
//! warehouse stores them), persons are numbered by merging the two sequences of keys — no hash
//! of a person key; otherwise the journeys builder interns each key.

use super::journeys::Builder;

/// The first key of each run of equal person keys in `keys`, when every person's rows come
/// together and in ascending key order (as the warehouse stores a client's touchpoints and
/// conversions); `None` otherwise.
pub fn ascending_runs<'a>(keys: impl Iterator<Item = &'a str>) -> Option<Vec<&'a str>> {
    let mut heads: Vec<&str> = Vec::new();
    for key in keys {
        // One comparison per row.
        match heads.last().map(|&last| key.cmp(last)) {
            Some(std::cmp::Ordering::Equal) => {}
            Some(std::cmp::Ordering::Less) => return None,
            _ => heads.push(key),
        }
    }
    Some(heads)
}

/// Persons numbered in key order from the runs of two ascending key sequences: every key once,
/// and the person id of each run of either.
pub struct Numbered<'a> {
    pub persons: Vec<&'a str>,
    /// Conversion run -> person id.
    pub conversion: Vec<u32>,
    /// Touch run -> person id.
    pub touch: Vec<u32>,
}

pub fn merge<'a>(conversion: &[&'a str], touch: &[&'a str]) -> Numbered<'a> {
    let mut out = Numbered {
        persons: Vec::with_capacity(conversion.len().max(touch.len())),
        conversion: Vec::with_capacity(conversion.len()),
        touch: Vec::with_capacity(touch.len()),
    };
    let (mut a, mut b) = (0, 0);
    while a < conversion.len() || b < touch.len() {
        let id = out.persons.len() as u32;
        let order = match (conversion.get(a), touch.get(b)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        if order.is_le() {
            out.persons.push(conversion[a]);
            out.conversion.push(id);
            a += 1;
        }
        if order.is_ge() {
            if order.is_gt() {
                out.persons.push(touch[b]);
            }
            out.touch.push(id);
            b += 1;
        }
    }
    out
}

/// Person ids for rows read in order: a run of rows of one person gets one id — the next one
/// of `listed` (persons numbered beforehand) or the builder's id for the key.
pub struct PersonIds<'a, 'l> {
    last: Option<(&'a str, u32)>,
    listed: Option<std::slice::Iter<'l, u32>>,
}

impl<'a, 'l> PersonIds<'a, 'l> {
    pub fn new(listed: Option<&'l [u32]>) -> Self {
        Self {
            last: None,
            listed: listed.map(|l| l.iter()),
        }
    }

    pub fn id(&mut self, builder: &mut Builder<'a>, key: &'a str) -> u32 {
        match self.last {
            Some((text, id)) if text == key => id,
            _ => {
                let id = match &mut self.listed {
                    // As many runs as `ascending_runs` counted over the same rows.
                    Some(ids) => ids.next().copied().unwrap_or_default(),
                    None => builder.person(key),
                };
                self.last = Some((key, id));
                id
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_found_only_in_ascending_grouped_keys() {
        assert_eq!(
            ascending_runs(["a", "a", "b", "d", "d"].into_iter()),
            Some(vec!["a", "b", "d"])
        );
        assert_eq!(ascending_runs(["b", "a"].into_iter()), None, "descending");
        assert_eq!(
            ascending_runs(["a", "b", "a"].into_iter()),
            None,
            "a person's rows apart"
        );
        assert_eq!(ascending_runs(std::iter::empty()), Some(vec![]));
    }

    #[test]
    fn merging_numbers_every_key_once_in_key_order() {
        let n = merge(&["b", "c", "e"], &["a", "c", "d", "e", "f"]);
        assert_eq!(n.persons, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(n.conversion, [1, 2, 4]);
        assert_eq!(n.touch, [0, 2, 3, 4, 5]);
        let only_touches = merge(&[], &["x", "y"]);
        assert_eq!(
            (only_touches.conversion.len(), only_touches.touch),
            (0, vec![0, 1])
        );
    }

    #[test]
    fn listed_ids_follow_runs_and_interned_ids_follow_keys() {
        let mut builder = Builder::default();
        let listed = [7, 9];
        let mut ids = PersonIds::new(Some(&listed));
        let got: Vec<u32> = ["a", "a", "b", "b"]
            .into_iter()
            .map(|k| ids.id(&mut builder, k))
            .collect();
        assert_eq!(got, [7, 7, 9, 9]);
        let mut ids = PersonIds::new(None);
        let got: Vec<u32> = ["a", "b", "a"]
            .into_iter()
            .map(|k| ids.id(&mut builder, k))
            .collect();
        assert_eq!(
            got,
            [0, 1, 0],
            "the builder's ids: a key seen again keeps its id"
        );
    }
}
