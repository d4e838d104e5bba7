//! One client's journeys in columns: every person's touches in time order, with what a touch is
//! credited to (its key: a channel, or a channel and campaign) as an interned id; and the
//! client's conversions by person. Paths and fits work on integer ids, never on strings.

use ahash::RandomState;
use datafusion::arrow::array::StringArray;
use std::borrow::Cow;
use std::collections::HashMap;

/// Key ids and their text, for one client.
#[derive(Debug, Default, Clone)]
pub struct Keys {
    /// Key id -> its text (`channel`, or `channel\x1fcampaign`).
    pub text: Vec<String>,
    /// Key id -> whether its channel is Direct (the direct policy and last non-direct look).
    pub direct: Vec<bool>,
    index: HashMap<String, u32, RandomState>,
}

impl Keys {
    /// The id of `text`, a key whose channel is `direct` or not.
    pub fn intern(&mut self, text: &str, direct: bool) -> u32 {
        if let Some(&id) = self.index.get(text) {
            return id;
        }
        let id = self.text.len() as u32;
        self.text.push(text.to_string());
        self.direct.push(direct);
        self.index.insert(text.to_string(), id);
        id
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Renumbers the keys in the order of their texts; returns old id -> new id.
    fn sort(&mut self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.text.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.text[a as usize].cmp(&self.text[b as usize]));
        let mut remap = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        let mut text = std::mem::take(&mut self.text);
        self.text = order
            .iter()
            .map(|&old| std::mem::take(&mut text[old as usize]))
            .collect();
        self.direct = order.iter().map(|&old| self.direct[old as usize]).collect();
        for id in self.index.values_mut() {
            *id = remap[*id as usize];
        }
        remap
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// One conversion to credit (or only to fit on).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    /// The person (index into [`Journeys`]' persons; a person may have no touches).
    pub person: u32,
    /// µs since the epoch.
    pub ts: i64,
    /// Days since the epoch in the client's time zone (`i32::MIN` when unknown).
    pub date: i32,
    /// Conversion type id (see [`Journeys::types`]).
    pub kind: u32,
    pub value: f64,
    /// Whether the query's filters keep it (fits use every conversion, credits these only).
    pub credited: bool,
}

/// A person's CRM milestones (µs), for the W-shaped model.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Milestones {
    pub lead_at: Option<i64>,
    pub opportunity_at: Option<i64>,
}

/// One client's touches and conversions.
#[derive(Debug, Clone)]
pub struct Journeys {
    pub keys: Keys,
    /// Conversion type id -> name.
    pub types: Vec<String>,
    /// Person p's touches are `touch_ts[start[p]..start[p + 1]]` (and `touch_key`), in time
    /// order.
    pub start: Vec<u32>,
    pub touch_ts: Vec<i64>,
    pub touch_key: Vec<u32>,
    /// Each touch's day (days since the epoch in the client's time zone).
    pub touch_day: Vec<i32>,
    /// Person id -> milestones.
    pub milestones: Vec<Milestones>,
    /// Person id -> person key (one buffer, not a string per person), when the reader asked
    /// for them ([`Builder::skip_person_keys`]: attribution never shows a person).
    pub person_keys: Option<StringArray>,
    pub conversions: Vec<Conversion>,
}

impl Journeys {
    /// The memory these journeys hold, in bytes (what a query's memory pool is asked for).
    pub fn heap_bytes(&self) -> usize {
        use datafusion::arrow::array::Array;
        use std::mem::size_of;
        self.start.len() * 4
            + self.touch_ts.len() * 8
            + self.touch_key.len() * 4
            + self.touch_day.len() * 4
            + self.milestones.len() * size_of::<Milestones>()
            + self.conversions.len() * size_of::<Conversion>()
            + self
                .person_keys
                .as_ref()
                .map_or(0, |k| k.get_array_memory_size())
            + self.keys.text.iter().map(|t| t.len() + 32).sum::<usize>()
    }

    pub fn persons(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Person p's touches: (times, keys).
    pub fn touches(&self, person: u32) -> (&[i64], &[u32]) {
        let (a, b) = (
            self.start[person as usize] as usize,
            self.start[person as usize + 1] as usize,
        );
        (&self.touch_ts[a..b], &self.touch_key[a..b])
    }

    /// The day of person p's touch at `ts` (one of its touches' times).
    pub fn touch_day(&self, person: u32, ts: i64) -> i32 {
        let a = self.start[person as usize] as usize;
        let (times, _) = self.touches(person);
        let i = times
            .partition_point(|&t| t < ts)
            .min(times.len().saturating_sub(1));
        self.touch_day[a + i]
    }
}

/// Collects one client's rows in any order and sorts them into [`Journeys`]. Person keys read
/// from Arrow columns that outlive the builder (`'a`) are borrowed, not copied.
#[derive(Debug, Default)]
pub struct Builder<'a> {
    keys: Keys,
    types: Vec<String>,
    persons: HashMap<Cow<'a, str>, u32, RandomState>,
    /// Person id -> key, when the caller numbered the persons itself ([`Self::listed`]).
    listed: Option<Vec<&'a str>>,
    /// Channel and campaign texts, for campaign keys made of both.
    parts: HashMap<String, u32, RandomState>,
    /// (person, ts, key, day) per touch.
    touches: Vec<(u32, i64, u32, i32)>,
    conversions: Vec<Conversion>,
    /// The journeys will not carry the person keys.
    skip_person_keys: bool,
}

impl<'a> Builder<'a> {
    /// A builder whose persons the caller has numbered: person id i is `persons[i]` (each key
    /// once); touches and conversions are then added by id only.
    pub fn listed(persons: Vec<&'a str>) -> Self {
        Self {
            listed: Some(persons),
            ..Self::default()
        }
    }

    /// Leaves the person keys out of the journeys (copying millions of keys costs a tenth of
    /// building them; only readers that show persons need them).
    pub fn skip_person_keys(&mut self) {
        self.skip_person_keys = true;
    }

    /// The id of a person key (copied when new).
    pub fn person_id(&mut self, key: &str) -> u32 {
        if let Some(&id) = self.persons.get(key) {
            return id;
        }
        let id = self.persons.len() as u32;
        self.persons.insert(Cow::Owned(key.to_string()), id);
        id
    }

    /// Room for about `persons` people and `touches` touches (no rehashing while reading).
    pub fn reserve(&mut self, persons: usize, touches: usize) {
        self.persons.reserve(persons);
        self.touches.reserve(touches);
    }

    /// The id of a person key that outlives the builder (borrowed, never copied).
    pub fn person(&mut self, key: &'a str) -> u32 {
        let next = self.persons.len() as u32;
        *self.persons.entry(Cow::Borrowed(key)).or_insert(next)
    }

    /// The id of a key text (whose channel is `direct` or not).
    pub fn key_id(&mut self, text: &str, direct: bool) -> u32 {
        self.keys.intern(text, direct)
    }

    /// The id of a part of a key (a channel or a campaign name).
    pub fn part_id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.parts.get(text) {
            return id;
        }
        let id = self.parts.len() as u32;
        self.parts.insert(text.to_string(), id);
        id
    }

    /// A touch of person id `person` at `ts` on local day `day`, credited to key id `key`.
    pub fn add_touch(&mut self, person: u32, ts: i64, day: i32, key: u32) {
        self.touches.push((person, ts, key, day));
    }

    /// A touch of `person` at `ts` (its day in UTC) credited to `key` (channel `direct` or
    /// not).
    pub fn touch(&mut self, person: &str, ts: i64, key: &str, direct: bool) {
        let p = self.person_id(person);
        let k = self.key_id(key, direct);
        let day = ts.div_euclid(86_400_000_000) as i32;
        self.add_touch(p, ts, day, k);
    }

    fn kind(&mut self, name: &str) -> u32 {
        match self.types.iter().position(|t| t == name) {
            Some(i) => i as u32,
            None => {
                self.types.push(name.to_string());
                (self.types.len() - 1) as u32
            }
        }
    }

    /// A conversion of `person`; `lead` and `opportunity` conversions are also the person's
    /// milestones.
    pub fn conversion(
        &mut self,
        person: &str,
        kind: &str,
        ts: i64,
        date: i32,
        value: f64,
        credited: bool,
    ) {
        let person = self.person_id(person);
        self.add_conversion(person, kind, ts, date, value, credited);
    }

    /// A conversion of person id `person` (see [`Self::conversion`]).
    pub fn add_conversion(
        &mut self,
        person: u32,
        kind: &str,
        ts: i64,
        date: i32,
        value: f64,
        credited: bool,
    ) {
        let conversion = Conversion {
            person,
            ts,
            date,
            kind: self.kind(kind),
            value,
            credited,
        };
        self.conversions.push(conversion);
    }

    pub fn finish(mut self) -> Journeys {
        let persons = self
            .listed
            .as_ref()
            .map_or(self.persons.len(), |listed| listed.len());
        let mut start = vec![0u32; persons + 1];
        for &(p, _, _, _) in &self.touches {
            start[p as usize + 1] += 1;
        }
        for i in 0..persons {
            start[i + 1] += start[i];
        }
        // Key ids in the order of their texts, so touches at the same instant keep one order
        // whatever order the rows arrived in (fits and first/last touches are then the same
        // on every read).
        let remap = self.keys.sort();
        // Touches placed in their person's range (a counting sort by person), then each
        // person's few touches sorted by time, key and day.
        let mut placed = vec![(0i64, 0u32, 0i32); self.touches.len()];
        let mut fill: Vec<u32> = start[..persons].to_vec();
        for &(p, ts, k, d) in &self.touches {
            let at = &mut fill[p as usize];
            placed[*at as usize] = (ts, remap[k as usize], d);
            *at += 1;
        }
        drop(std::mem::take(&mut self.touches));
        for p in 0..persons {
            placed[start[p] as usize..start[p + 1] as usize].sort_unstable();
        }
        let touch_ts = placed.iter().map(|&(ts, _, _)| ts).collect();
        let touch_key = placed.iter().map(|&(_, k, _)| k).collect();
        let touch_day = placed.iter().map(|&(_, _, d)| d).collect();
        let mut milestones = vec![Milestones::default(); persons];
        let lead = self.types.iter().position(|t| t == "lead");
        let opportunity = self.types.iter().position(|t| t == "opportunity");
        for c in &self.conversions {
            let m = &mut milestones[c.person as usize];
            let slot = if Some(c.kind as usize) == lead {
                &mut m.lead_at
            } else if Some(c.kind as usize) == opportunity {
                &mut m.opportunity_at
            } else {
                continue;
            };
            *slot = Some(slot.map_or(c.ts, |s: i64| s.min(c.ts)));
        }
        let person_keys = match &self.listed {
            _ if self.skip_person_keys => None,
            Some(listed) => Some(StringArray::from_iter_values(listed.iter().copied())),
            None => {
                let mut by_id: Vec<&str> = vec![""; persons];
                for (key, &id) in &self.persons {
                    by_id[id as usize] = key.as_ref();
                }
                Some(StringArray::from_iter_values(by_id))
            }
        };
        Journeys {
            keys: self.keys,
            types: self.types,
            start,
            touch_ts,
            touch_key,
            touch_day,
            milestones,
            person_keys,
            conversions: self.conversions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touches_are_grouped_by_person_in_time_order() {
        let mut b = Builder::default();
        b.touch("bob", 30, "Email", false);
        b.touch("ann", 20, "Direct", true);
        b.touch("bob", 10, "Paid Search", false);
        b.conversion("bob", "lead", 40, 0, 0.0, true);
        b.conversion("bob", "won_deal", 50, 0, 100.0, false);
        b.conversion("carl", "won_deal", 60, 0, 5.0, true);
        let j = b.finish();
        assert_eq!(j.persons(), 3);
        let (ts, keys) = j.touches(0);
        assert_eq!(ts, [10, 30]);
        assert_eq!(
            keys.iter()
                .map(|k| j.keys.text[*k as usize].as_str())
                .collect::<Vec<_>>(),
            ["Paid Search", "Email"]
        );
        assert!(j.keys.direct[j.touches(1).1[0] as usize]);
        assert_eq!(j.milestones[0].lead_at, Some(40));
        let carl = j.conversions[2].person;
        assert_eq!(j.person_keys.as_ref().unwrap().value(carl as usize), "carl");
        assert!(j.touches(carl).0.is_empty(), "carl has no touches");
        assert_eq!(j.types, ["lead", "won_deal"]);

        // Without the person keys: the same journeys, no keys.
        let mut b = Builder::default();
        b.skip_person_keys();
        b.touch("ann", 20, "Direct", true);
        b.conversion("ann", "lead", 40, 0, 0.0, true);
        let j = b.finish();
        assert_eq!((j.persons(), j.touches(0).0), (1, &[20][..]));
        assert!(j.person_keys.is_none());
    }

    #[test]
    fn touches_at_the_same_instant_keep_one_order_whatever_the_input_order() {
        let build = |first: &str, second: &str| {
            let mut b = Builder::default();
            b.touch("ann", 10, first, false);
            b.touch("ann", 10, second, false);
            let j = b.finish();
            let (_, keys) = j.touches(0);
            keys.iter()
                .map(|k| j.keys.text[*k as usize].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(build("Paid Search", "Email"), ["Email", "Paid Search"]);
        assert_eq!(build("Email", "Paid Search"), ["Email", "Paid Search"]);
    }
}
