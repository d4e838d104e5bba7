//! Meta Ads exports for one demo client: Insights API response pages (`{"data": [...],
//! "paging": {...}}`, numbers as strings, results in `actions[]` / `action_values[]`), one page
//! per line, one file per month — what a script paging through `GET /act_<id>/insights` saves.

use super::DemoClient;
use super::ads::AdRow;
use super::google_ads::save;
use crate::error::Result;
use chrono::Datelike;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The pixel event the demo advertisers optimise for; the demo project counts it as the
/// conversion (`purchase_action_types`).
pub const LEAD_ACTION: &str = "offsite_conversion.fb_pixel_lead";

const PAGE_SIZE: usize = 50;

pub struct Written {
    /// The source's `path` option, relative to the project folder.
    pub glob: String,
    pub files: Vec<PathBuf>,
}

pub fn account_id(client: &DemoClient) -> String {
    format!("{}", 10_000_000 + client.customer_id % 1_000_000)
}

fn row(client: &DemoClient, r: &AdRow) -> Value {
    let account = account_id(client);
    let link_clicks = r.clicks;
    // All clicks (likes, profile views, ...) exceed link clicks.
    let all_clicks = r.clicks + r.clicks / 4;
    let mut actions = vec![json!({"action_type": "link_click", "value": link_clicks.to_string()})];
    let mut values = Vec::new();
    if r.conversions > 0.0 {
        let n = format!("{}", r.conversions);
        actions.push(json!({"action_type": LEAD_ACTION, "value": n, "7d_click": n}));
        values.push(
            json!({"action_type": LEAD_ACTION, "value": format!("{:.2}", r.conversion_value())}),
        );
    }
    let day = r.date.to_string();
    let mut out = json!({
        "account_id": account,
        "account_currency": client.currency,
        "campaign_id": format!("238{account}{}", r.campaign + 1),
        "campaign_name": r.campaign_name,
        "date_start": day,
        "date_stop": day,
        "impressions": r.impressions.to_string(),
        "clicks": all_clicks.to_string(),
        "inline_link_clicks": link_clicks.to_string(),
        "spend": format!("{:.2}", r.spend()),
        "actions": actions,
    });
    // The API leaves `action_values` out when there are none.
    if !values.is_empty() {
        out["action_values"] = Value::Array(values);
    }
    out
}

/// Writes `rows` (Meta rows of one client) as monthly files of response pages.
pub fn write(dir: &Path, client: &DemoClient, rows: &[AdRow]) -> Result<Written> {
    let folder = super::sinks::export_folder(dir, &client.id, "meta_ads")?;
    let mut files = Vec::new();
    for m in 1..=3u32 {
        let month: Vec<Value> = rows
            .iter()
            .filter(|r| r.date.month() == m)
            .map(|r| row(client, r))
            .collect();
        let pages: Vec<&[Value]> = month.chunks(PAGE_SIZE).collect();
        let mut text = String::new();
        for (i, page) in pages.iter().enumerate() {
            let after = format!("QVFI{m}x{}", i + 1);
            let mut paging = json!({"cursors": {"before": format!("QVFI{m}x{i}"), "after": after}});
            if i + 1 < pages.len() {
                paging["next"] = json!(format!(
                    "https://graph.facebook.com/v19.0/act_{}/insights?level=campaign&time_increment=1&after={after}",
                    account_id(client)
                ));
            }
            text.push_str(&json!({"data": page, "paging": paging}).to_string());
            text.push('\n');
        }
        let path = folder.join(format!("insights_2024-{m:02}.json"));
        save(&path, text.as_bytes(), false)?;
        files.push(path);
    }
    Ok(Written {
        glob: format!("exports/{}/meta_ads/insights_*.json", client.id),
        files,
    })
}
