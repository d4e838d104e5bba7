//! Ground-truth customer journeys: people with web sessions (channels, UTMs, click ids), some of
//! whom become leads, deals and customers in the CRM. Each source then writes its own view of them.

use super::{DemoClient, SplitMix64};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// Google Ads click (search, Shopping or Performance Max): UTMs plus gclid, or
    /// (auto-tagging only) gclid without UTMs.
    PaidSearch {
        campaign: &'static str,
        utm: bool,
    },
    /// Microsoft Advertising click: UTMs plus msclkid.
    Bing {
        campaign: &'static str,
    },
    /// Meta Ads click: UTMs with the campaign's slug.
    PaidSocial {
        campaign: &'static str,
        slug: &'static str,
    },
    /// LinkedIn Ads click: UTMs with the campaign's slug.
    LinkedIn {
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
            Touch::Bing { campaign } => Some(("bing", "cpc", campaign)),
            Touch::PaidSocial { slug, .. } => Some(("facebook", "paid_social", slug)),
            Touch::LinkedIn { slug, .. } => Some(("linkedin", "paid_social", slug)),
            Touch::OrganicSearch => Some(("google", "organic", "")),
            Touch::Email => Some(("newsletter", "email", "monthly")),
            Touch::Referral => Some(("partner-blog.example", "referral", "")),
            Touch::Direct => None,
        }
    }

    /// The channel group loopql gives the session this touch starts (GA4's default rules: a
    /// Google campaign named for Shopping or cross-network is Paid Shopping or Cross-network
    /// when its UTMs say so; a click with only a gclid is Paid Search).
    pub fn channel(self) -> &'static str {
        match self {
            Touch::PaidSearch {
                campaign,
                utm: true,
            } => google_web_channel(campaign),
            Touch::PaidSearch { utm: false, .. } | Touch::Bing { .. } => "Paid Search",
            Touch::PaidSocial { .. } | Touch::LinkedIn { .. } => "Paid Social",
            Touch::OrganicSearch => "Organic Search",
            Touch::Email => "Email",
            Touch::Referral => "Referral",
            Touch::Direct => "Direct",
        }
    }

    /// A click on a search engine's ads (CRMs file the contact's source as paid search).
    pub fn is_paid_search(self) -> bool {
        matches!(self, Touch::PaidSearch { .. } | Touch::Bing { .. })
    }

    /// A Google Ads click, which auto-tagging marks with a gclid.
    pub fn has_gclid(self) -> bool {
        matches!(self, Touch::PaidSearch { .. })
    }

    /// The ad platform and campaign name of a paid click.
    pub fn paid(self) -> Option<(Platform, &'static str)> {
        match self {
            Touch::PaidSearch { campaign, .. } => Some((Platform::GoogleAds, campaign)),
            Touch::Bing { campaign } => Some((Platform::MicrosoftAds, campaign)),
            Touch::PaidSocial { campaign, .. } => Some((Platform::MetaAds, campaign)),
            Touch::LinkedIn { campaign, .. } => Some((Platform::LinkedInAds, campaign)),
            _ => None,
        }
    }
}

/// The web channel of a Google Ads campaign's tagged clicks.
fn google_web_channel(campaign: &str) -> &'static str {
    let c = campaign.to_ascii_lowercase();
    if c.contains("cross-network") {
        "Cross-network"
    } else if c.contains("shopping") {
        "Paid Shopping"
    } else {
        "Paid Search"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Platform {
    GoogleAds,
    MetaAds,
    MicrosoftAds,
    LinkedInAds,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::GoogleAds,
        Platform::MetaAds,
        Platform::MicrosoftAds,
        Platform::LinkedInAds,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Platform::GoogleAds => "google_ads",
            Platform::MetaAds => "meta_ads",
            Platform::MicrosoftAds => "microsoft_ads",
            Platform::LinkedInAds => "linkedin_ads",
        }
    }

    /// The platform's default click-through attribution window.
    pub fn click_window_days(self) -> i64 {
        match self {
            Platform::GoogleAds | Platform::MicrosoftAds | Platform::LinkedInAds => 30,
            Platform::MetaAds => 7,
        }
    }

    pub fn campaigns(self) -> &'static [&'static str] {
        match self {
            Platform::GoogleAds => &SEARCH_CAMPAIGNS,
            Platform::MetaAds => &SOCIAL_CAMPAIGNS,
            Platform::MicrosoftAds => &BING_CAMPAIGNS,
            Platform::LinkedInAds => &LINKEDIN_CAMPAIGNS,
        }
    }

    /// The channel loopql's `ad_performance` gives a campaign's spend (Google Ads by the
    /// campaign's advertising channel type: see `google_ads::CHANNEL_TYPES`).
    pub fn channel(self, campaign: usize) -> &'static str {
        match (self, campaign) {
            (Platform::GoogleAds, 2) => "Paid Shopping",
            (Platform::GoogleAds, 3) => "Cross-network",
            (Platform::GoogleAds | Platform::MicrosoftAds, _) => "Paid Search",
            (Platform::MetaAds | Platform::LinkedInAds, _) => "Paid Social",
        }
    }
}

pub const SEARCH_CAMPAIGNS: [&str; 4] = [
    "Brand - Exact",
    "Generic - Broad",
    "Shopping - All Products",
    "PMax - Cross-network",
];
pub const SOCIAL_CAMPAIGNS: [&str; 2] = ["Prospecting", "Retargeting"];
const SOCIAL_SLUGS: [&str; 2] = ["prospecting", "retargeting"];
pub const BING_CAMPAIGNS: [&str; 2] = ["Bing - Brand", "Bing - Generic"];
pub const LINKEDIN_CAMPAIGNS: [&str; 2] = ["Decision Makers", "Webinar Promotion"];
const LINKEDIN_SLUGS: [&str; 2] = ["decision-makers", "webinar-promotion"];

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

/// Picks one of `n` items by `u` in [0, 1).
fn index(u: f64, n: usize) -> usize {
    ((u * n as f64) as usize).min(n - 1)
}

fn pick_touch(client: &DemoClient, rng: &mut SplitMix64) -> Touch {
    let x = rng.unit();
    if x < 0.30 {
        let u = rng.unit();
        // Some paid clicks arrive with auto-tagging only: a gclid and no UTMs.
        let tagged = rng.unit() > 0.1;
        // A quarter of the search clicks of a client who also buys Microsoft ads are Bing's.
        if client.more_platforms.contains(&Platform::MicrosoftAds) && u < 0.25 {
            return Touch::Bing {
                campaign: BING_CAMPAIGNS[index(u / 0.25, BING_CAMPAIGNS.len())],
            };
        }
        Touch::PaidSearch {
            campaign: SEARCH_CAMPAIGNS[index(u, SEARCH_CAMPAIGNS.len())],
            utm: tagged,
        }
    } else if x < 0.45 {
        let u = rng.unit();
        // Two in five social clicks of a client who also buys LinkedIn ads are LinkedIn's.
        if client.more_platforms.contains(&Platform::LinkedInAds) && u < 0.4 {
            let k = index(u / 0.4, LINKEDIN_CAMPAIGNS.len());
            return Touch::LinkedIn {
                campaign: LINKEDIN_CAMPAIGNS[k],
                slug: LINKEDIN_SLUGS[k],
            };
        }
        let k = index(u, SOCIAL_CAMPAIGNS.len());
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
            let touch = pick_touch(client, rng);
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
        for platform in Platform::ALL {
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
