//! Demo exchange rates in the ECB's `eurofxref-hist.csv` layout: a seeded random walk per
//! currency, published on weekdays only (so weekends exercise the engine's fill-forward).

use super::SplitMix64;
use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::BTreeMap;

pub struct Rates {
    /// currency -> published day -> units per EUR (weekdays only).
    published: BTreeMap<&'static str, BTreeMap<NaiveDate, f64>>,
}

pub const CURRENCIES: [(&str, f64); 2] = [("USD", 1.09), ("GBP", 0.86)];

impl Rates {
    pub fn generate(first: NaiveDate, last: NaiveDate, rng: &mut SplitMix64) -> Self {
        let mut published = BTreeMap::new();
        for (code, start) in CURRENCIES {
            let mut rate = start;
            let mut series = BTreeMap::new();
            let mut d = first;
            while d <= last {
                rate *= 1.0 + rng.range(-0.004, 0.004);
                if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                    // Published to 4 decimals, as the ECB does.
                    series.insert(d, (rate * 10_000.0).round() / 10_000.0);
                }
                d += chrono::Duration::days(1);
            }
            published.insert(code, series);
        }
        Self { published }
    }

    /// Units of `code` per EUR on `day`: the latest rate published on or before it.
    pub fn per_eur(&self, code: &str, day: NaiveDate) -> Option<f64> {
        if code == "EUR" {
            return Some(1.0);
        }
        self.published
            .get(code)?
            .range(..=day)
            .next_back()
            .map(|(_, r)| *r)
    }

    /// `amount` in `from` converted to `to` on `day`.
    pub fn convert(&self, amount: f64, from: &str, to: &str, day: NaiveDate) -> Option<f64> {
        if from == to {
            return Some(amount);
        }
        Some(amount * self.per_eur(to, day)? / self.per_eur(from, day)?)
    }

    /// The file, newest day first, each line ending in a comma (as the ECB writes it).
    pub fn ecb_csv(&self) -> String {
        let mut days: Vec<NaiveDate> = self
            .published
            .values()
            .flat_map(|s| s.keys().copied())
            .collect();
        days.sort_unstable();
        days.dedup();
        let mut out = String::from("Date");
        for (code, _) in CURRENCIES {
            out.push(',');
            out.push_str(code);
        }
        out.push_str(",\n");
        for d in days.iter().rev() {
            out.push_str(&d.to_string());
            for (code, _) in CURRENCIES {
                out.push(',');
                match self.published.get(code).and_then(|s| s.get(d)) {
                    Some(r) => out.push_str(&format!("{r:.4}")),
                    None => out.push_str("N/A"),
                }
            }
            out.push_str(",\n");
        }
        out
    }
}
