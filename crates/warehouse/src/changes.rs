//! What a sync changed: the partitions it wrote anew or dropped (not linked from the previous
//! snapshot), from which the later phases decide what to recompute — a harmonized table from
//! the first day its raw inputs changed, a stored derived table only for the clients whose
//! inputs changed.

use super::NULL_DAY;
use std::collections::HashMap;

/// The partitions a run wrote anew or dropped, as (table folder, client, day) — day `None` for
/// a table without days or rows without a day, client empty for a reference table — in the
/// order they were recorded, and indexed by client (a sync asks per client).
#[derive(Debug, Default, Clone)]
pub(super) struct Changes {
    log: Vec<(String, String, Option<String>)>,
    by_client: HashMap<String, Vec<usize>>,
}

impl Changes {
    pub(super) fn len(&self) -> usize {
        self.log.len()
    }

    /// Forgets the changes after the first `len` (an attempt undone).
    pub(super) fn truncate(&mut self, len: usize) {
        for (_, client, _) in self.log.drain(len.min(self.log.len())..) {
            if let Some(at) = self.by_client.get_mut(&client) {
                at.retain(|&i| i < len);
            }
        }
    }

    pub(super) fn push(&mut self, dir: &str, client: &str, day: Option<&str>) {
        self.by_client
            .entry(client.to_string())
            .or_default()
            .push(self.log.len());
        self.log
            .push((dir.to_string(), client.to_string(), day.map(str::to_string)));
    }

    /// `client`'s changes in the tables whose folder `dirs` accepts: their days.
    fn of(&self, dirs: impl Fn(&str) -> bool, client: &str) -> Vec<Option<&str>> {
        self.by_client
            .get(client)
            .into_iter()
            .flatten()
            .map(|&i| &self.log[i])
            .filter(|(d, _, _)| dirs(d))
            .map(|(_, _, day)| day.as_deref())
            .collect()
    }

    /// Whether `client` has a change in a table whose folder `dirs` accepts.
    pub(super) fn any(&self, dirs: impl Fn(&str) -> bool, client: &str) -> bool {
        !self.of(dirs, client).is_empty()
    }

    /// Whether a reference table (`reference/NAME`) changed.
    pub(super) fn reference(&self, name: &str) -> bool {
        let dir = format!("reference/{name}");
        !self.of(|d| d == dir, "").is_empty()
    }

    /// The first day of `client` whose partitions changed in the tables `dirs`: `None` when
    /// none did, `Some(None)` when one without a day did (everything may depend on it).
    pub(super) fn first_day(
        &self,
        dirs: impl Fn(&str) -> bool,
        client: &str,
    ) -> Option<Option<i32>> {
        let mut first: Option<Option<i32>> = None;
        for day in self.of(dirs, client) {
            let day = day
                .filter(|d| *d != NULL_DAY)
                .and_then(super::partition::parse_day);
            first = Some(match (first, day) {
                (Some(None), _) | (_, None) => None,
                (None, Some(d)) => Some(d),
                (Some(Some(a)), Some(d)) => Some(a.min(d)),
            });
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_changed_day_is_the_earliest_and_an_undated_change_is_everything() {
        let mut c = Changes::default();
        let raw = |d: &str| d.starts_with("raw/");
        assert_eq!(c.first_day(raw, "acme"), None, "nothing changed");
        c.push("raw/ads/stats", "acme", Some("2024-03-30"));
        c.push("raw/ads/stats", "acme", Some("2024-03-29"));
        c.push("raw/ads/stats", "globex", Some("2024-03-01"));
        c.push("sessions", "acme", Some("2024-01-01"));
        let day = super::super::partition::parse_day("2024-03-29");
        assert_eq!(
            c.first_day(raw, "acme"),
            Some(day),
            "earliest, own client and tables"
        );
        assert!(c.any(raw, "globex") && !c.any(raw, "initech"));
        assert!(c.any(|d| d == "sessions", "acme") && !c.any(|d| d == "sessions", "globex"));
        c.push("raw/crm/contacts", "acme", None);
        assert_eq!(c.first_day(raw, "acme"), Some(None), "a table without days");
        c.push("raw/ads/stats", "globex", Some(NULL_DAY));
        assert_eq!(c.first_day(raw, "globex"), Some(None), "rows without a day");
        let before = c.len();
        c.push("reference/clients", "", None);
        assert!(c.reference("clients") && !c.reference("fx_rates"));
        c.truncate(before);
        assert!(!c.reference("clients"), "undone");
    }
}
