//! Google Ads exports for one demo client, in the shape its [`ExportShape`] names.

use super::ads::AdRow;
use super::{DemoClient, ExportShape};
use crate::error::{DemoError, Result};
use chrono::Datelike;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Written {
    /// The source's `path` option, relative to the project folder.
    pub glob: String,
    pub files: Vec<PathBuf>,
}

/// Each campaign's `advertising_channel_type`, in `SEARCH_CAMPAIGNS` order (the channels
/// `Platform::channel` expects of them).
const CHANNEL_TYPES: [&str; 4] = ["SEARCH", "SEARCH", "SHOPPING", "PERFORMANCE_MAX"];

fn campaign_id(client: &DemoClient, r: &AdRow) -> i64 {
    client.customer_id % 100_000 * 10 + r.campaign as i64 + 1
}

/// Writes `rows` (Google Ads rows of one client) in the client's export shape.
pub fn write(dir: &Path, client: &DemoClient, rows: &[AdRow]) -> Result<Written> {
    let folder = super::sinks::export_folder(dir, &client.id, "google_ads")?;
    let mut files = Vec::new();
    let by_month = |m: u32| rows.iter().filter(move |r| r.date.month() == m);
    let glob = match client.export {
        ExportShape::MonthlyCsv => {
            for m in 1..=3 {
                let path = folder.join(format!("campaign_stats_2024-{m:02}.csv"));
                save(&path, csv(client, by_month(m)).as_bytes(), false)?;
                files.push(path);
            }
            "*.csv"
        }
        ExportShape::GzipCsv => {
            let path = folder.join("campaign_stats_2024-q1.csv.gz");
            save(&path, csv(client, rows.iter()).as_bytes(), true)?;
            files.push(path);
            "*.csv.gz"
        }
        ExportShape::SearchStreamJson => {
            for m in 1..=3 {
                let path = folder.join(format!("search_stream_2024-{m:02}.json"));
                save(&path, search_stream(client, by_month(m)).as_bytes(), false)?;
                files.push(path);
            }
            "*.json"
        }
    };
    Ok(Written {
        glob: format!("exports/{}/google_ads/{glob}", client.id),
        files,
    })
}

fn csv<'a>(client: &DemoClient, rows: impl Iterator<Item = &'a AdRow>) -> String {
    let mut out = String::from(
        "segments.date,customer.id,customer.currency_code,campaign.id,campaign.name,campaign.advertising_channel_type,metrics.impressions,metrics.clicks,metrics.cost_micros,metrics.conversions,metrics.conversions_value\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r.date,
            client.customer_id,
            client.ads_currency,
            campaign_id(client, r),
            r.campaign_name,
            CHANNEL_TYPES[r.campaign],
            r.impressions,
            r.clicks,
            r.cost_cents * 10_000,
            r.conversions,
            r.conversion_value()
        ));
    }
    out
}

fn search_stream<'a>(client: &DemoClient, rows: impl Iterator<Item = &'a AdRow>) -> String {
    use serde_json::{Map, Value, json};
    let rows: Vec<&AdRow> = rows.collect();
    let batches: Vec<Value> = rows
        .chunks(100)
        .map(|chunk| {
            let results: Vec<Value> = chunk
                .iter()
                .map(|r| {
                    // The REST mapping writes int64 as strings and omits zero metrics.
                    let mut metrics = Map::new();
                    let mut put = |k: &str, v: Value, zero: bool| {
                        if !zero {
                            metrics.insert(k.to_string(), v);
                        }
                    };
                    put("impressions", json!(r.impressions.to_string()), r.impressions == 0);
                    put("clicks", json!(r.clicks.to_string()), r.clicks == 0);
                    let micros = r.cost_cents * 10_000;
                    put("costMicros", json!(micros.to_string()), micros == 0);
                    put("conversions", json!(r.conversions), r.conversions == 0.0);
                    let value = r.conversion_value();
                    put("conversionsValue", json!(value), value == 0.0);
                    json!({
                        "customer": {
                            "resourceName": format!("customers/{}", client.customer_id),
                            "id": client.customer_id.to_string(),
                            "currencyCode": client.ads_currency,
                        },
                        "campaign": {
                            "resourceName": format!("customers/{}/campaigns/{}", client.customer_id, campaign_id(client, r)),
                            "id": campaign_id(client, r).to_string(),
                            "name": r.campaign_name,
                            "advertisingChannelType": CHANNEL_TYPES[r.campaign],
                        },
                        "metrics": metrics,
                        "segments": { "date": r.date.to_string() },
                    })
                })
                .collect();
            json!({
                "results": results,
                "fieldMask": "segments.date,customer.id,customer.currencyCode,campaign.id,campaign.name,campaign.advertisingChannelType,metrics.impressions,metrics.clicks,metrics.costMicros,metrics.conversions,metrics.conversionsValue",
                "requestId": "demo",
            })
        })
        .collect();
    serde_json::to_string_pretty(&batches).unwrap_or_default()
}

pub fn save(path: &Path, bytes: &[u8], gzip: bool) -> Result<()> {
    let io = |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    };
    if gzip {
        let file = std::fs::File::create(path).map_err(io)?;
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        enc.write_all(bytes).map_err(io)?;
        enc.finish().map_err(io)?;
        Ok(())
    } else {
        std::fs::write(path, bytes).map_err(io)
    }
}
