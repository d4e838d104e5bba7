//! Ground-truth customer journeys: people with web sessions (channels, UTMs, click ids), some of
//! whom become leads, deals and customers in the CRM. Each source then writes its own view of them.

use super::{DemoClient, SplitMix64};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// Google Ads click: UTMs plus gclid, or (auto-tagging only) gclid without UTMs.
    PaidSearch {
        campaign: &'static str,
        utm: bool,
    },
    /// Meta Ads click: UTMs with the campaign's slug.
    PaidSocial {
        campaign: &'static str,
        slug: &'static str,
    },
    OrganicSearch,
    Email,
    Referral,
    Direct,
}

impl Touch {
    /// (utm_source, utm_medium, utm_campaign) as collected, if any.
    pub fn utm(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Touch::PaidSearch {
                campaign,
                utm: true,
            } => Some(("google", "cpc", campaign)),
            Touch::PaidSearch { utm: false, .. } => None,
            Touch::PaidSocial { slug, .. } => Some(("facebook", "paid_social", slug)),
            Touch::OrganicSearch => Some(("google", "organic", "")),
            Touch::Email => Some(("newsletter", "email", "monthly")),
            Touch::Referral => Some(("partner-blog.example", "referral", "")),
            Touch::Direct => None,
        }
    }

    /// The channel group loopql gives the session this touch starts (GA4's default rules).
    pub fn channel(self) -> &'static str {
        match self {
            Touch::PaidSearch { .. } => "Paid Search",
            Touch::PaidSocial { .. } => "Paid Social",
            Touch::OrganicSearch => "Organic Search",
            Touch::Email => "Email",
            Touch::Referral => "Referral",
            Touch::Direct => "Direct",
        }
    }

    pub fn is_paid_search(self) -> bool {
        matches!(self, Touch::PaidSearch { .. })
    }

    /// The ad platform and campaign name of a paid click.
    pub fn paid(self) -> Option<(Platform, &'static str)> {
        match self {
            Touch::PaidSearch { campaign, .. } => Some((Platform::GoogleAds, campaign)),
            Touch::PaidSocial { campaign, .. } => Some((Platform::MetaAds, campaign)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Platform {
    GoogleAds,
    MetaAds,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::GoogleAds => "google_ads",
            Platform::MetaAds => "meta_ads",
        }
    }

    /// The platform's default click-through attribution window.
    pub fn click_window_days(self) -> i64 {
        match self {
            Platform::GoogleAds => 30,
            Platform::MetaAds => 7,
        }
    }

    pub fn campaigns(self) -> &'static [&'static str] {
        match self {
            Platform::GoogleAds => &SEARCH_CAMPAIGNS,
            Platform::MetaAds => &SOCIAL_CAMPAIGNS,
        }
    }
}

pub const SEARCH_CAMPAIGNS: [&str; 3] = ["Brand - Exact", "Generic - Broad", "PMax - All Products"];
pub const SOCIAL_CAMPAIGNS: [&str; 2] = ["Prospecting", "Retargeting"];
const SOCIAL_SLUGS: [&str; 2] = ["prospecting", "retargeting"];

#[derive(Debug, Clone)]
pub struct Session {
    pub start: NaiveDateTime,
    pub touch: Touch,
    pub pages: u32,
    pub engaged: bool,
    pub purchase: Option<f64>,
    /// The person had identified themselves (form fill) by this session.
    pub identified: bool,
}

#[derive(Debug, Clone)]
pub struct Deal {
    pub created: NaiveDateTime,
    pub closed: Option<NaiveDateTime>,
    pub won: bool,
    pub amount: f64,
}

#[derive(Debug, Clone)]
pub struct Lead {
    pub created: NaiveDateTime,
    pub mql: Option<NaiveDateTime>,
    pub deal: Option<Deal>,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub index: usize,
    pub pseudo_id: String,
    pub email: String,
    pub sessions: Vec<Session>,
    pub lead: Option<Lead>,
}

pub const FIRST_DAY: (i32, u32, u32) = (2024, 1, 1);
pub const DAYS: i64 = 91;

fn pick_touch(rng: &mut SplitMix64) -> Touch {
    let x = rng.unit();
    if x < 0.30 {
        let campaign = SEARCH_CAMPAIGNS[(rng.unit() * 3.0) as usize % 3];
        // Some paid clicks arrive with auto-tagging only: a gclid and no UTMs.
        Touch::PaidSearch {
            campaign,
            utm: rng.unit() > 0.1,
        }
    } else if x < 0.45 {
        let k = (rng.unit() * 2.0) as usize % 2;
        Touch::PaidSocial {
            campaign: SOCIAL_CAMPAIGNS[k],
            slug: SOCIAL_SLUGS[k],
        }
    } else if x < 0.65 {
        Touch::OrganicSearch
    } else if x < 0.75 {
        Touch::Email
    } else if x < 0.80 {
        Touch::Referral
    } else {
        Touch::Direct
    }
}

/// People of one client; `people` of them, over the demo's 91 days.
pub fn generate(
    client: &DemoClient,
    people: usize,
    ecommerce: bool,
    rng: &mut SplitMix64,
) -> Vec<Person> {
    let start = NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).unwrap_or_default();
    let end = start + Duration::days(DAYS);
    let mut out = Vec::with_capacity(people);
    for index in 0..people {
        let n_sessions = 1 + (rng.unit() * rng.unit() * 4.0) as usize;
        let mut day = start + Duration::days((rng.unit() * DAYS as f64) as i64);
        let mut sessions = Vec::new();
        let mut lead: Option<Lead> = None;
        for _ in 0..n_sessions {
            let hour = 6 + (rng.unit() * 16.0) as u32;
            let minute = (rng.unit() * 60.0) as u32;
            let Some(at) = day.and_hms_opt(hour, minute, 0) else {
                continue;
            };
            if at.date() >= end {
                break;
            }
            let touch = pick_touch(rng);
            let pages = 1 + (rng.unit() * rng.unit() * 6.0) as u32;
            if lead.is_none() && rng.unit() < 0.10 {
                let created = at + Duration::minutes(2);
                let mql = (rng.unit() < 0.6)
                    .then(|| created + Duration::days(1 + (rng.unit() * 5.0) as i64));
                let deal = (rng.unit() < 0.35).then(|| {
                    let deal_day = created.date() + Duration::days(2 + (rng.unit() * 5.0) as i64);
                    let created = deal_day.and_hms_opt(12, 0, 0).unwrap_or(created);
                    let close_day = deal_day + Duration::days(7 + (rng.unit() * 35.0) as i64);
                    let closed = (close_day < end)
                        .then(|| close_day.and_hms_opt(12, 0, 0))
                        .flatten();
                    let won = closed.is_some() && rng.unit() < 0.55;
                    let amount = (rng.range(400.0, 6000.0) / 10.0).round() * 10.0;
                    Deal {
                        created,
                        closed,
                        won,
                        amount,
                    }
                });
                lead = Some(Lead { created, mql, deal });
            }
            // From the form fill on, the analytics tool knows the person (user_id = CRM email).
            let identified = lead.is_some();
            let purchase = (ecommerce && rng.unit() < 0.04)
                .then(|| (rng.range(20.0, 250.0) * 100.0).round() / 100.0);
            let engaged = pages >= 2 || purchase.is_some() || rng.unit() < 0.3;
            sessions.push(Session {
                start: at,
                touch,
                pages,
                engaged,
                purchase,
                identified,
            });
            day += Duration::days((rng.unit() * 10.0) as i64);
        }
        if sessions.is_empty() {
            continue;
        }
        out.push(Person {
            index,
            pseudo_id: format!("{}.{}", 100_000 + index, 1_700_000_000 + index * 7),
            email: format!("person{index}@{}-customer.example", client.id),
            sessions,
            lead,
        });
    }
    out
}

/// What the harmonized views must return for these people.
#[derive(Debug, Default)]
pub struct Truth {
    pub sessions: usize,
    pub leads: usize,
    /// close month -> (deals won, revenue in the client's currency)
    pub won_by_month: BTreeMap<String, (usize, f64)>,
}

pub fn truth(people: &[Person]) -> Truth {
    let mut t = Truth::default();
    for p in people {
        t.sessions += p.sessions.len();
        if let Some(lead) = &p.lead {
            t.leads += 1;
            if let Some(Deal {
                closed: Some(closed),
                won: true,
                amount,
                ..
            }) = &lead.deal
            {
                let key = format!("{}-{:02}", closed.year(), closed.month());
                let e = t.won_by_month.entry(key).or_insert((0, 0.0));
                e.0 += 1;
                e.1 += amount;
            }
        }
    }
    t
}

/// One conversion and the touches an analyst could observe before it: the person's web sessions
/// (and CRM campaign responses) within the 30-day lookback, in time order.
#[derive(Debug, Clone)]
pub struct ConversionJourney {
    pub kind: &'static str,
    pub at: NaiveDateTime,
    pub touches: Vec<(NaiveDateTime, &'static str)>,
}

/// The lookback the ground truth's paths use (loopql's default `lookback_days`).
pub const LOOKBACK_DAYS: i64 = 30;

/// Each lead and won deal of `p` with its observable journey; `webinar` is when the person
/// responded to a CRM campaign (channel Events), if they did.
pub fn conversion_journeys(p: &Person, webinar: Option<NaiveDateTime>) -> Vec<ConversionJourney> {
    let Some(lead) = &p.lead else {
        return Vec::new();
    };
    let mut conversions = vec![("lead", lead.created)];
    if let Some(Deal {
        closed: Some(closed),
        won: true,
        ..
    }) = &lead.deal
    {
        conversions.push(("won_deal", *closed));
    }
    let mut touches: Vec<(NaiveDateTime, &'static str)> = p
        .sessions
        .iter()
        .map(|s| (s.start, s.touch.channel()))
        .chain(webinar.map(|at| (at, "Events")))
        .collect();
    touches.sort();
    conversions
        .into_iter()
        .map(|(kind, at)| ConversionJourney {
            kind,
            at,
            touches: touches
                .iter()
                .filter(|(t, _)| *t <= at && at - *t <= Duration::days(LOOKBACK_DAYS))
                .copied()
                .collect(),
        })
        .collect()
}

/// What really happened after the clicks on one campaign on one day (the click's day, UTC).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct PaidDay {
    /// Sessions that arrived from the campaign's ads.
    pub sessions: u64,
    /// Leads whose last click on this platform, within the platform's click window, was here —
    /// what a perfectly honest platform would report. Both platforms can claim the same lead.
    pub leads: u64,
}

/// Paid sessions and the leads each platform's click window credits, per (platform, campaign,
/// click day).
pub fn paid_days(people: &[Person]) -> BTreeMap<(Platform, &'static str, NaiveDate), PaidDay> {
    let mut out: BTreeMap<(Platform, &'static str, NaiveDate), PaidDay> = BTreeMap::new();
    for p in people {
        for s in &p.sessions {
            if let Some((platform, campaign)) = s.touch.paid() {
                out.entry((platform, campaign, s.start.date()))
                    .or_default()
                    .sessions += 1;
            }
        }
        let Some(lead) = &p.lead else { continue };
        for platform in [Platform::GoogleAds, Platform::MetaAds] {
            let window = Duration::days(platform.click_window_days());
            let last_click = p
                .sessions
                .iter()
                .filter(|s| s.start <= lead.created && lead.created - s.start <= window)
                .filter_map(|s| match s.touch.paid() {
                    Some((pl, campaign)) if pl == platform => Some((campaign, s.start.date())),
                    _ => None,
                })
                .next_back();
            if let Some((campaign, day)) = last_click {
                out.entry((platform, campaign, day)).or_default().leads += 1;
            }
        }
    }
    out
}
