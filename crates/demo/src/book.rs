//! What `loopql demo` accumulates while it writes each client's sources — the files, the
//! project file's text, budgets, costs and the ground-truth tables — and how it finishes.

use super::{
    Crm, DEMO_ANNOTATIONS, DemoClient, DemoProject, MARKER, PgTarget, Platform, SplitMix64, Web,
    ads, crm, fx, google_ads, io, journeys, linkedin_ads, meta_ads, microsoft_ads, pg, web,
};
use crate::error::{DemoError, Result};
use std::path::{Path, PathBuf};

/// What the demo accumulates while it writes each client's sources: the files, the project
/// file's text, the budgets and the ground-truth tables.
pub(crate) struct Book {
    files: Vec<PathBuf>,
    toml: String,
    ads_truth: String,
    /// Planned spend per client, month and channel.
    budgets: String,
    over_truth: String,
    crm_truth: String,
    web_truth: String,
    /// Each conversion's observable journey.
    journeys_truth: String,
}

impl Book {
    pub(crate) fn new(seed: u64, scale: f64, clients: &[DemoClient]) -> Self {
        let mut toml = format!(
            "{MARKER} (seed {seed}, scale {scale}); edit freely.\n\nbudgets = \"budgets.csv\"\ncosts = \"costs.csv\"\n\n[fx]\npath = \"fx/eurofxref-hist.csv\"\n\n"
        );
        for client in clients {
            toml.push_str(&format!(
                "[[clients]]\nid = \"{}\"\nname = \"{}\"\ncurrency = \"{}\"\ntime_zone = \"{}\"\n\n",
                client.id, client.name, client.currency, client.time_zone
            ));
        }
        Self {
            files: Vec::new(),
            toml,
            ads_truth: String::from(
                "client_id,platform,month,currency_original,impressions,clicks,spend_original,spend,conversions,conversion_value_original,conversion_value\n",
            ),
            budgets: String::from("client_id,month,channel,campaign,planned_spend\n"),
            over_truth: String::from(
                "client_id,platform,month,platform_conversions,true_leads,restated_days_conversions_in_other_export\n",
            ),
            crm_truth: String::from("client_id,month,deals_won,revenue\n"),
            web_truth: String::from("client_id,sessions,leads\n"),
            journeys_truth: String::from(
                "client_id,person_key,conversion_type,conversion_ts,touches,first_channel,path\n",
            ),
        }
    }

    /// The exchange rates (ECB history file) the clients' amounts convert with.
    pub(crate) fn rates(&mut self, dir: &Path, rng: &mut SplitMix64) -> Result<fx::Rates> {
        let day0 = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
        let rates = fx::Rates::generate(
            day0 - chrono::Duration::days(10),
            day0 + chrono::Duration::days(95),
            rng,
        );
        let fx_dir = dir.join("fx");
        std::fs::create_dir_all(&fx_dir).map_err(io(&fx_dir))?;
        let fx_file = fx_dir.join("eurofxref-hist.csv");
        std::fs::write(&fx_file, rates.ecb_csv()).map_err(io(&fx_file))?;
        self.files.push(fx_file);
        Ok(rates)
    }

    /// The client's ad platforms' exports, their sources, budgets and ground truth.
    pub(crate) fn ads(
        &mut self,
        dir: &Path,
        client: &DemoClient,
        rates: &fx::Rates,
        platforms: &[(Platform, Vec<ads::AdRow>)],
    ) -> Result<()> {
        for (platform, rows) in platforms {
            self.ad_source(dir, client, *platform, rows)?;
        }
        // Per channel: March a little over what was spent, April up 15% (so the pacing view
        // shows a finished month and one still to come).
        let mut march: std::collections::BTreeMap<&str, f64> = Default::default();
        for (platform, rows) in platforms {
            let currency = ad_currency(client, *platform);
            for r in rows.iter().filter(|r| ads::month(r.date) == "2024-03") {
                *march.entry(platform.channel(r.campaign)).or_default() += rates
                    .convert(r.spend(), currency, client.currency, r.date)
                    .unwrap_or(0.0);
            }
        }
        for (channel, spent) in march {
            for (month, factor) in [("2024-03", 1.05), ("2024-04", 1.15)] {
                self.budgets.push_str(&format!(
                    "{},{month},{channel},,{:.0}\n",
                    client.id,
                    (spent * factor / 10.0).round() * 10.0
                ));
            }
        }
        for (platform, rows) in platforms {
            for month in ["2024-01", "2024-02", "2024-03"] {
                self.ads_month(client, rates, rows, ad_currency(client, *platform), month);
            }
        }
        Ok(())
    }

    /// One platform's export files and its `[[sources]]` entry.
    fn ad_source(
        &mut self,
        dir: &Path,
        client: &DemoClient,
        platform: Platform,
        rows: &[ads::AdRow],
    ) -> Result<()> {
        let (files, options) = match platform {
            Platform::GoogleAds => {
                let out = google_ads::write(dir, client, rows)?;
                (out.files, format!("path = \"{}\"", out.glob))
            }
            Platform::MetaAds => {
                let out = meta_ads::write(dir, client, rows)?;
                let options = format!(
                    "path = \"{}\", purchase_action_types = \"{}\"",
                    out.glob,
                    meta_ads::LEAD_ACTION
                );
                (out.files, options)
            }
            Platform::MicrosoftAds => {
                let out = microsoft_ads::write(dir, client, rows)?;
                (out.files, format!("path = \"{}\"", out.glob))
            }
            Platform::LinkedInAds => {
                let out = linkedin_ads::write(dir, client, rows)?;
                let options = format!(
                    "path = \"{}\", campaigns_path = \"{}\", currency = \"{}\"",
                    out.glob, out.campaigns, client.currency
                );
                (out.files, options)
            }
        };
        self.files.extend(files);
        self.toml.push_str(&format!(
            "[[sources]]\nconnector = \"{}\"\nclient_id = \"{}\"\noptions = {{ {options} }}\n\n",
            platform.name(),
            client.id
        ));
        Ok(())
    }

    /// One platform's month in the ads ground truth and the over-reporting table.
    fn ads_month(
        &mut self,
        client: &DemoClient,
        rates: &fx::Rates,
        rows: &[ads::AdRow],
        currency: &str,
        month: &str,
    ) {
        let in_month: Vec<&ads::AdRow> = rows
            .iter()
            .filter(|r| ads::month(r.date) == month)
            .collect();
        let Some(first) = in_month.first() else {
            return;
        };
        let platform = first.platform.name();
        let convert = |amount: f64, day| {
            rates
                .convert(amount, currency, client.currency, day)
                .unwrap_or(f64::NAN)
        };
        let sum = |f: &dyn Fn(&ads::AdRow) -> f64| in_month.iter().map(|r| f(r)).sum::<f64>();
        self.ads_truth.push_str(&format!(
            "{},{platform},{month},{currency},{},{},{:.6},{:.6},{:.4},{:.4},{:.6}\n",
            client.id,
            in_month.iter().map(|r| r.impressions).sum::<i64>(),
            in_month.iter().map(|r| r.clicks).sum::<i64>(),
            sum(&|r| r.spend()),
            sum(&|r| convert(r.spend(), r.date)),
            sum(&|r| r.conversions),
            sum(&|r| r.conversion_value()),
            sum(&|r| convert(r.conversion_value(), r.date)),
        ));
        self.over_truth.push_str(&format!(
            "{},{platform},{month},{:.2},{},{:.2}\n",
            client.id,
            sum(&|r| r.conversions),
            in_month.iter().map(|r| r.true_leads).sum::<u64>(),
            sum(&|r| r.conversions_other_export),
        ));
    }

    /// The client's web analytics export (GA4 or Snowplow) and its source; with a PostgreSQL
    /// server, Snowplow events are kept there as the Snowplow loader keeps them.
    pub(crate) fn web(
        &mut self,
        dir: &Path,
        client: &DemoClient,
        people: &[journeys::Person],
        postgres: Option<&PgTarget>,
    ) -> Result<()> {
        let (web_files, connector, glob) = match (client.web, postgres) {
            (Web::Ga4 { gzip, .. }, _) => (
                web::ga4(dir, &client.id, people, gzip)?,
                "ga4",
                format!(
                    "exports/{}/ga4/events_*.json{}",
                    client.id,
                    if gzip { ".gz" } else { "" }
                ),
            ),
            (Web::Snowplow, Some(target)) => {
                let schema = format!("loopql_demo_{}", client.id);
                let scratch = dir.join(format!(".loopql-demo-load-{}", client.id));
                let table = web::snowplow_table(&scratch, &client.id, people)?;
                pg::load(target, &schema, &[table])?;
                self.toml.push_str(&format!(
                    "[[sources]]\nconnector = \"snowplow\"\nclient_id = \"{}\"\n[sources.options]\nmode = \"postgres\"\n{}schema = \"{schema}\"\ntable = \"events\"\n\n",
                    client.id,
                    target.options_toml()
                ));
                return Ok(());
            }
            (Web::Snowplow, None) => (
                web::snowplow(dir, &client.id, people)?,
                "snowplow",
                format!("exports/{}/snowplow/*.tsv", client.id),
            ),
        };
        self.files.extend(web_files);
        self.toml.push_str(&format!(
            "[[sources]]\nconnector = \"{connector}\"\nclient_id = \"{}\"\noptions = {{ path = \"{glob}\" }}\n\n",
            client.id
        ));
        Ok(())
    }

    /// The client's CRM: HubSpot or Salesforce exports, or tables in PostgreSQL.
    pub(crate) fn crm(
        &mut self,
        dir: &Path,
        client: &DemoClient,
        people: &[journeys::Person],
        postgres: Option<&PgTarget>,
    ) -> Result<()> {
        let crm = match (client.crm, postgres) {
            (Crm::Postgres, None) => Crm::HubSpot,
            (crm, _) => crm,
        };
        match crm {
            Crm::Postgres => {
                let target = postgres
                    .ok_or_else(|| DemoError::Demo("a PostgreSQL CRM needs a server".into()))?;
                let schema = format!("loopql_demo_{}", client.id);
                pg::load(
                    target,
                    &schema,
                    &crm::postgres_tables(client.currency, people),
                )?;
                self.toml.push_str(&format!(
                    "[[sources]]\nconnector = \"postgres\"\nclient_id = \"{}\"\n[sources.options]\n{}schema = \"{schema}\"\n\n",
                    client.id,
                    target.options_toml()
                ));
            }
            Crm::HubSpot => {
                self.files
                    .extend(crm::hubspot(dir, &client.id, client.currency, people)?);
                let base = format!("exports/{}/hubspot", client.id);
                self.toml.push_str(&format!(
                    "[[sources]]\nconnector = \"hubspot\"\nclient_id = \"{}\"\noptions = {{ contacts_path = \"{base}/contacts.csv\", deals_path = \"{base}/deals.csv\", associations_path = \"{base}/deal_contacts.csv\" }}\n\n",
                    client.id
                ));
            }
            Crm::Salesforce => {
                self.files
                    .extend(crm::salesforce(dir, &client.id, client.currency, people)?);
                let base = format!("exports/{}/salesforce", client.id);
                self.toml.push_str(&format!(
                    "[[sources]]\nconnector = \"salesforce\"\nclient_id = \"{}\"\n[sources.options]\nlead_path = \"{base}/lead.csv\"\ncontact_path = \"{base}/contact.csv\"\nopportunity_path = \"{base}/opportunity.csv\"\nopportunity_contact_role_path = \"{base}/opportunity_contact_role.csv\"\ncampaign_path = \"{base}/campaign.csv\"\ncampaign_member_path = \"{base}/campaign_member.csv\"\n\n",
                    client.id
                ));
            }
        }
        Ok(())
    }

    /// The web and CRM ground truth of the client's people.
    pub(crate) fn truth(&mut self, client: &DemoClient, people: &[journeys::Person]) {
        for p in people {
            let webinar = (client.crm == Crm::Salesforce)
                .then(|| crm::webinar(p))
                .flatten();
            for j in journeys::conversion_journeys(p, webinar) {
                let channels: Vec<&str> = j.touches.iter().map(|t| t.1).collect();
                self.journeys_truth.push_str(&format!(
                    "{},{},{},{},{},{},{}\n",
                    client.id,
                    p.email,
                    j.kind,
                    j.at.format("%Y-%m-%dT%H:%M:%SZ"),
                    channels.len(),
                    channels.first().copied().unwrap_or(""),
                    channels.join(" > ")
                ));
            }
        }
        let truth = journeys::truth(people);
        self.web_truth.push_str(&format!(
            "{},{},{}\n",
            client.id, truth.sessions, truth.leads
        ));
        for (month, (won, revenue)) in &truth.won_by_month {
            self.crm_truth
                .push_str(&format!("{},{month},{won},{revenue:.2}\n", client.id));
        }
    }

    /// The project file, budgets, shipped reports, annotations and ground truth.
    pub(crate) fn finish(
        mut self,
        dir: &Path,
        project_file: PathBuf,
        clients: &[DemoClient],
    ) -> Result<DemoProject> {
        std::fs::write(&project_file, &self.toml).map_err(io(&project_file))?;
        let budgets_file = dir.join("budgets.csv");
        std::fs::write(&budgets_file, &self.budgets).map_err(io(&budgets_file))?;
        self.files.push(budgets_file);
        // CAC's costs besides media: an agency retainer and the sales team, per client and month.
        let mut costs = String::from("client_id,month,category,amount\n");
        for (i, client) in clients.iter().enumerate() {
            for month in ["2024-01", "2024-02", "2024-03"] {
                let size = 1.0 + (i % 3) as f64 * 0.5;
                costs.push_str(&format!(
                    "{},{month},marketing,{:.0}\n",
                    client.id,
                    1500.0 * size
                ));
                costs.push_str(&format!(
                    "{},{month},sales,{:.0}\n",
                    client.id,
                    4000.0 * size
                ));
            }
        }
        let costs_file = dir.join("costs.csv");
        std::fs::write(&costs_file, &costs).map_err(io(&costs_file))?;
        self.files.push(costs_file);
        self.files.extend(
            loopql_reports::write_shipped(&dir.join("reports"))
                .map_err(|e| DemoError::Demo(e.to_string()))?,
        );
        // Notes an account manager would have left: they show on the reports' charts.
        let notes_file = dir.join("annotations.csv");
        std::fs::write(&notes_file, DEMO_ANNOTATIONS).map_err(io(&notes_file))?;
        self.files.push(notes_file);
        let truth_dir = dir.join("ground_truth");
        std::fs::create_dir_all(&truth_dir).map_err(io(&truth_dir))?;
        for (name, text) in [
            ("ads_by_client_platform_month.csv", &self.ads_truth),
            ("platform_conversions_vs_crm_leads.csv", &self.over_truth),
            ("crm_won_by_client_month.csv", &self.crm_truth),
            ("web_by_client.csv", &self.web_truth),
            ("conversion_journeys.csv", &self.journeys_truth),
        ] {
            let path = truth_dir.join(name);
            std::fs::write(&path, text).map_err(io(&path))?;
            self.files.push(path);
        }
        Ok(DemoProject {
            dir: dir.to_path_buf(),
            project_file,
            files: self.files,
        })
    }
}

/// The currency `platform`'s account of `client` is billed in.
fn ad_currency(client: &DemoClient, platform: Platform) -> &'static str {
    match platform {
        Platform::GoogleAds => client.ads_currency,
        _ => client.currency,
    }
}
