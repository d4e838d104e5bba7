//! The demo generator behind `loopql demo`: a seeded generator of a small agency project — clients with their own
//! currencies and time zones, and each client's Google Ads exports in a different native shape
//! (CSV, gzipped CSV, searchStream JSON) — with the ground truth written beside them.

mod ads;
mod book;
mod crm;
mod error;
mod fx;
mod google_ads;
mod journeys;
mod linkedin_ads;
mod meta_ads;
mod microsoft_ads;
mod pg;
mod sinks;
mod web;

pub use error::{DemoError, Result};
use std::path::{Path, PathBuf};

pub use loopql_core::rng::SplitMix64;
pub use pg::PgTarget;

use book::Book;
pub use journeys::Platform;

/// The first query `loopql demo` runs, and the README shows.
pub const FIRST_QUERY: &str =
    "SELECT client_id, CAST(date_trunc('month', date) AS DATE) AS month, currency,
       round(sum(spend), 2) AS spend, sum(clicks) AS clicks,
       round(sum(conversions), 1) AS conversions,
       round(sum(conversion_value) / NULLIF(sum(spend), 0), 2) AS roas
FROM ad_performance
GROUP BY 1, 2, 3
ORDER BY 1, 2";

/// A demo client: id, name, reporting currency, time zone, its Google Ads account (id, currency,
/// export shape), the ad platforms it buys besides Google and Meta, and which analytics tool and
/// CRM it uses.
#[derive(Debug, Clone)]
pub struct DemoClient {
    pub id: String,
    pub name: String,
    pub currency: &'static str,
    pub time_zone: &'static str,
    pub customer_id: i64,
    pub ads_currency: &'static str,
    pub export: ExportShape,
    /// Microsoft and/or LinkedIn Ads, billed in the client's currency.
    pub more_platforms: &'static [Platform],
    pub web: Web,
    pub crm: Crm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Web {
    /// GA4 BigQuery export, daily NDJSON (gzipped or not), with e-commerce purchases or without.
    Ga4 {
        gzip: bool,
        ecommerce: bool,
    },
    Snowplow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crm {
    HubSpot,
    Salesforce,
    /// The client's own CRM database, when the demo is given a PostgreSQL server (else HubSpot).
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportShape {
    /// One CSV per month with GAQL headers.
    MonthlyCsv,
    /// One gzipped CSV.
    GzipCsv,
    /// One searchStream JSON response per month.
    SearchStreamJson,
}

/// The three named clients of the demo.
fn named_clients() -> [DemoClient; 3] {
    [
        DemoClient {
            id: "acme".into(),
            name: "Acme Outdoor".into(),
            currency: "USD",
            time_zone: "America/New_York",
            customer_id: 1_234_567_890,
            ads_currency: "USD",
            export: ExportShape::MonthlyCsv,
            more_platforms: &[],
            web: Web::Ga4 {
                gzip: false,
                ecommerce: true,
            },
            crm: Crm::HubSpot,
        },
        DemoClient {
            id: "globex".into(),
            name: "Globex Software".into(),
            currency: "EUR",
            time_zone: "Europe/Berlin",
            customer_id: 2_345_678_901,
            ads_currency: "EUR",
            export: ExportShape::SearchStreamJson,
            // B2B software: LinkedIn for the decision makers.
            more_platforms: &[Platform::LinkedInAds],
            web: Web::Snowplow,
            crm: Crm::Salesforce,
        },
        DemoClient {
            id: "initech".into(),
            name: "Initech Insurance".into(),
            currency: "GBP",
            time_zone: "Europe/London",
            customer_id: 3_456_789_012,
            // An agency-run account billed in USD for a client who reports in GBP.
            ads_currency: "USD",
            export: ExportShape::GzipCsv,
            // UK insurance buyers search on Bing too.
            more_platforms: &[Platform::MicrosoftAds],
            web: Web::Ga4 {
                gzip: true,
                ecommerce: false,
            },
            crm: Crm::Postgres,
        },
    ]
}

/// How many clients `loopql demo` writes unless told.
pub const DEFAULT_CLIENTS: usize = 3;

/// The demo's first `n` clients: the three named ones, then generated agency clients
/// (`client04`, ...) shaped like them in turn — same currencies, time zones, export shapes,
/// analytics tool and CRM — each buying Microsoft and LinkedIn Ads besides Google and Meta
/// (six sources each).
pub fn clients(n: usize) -> Vec<DemoClient> {
    let named = named_clients();
    (0..n)
        .map(|i| match named.get(i) {
            Some(c) => c.clone(),
            None => {
                let like = &named[i % named.len()];
                DemoClient {
                    id: format!("client{:02}", i + 1),
                    name: format!("Client {:02} ({})", i + 1, like.name),
                    // Accounts stay distinct: the platforms' ids are derived from the last six
                    // digits.
                    customer_id: like.customer_id + i as i64 * 1_000_001,
                    more_platforms: &[Platform::MicrosoftAds, Platform::LinkedInAds],
                    ..like.clone()
                }
            }
        })
        .collect()
}

/// What the demo wrote.
#[derive(Debug)]
pub struct DemoProject {
    pub dir: PathBuf,
    pub project_file: PathBuf,
    pub files: Vec<PathBuf>,
}

pub(crate) const MARKER: &str = "# generated by `loopql demo`";

/// Sessions at `--scale 1` across the three named clients (each generated client adds as many as
/// one of them); the default scale keeps `loopql demo` quick.
pub const SESSIONS_AT_SCALE_1: f64 = 100_000.0;
pub const DEFAULT_SCALE: f64 = 0.05;
/// Sessions an average demo person has within the 91 days (measured: keeps scale 1 near 100k).
const SESSIONS_PER_PERSON: f64 = 1.55;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// 1 is about 100k web sessions across the three named clients; each further client is as
    /// large as one of them.
    pub scale: f64,
    /// Write the ad platforms' later export, in which the last days' conversions are final.
    pub restated: bool,
    /// Load the CRM of the client whose CRM is a database into this server (else it gets
    /// HubSpot exports).
    pub postgres: Option<PgTarget>,
    /// How many clients: the three named ones, then generated ones (see [`clients`]).
    pub clients: usize,
}

impl Options {
    pub fn new(seed: u64, scale: f64) -> Self {
        Options {
            seed,
            scale,
            restated: false,
            postgres: None,
            clients: DEFAULT_CLIENTS,
        }
    }
}

pub(crate) const DEMO_ANNOTATIONS: &str = "client_id,date,end_date,channel,campaign,author,text
acme,2024-02-12,2024-02-18,Paid Search,,Dana (AM),Brand campaign budget doubled for the product launch week
acme,2024-03-04,,,,Dana (AM),Spring sale started (20% off): expect more leads and lower deal sizes
globex,2024-02-20,2024-02-22,,,Lee (analytics),Checkout tag missing on the new site: web purchases under-counted
initech,2024-03-11,,Paid Social,,Sam (AM),New Meta lead-gen campaign launched
";

/// Writes the demo project into `dir` (refusing a non-empty folder that is not an earlier demo).
pub fn write(dir: &Path, options: &Options) -> Result<DemoProject> {
    let Options {
        seed,
        scale,
        restated,
        ..
    } = *options;
    let project_file = dir.join("loopql.toml");
    prepare(dir, &project_file)?;
    let clients = clients(options.clients);
    let mut rng = SplitMix64::new(seed);
    let mut book = Book::new(seed, scale, &clients);
    let rates = book.rates(dir, &mut rng)?;
    // Per client, whatever their number: the first three clients' files are the same in a
    // 3-client and a 50-client demo of one seed.
    let people_per_client =
        ((scale * SESSIONS_AT_SCALE_1 / named_clients().len() as f64 / SESSIONS_PER_PERSON).round()
            as usize)
            .max(30);
    for client in &clients {
        // Journeys first: the ad platforms' clicks and conversions follow them.
        let ecommerce = matches!(
            client.web,
            Web::Ga4 {
                ecommerce: true,
                ..
            }
        );
        let people = journeys::generate(client, people_per_client, ecommerce, &mut rng);
        let paid = journeys::paid_days(&people);
        let platforms: Vec<(Platform, Vec<ads::AdRow>)> = [Platform::GoogleAds, Platform::MetaAds]
            .iter()
            .chain(client.more_platforms)
            .map(|&p| (p, ads::rows(p, &paid, restated, &mut rng)))
            .collect();
        book.ads(dir, client, &rates, &platforms)?;
        book.web(dir, client, &people, options.postgres.as_ref())?;
        book.crm(dir, client, &people, options.postgres.as_ref())?;
        book.truth(client, &people);
    }
    book.finish(dir, project_file, &clients)
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + use<> {
    let path = path.to_path_buf();
    move |source| DemoError::Io { path, source }
}

/// Makes `dir` ready: created, or an earlier demo whose generated folders are removed.
fn prepare(dir: &Path, project_file: &Path) -> Result<()> {
    if dir.exists() {
        let earlier_demo =
            std::fs::read_to_string(project_file).is_ok_and(|t| t.starts_with(MARKER));
        let empty = std::fs::read_dir(dir).map_err(io(dir))?.next().is_none();
        if !earlier_demo && !empty {
            return Err(DemoError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "folder exists and is not an earlier loopql demo; choose another with --dir",
                ),
            });
        }
        for sub in ["exports", "ground_truth", "fx"] {
            let p = dir.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p).map_err(io(&p))?;
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))
}
