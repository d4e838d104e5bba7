//! LinkedIn Ads exports for one demo client: `adAnalytics` responses (`pivot=CAMPAIGN`,
//! `timeGranularity=DAILY`; costs as strings, dates as `{year, month, day}`), one page per line
//! and one file per month, plus the `adCampaigns` search response that names the campaigns.

use super::DemoClient;
use super::ads::AdRow;
use super::google_ads::save;
use crate::error::Result;
use chrono::Datelike;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const PAGE_SIZE: usize = 100;

pub struct Written {
    /// The source's `path` option, relative to the project folder.
    pub glob: String,
    /// The source's `campaigns_path` option.
    pub campaigns: String,
    pub files: Vec<PathBuf>,
}

fn account_id(client: &DemoClient) -> i64 {
    500_000_000 + client.customer_id % 1_000_000
}

fn campaign_id(client: &DemoClient, campaign: usize) -> i64 {
    account_id(client) % 1_000_000 * 100 + campaign as i64 + 1
}

fn element(client: &DemoClient, r: &AdRow) -> Value {
    let day = json!({"year": r.date.year(), "month": r.date.month(), "day": r.date.day()});
    json!({
        "pivotValues": [format!("urn:li:sponsoredCampaign:{}", campaign_id(client, r.campaign))],
        "dateRange": {"start": day, "end": day},
        "impressions": r.impressions,
        "clicks": r.clicks,
        "costInLocalCurrency": format!("{:.2}", r.spend()),
        "externalWebsiteConversions": r.conversions as i64,
        "oneClickLeads": 0,
        "conversionValueInLocalCurrency": format!("{:.2}", r.conversion_value()),
    })
}

/// Writes `rows` (LinkedIn rows of one client, in its reporting currency) as monthly files of
/// adAnalytics pages, and the campaigns file.
pub fn write(dir: &Path, client: &DemoClient, rows: &[AdRow]) -> Result<Written> {
    let folder = super::sinks::export_folder(dir, &client.id, "linkedin_ads")?;
    let mut files = Vec::new();
    for m in 1..=3u32 {
        let month: Vec<Value> = rows
            .iter()
            .filter(|r| r.date.month() == m)
            .map(|r| element(client, r))
            .collect();
        let total = month.len();
        let mut text = String::new();
        for (i, page) in month.chunks(PAGE_SIZE).enumerate() {
            let paging =
                json!({"start": i * PAGE_SIZE, "count": PAGE_SIZE, "total": total, "links": []});
            text.push_str(&json!({"paging": paging, "elements": page}).to_string());
            text.push('\n');
        }
        let path = folder.join(format!("ad_analytics_2024-{m:02}.json"));
        save(&path, text.as_bytes(), false)?;
        files.push(path);
    }
    let mut campaigns: Vec<(usize, &str)> =
        rows.iter().map(|r| (r.campaign, r.campaign_name)).collect();
    campaigns.sort_unstable();
    campaigns.dedup();
    let elements: Vec<Value> = campaigns
        .iter()
        .map(|(k, name)| {
            json!({
                "id": campaign_id(client, *k),
                "name": name,
                "account": format!("urn:li:sponsoredAccount:{}", account_id(client)),
                "status": "ACTIVE",
            })
        })
        .collect();
    let path = folder.join("ad_campaigns.json");
    let body = json!({"paging": {"start": 0, "count": elements.len(), "total": elements.len()}, "elements": elements});
    save(&path, body.to_string().as_bytes(), false)?;
    files.push(path);
    Ok(Written {
        glob: format!("exports/{}/linkedin_ads/ad_analytics_*.json", client.id),
        campaigns: format!("exports/{}/linkedin_ads/ad_campaigns.json", client.id),
        files,
    })
}
