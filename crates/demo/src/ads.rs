//! Daily ad delivery per campaign, derived from the journeys: clicks follow the paid sessions the
//! analytics tool saw (platforms count more clicks than sites see sessions), spend follows clicks,
//! and each platform reports more conversions than the CRM has leads (modelled and view-through
//! conversions, double counting across platforms). The last days' conversions are still being
//! counted when the export is taken, and are restated in a later export.

use super::SplitMix64;
use super::journeys::{DAYS, FIRST_DAY, PaidDay, Platform};
use chrono::{Datelike, Duration, NaiveDate};
use std::collections::BTreeMap;

/// The value an advertiser gives a lead in its conversion settings, in the account's currency.
pub const LEAD_VALUE: f64 = 80.0;

/// Days at the end of the period whose conversions are restated after the first export.
pub const RESTATED_DAYS: i64 = 3;

/// Share of the final conversions already counted at the first export, for the last day, the
/// day before, and the one before that (conversion lag).
const FIRST_EXPORT_SHARE: [f64; RESTATED_DAYS as usize] = [0.55, 0.75, 0.9];

/// One campaign on one day, in the account's currency.
#[derive(Debug, Clone)]
pub struct AdRow {
    pub date: NaiveDate,
    pub platform: Platform,
    /// Index of the campaign in the platform's list.
    pub campaign: usize,
    pub campaign_name: &'static str,
    pub impressions: i64,
    pub clicks: i64,
    pub cost_cents: i64,
    /// What the export says (first export, or the restated one).
    pub conversions: f64,
    /// The same day's conversions in the other export; differs only on restated days.
    pub conversions_other_export: f64,
    /// The leads behind the conversions (the ground truth the platform over-reports).
    pub true_leads: u64,
}

impl AdRow {
    pub fn spend(&self) -> f64 {
        self.cost_cents as f64 / 100.0
    }

    pub fn conversion_value(&self) -> f64 {
        (self.conversions * LEAD_VALUE * 100.0).round() / 100.0
    }
}

/// (CTR, CPC in the account's currency) of each campaign, in the platform's campaign order.
fn economics(platform: Platform) -> &'static [(f64, f64)] {
    match platform {
        // B2B-ish click prices: brand terms are cheap, generic terms and prospecting are not.
        // Brand, generic, Shopping (cheap clicks off product listings), Performance Max.
        Platform::GoogleAds => &[(0.12, 1.8), (0.045, 6.5), (0.011, 0.9), (0.018, 3.9)],
        Platform::MetaAds => &[(0.011, 2.4), (0.019, 1.7)],
        Platform::MicrosoftAds => &[(0.10, 1.4), (0.038, 4.8)],
        // LinkedIn's B2B audiences: rare clicks, dear ones.
        Platform::LinkedInAds => &[(0.006, 7.5), (0.009, 5.2)],
    }
}

/// Every campaign of `platform` on every day of the demo, whether or not it had clicks.
/// `restated` picks which export is written: the first one (recent days still counting) or the
/// later one with the final numbers.
pub fn rows(
    platform: Platform,
    paid: &BTreeMap<(Platform, &'static str, NaiveDate), PaidDay>,
    restated: bool,
    rng: &mut SplitMix64,
) -> Vec<AdRow> {
    let start = NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).unwrap_or_default();
    let mut out = Vec::new();
    for day in 0..DAYS {
        let date = start + Duration::days(day);
        let weekend = date.weekday().num_days_from_monday() >= 5;
        let from_end = DAYS - 1 - day;
        for (k, campaign_name) in platform.campaigns().iter().enumerate() {
            let (ctr, cpc) = economics(platform)[k];
            let truth = paid
                .get(&(platform, *campaign_name, date))
                .copied()
                .unwrap_or_default();
            // Platforms count clicks that never become sessions (bounces before the tag fires,
            // bots); Meta's link clicks more so.
            let extra = match platform {
                Platform::GoogleAds | Platform::MicrosoftAds => rng.range(1.05, 1.3),
                Platform::MetaAds | Platform::LinkedInAds => rng.range(1.3, 1.8),
            };
            let clicks = (truth.sessions as f64 * extra).round() as i64;
            let weekly = if weekend { 0.8 } else { 1.0 };
            let impressions =
                ((clicks as f64 + 0.5) / ctr * weekly * rng.range(0.85, 1.15)).round() as i64;
            let cost_cents = (clicks as f64 * cpc * rng.range(0.9, 1.1) * 100.0).round() as i64;
            let over = rng.range(1.2, 1.6);
            let final_conversions = round_conversions(platform, truth.leads as f64 * over);
            let first_conversions = match usize::try_from(from_end) {
                Ok(i) if i < FIRST_EXPORT_SHARE.len() => {
                    round_conversions(platform, final_conversions * FIRST_EXPORT_SHARE[i])
                }
                _ => final_conversions,
            };
            let (conversions, conversions_other_export) = if restated {
                (final_conversions, first_conversions)
            } else {
                (first_conversions, final_conversions)
            };
            out.push(AdRow {
                date,
                platform,
                campaign: k,
                campaign_name,
                impressions,
                clicks,
                cost_cents,
                conversions,
                conversions_other_export,
                true_leads: truth.leads,
            });
        }
    }
    out
}

/// Google and Microsoft report fractional (modelled) conversions to two decimals; Meta and
/// LinkedIn whole actions.
fn round_conversions(platform: Platform, x: f64) -> f64 {
    match platform {
        Platform::GoogleAds | Platform::MicrosoftAds => (x * 100.0).round() / 100.0,
        Platform::MetaAds | Platform::LinkedInAds => x.round(),
    }
}

/// `YYYY-MM` of a date.
pub fn month(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}
