//! Microsoft Advertising exports for one demo client: campaign performance reports (daily), one
//! per month, as the Reporting API's CSV download writes them — the `Report Name` / `Report
//! Time` / `Time Zone` preamble, quoted cells, US dates, and the copyright footer.

use super::DemoClient;
use super::ads::AdRow;
use super::google_ads::save;
use crate::error::Result;
use chrono::Datelike;
use std::path::{Path, PathBuf};

pub struct Written {
    /// The source's `path` option, relative to the project folder.
    pub glob: String,
    pub files: Vec<PathBuf>,
}

fn account_id(client: &DemoClient) -> i64 {
    150_000_000 + client.customer_id % 1_000_000
}

fn report(client: &DemoClient, month: u32, rows: &[&AdRow]) -> String {
    let last = rows.iter().map(|r| r.date.day()).max().unwrap_or(1);
    let mut out = format!(
        "\"Report Name: Campaign performance\"\n\"Report Time: {month}/1/2024 - {month}/{last}/2024\"\n\"Time Zone: (GMT) Dublin, Edinburgh, Lisbon, London\"\n\n"
    );
    out.push_str("\"TimePeriod\",\"AccountId\",\"AccountName\",\"CampaignId\",\"CampaignName\",\"CurrencyCode\",\"Impressions\",\"Clicks\",\"Spend\",\"Conversions\",\"Revenue\"\n");
    let account = account_id(client);
    for r in rows {
        out.push_str(&format!(
            "\"{}/{}/{}\",\"{account}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{:.2}\",\"{}\",\"{:.2}\"\n",
            r.date.month(),
            r.date.day(),
            r.date.year(),
            client.name,
            account * 10 + r.campaign as i64 + 1,
            r.campaign_name,
            client.currency,
            r.impressions,
            r.clicks,
            r.spend(),
            r.conversions,
            r.conversion_value(),
        ));
    }
    out.push_str("\"©2024 Microsoft Corporation. All rights reserved. \"\n");
    out
}

/// Writes `rows` (Microsoft Advertising rows of one client, in its reporting currency) as one
/// report per month.
pub fn write(dir: &Path, client: &DemoClient, rows: &[AdRow]) -> Result<Written> {
    let folder = super::sinks::export_folder(dir, &client.id, "microsoft_ads")?;
    let mut files = Vec::new();
    for m in 1..=3u32 {
        let month: Vec<&AdRow> = rows.iter().filter(|r| r.date.month() == m).collect();
        let path = folder.join(format!("campaign_performance_2024-{m:02}.csv"));
        save(&path, report(client, m, &month).as_bytes(), false)?;
        files.push(path);
    }
    Ok(Written {
        glob: format!(
            "exports/{}/microsoft_ads/campaign_performance_*.csv",
            client.id
        ),
        files,
    })
}
