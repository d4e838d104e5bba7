//! Google Ads exports for one demo client, in the shape its [`ExportShape`] names.

use super::{DemoClient, ExportShape, SplitMix64};
use crate::error::{EngineError, Result};
use chrono::{Datelike, NaiveDate};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Monthly totals as written, in the account's currency.
#[derive(Debug, Default, Clone)]
pub struct MonthTotals {
    pub month: String,
    pub impressions: i64,
    pub clicks: i64,
    pub spend: f64,
    pub conversions: f64,
    pub conversion_value: f64,
}

pub struct Written {
    /// The source's `path` option, relative to the project folder.
    pub glob: String,
    pub files: Vec<PathBuf>,
    pub months: Vec<MonthTotals>,
    /// (day, cost in micros, conversion value) per day, summed over campaigns.
    pub daily: Vec<(NaiveDate, i64, f64)>,
}

struct Row {
    date: NaiveDate,
    campaign_id: i64,
    campaign_name: &'static str,
    channel: &'static str,
    impressions: i64,
    clicks: i64,
    cost_micros: i64,
    conversions: f64,
    value: f64,
}

const CAMPAIGNS: [(&str, &str, f64, f64, f64); 4] = [
    // name, channel type, daily impressions, CTR, CPC
    ("Brand - Exact", "SEARCH", 1800.0, 0.12, 0.45),
    ("Generic - Broad", "SEARCH", 5200.0, 0.045, 1.35),
    (
        "PMax - All Products",
        "PERFORMANCE_MAX",
        9000.0,
        0.018,
        0.80,
    ),
    ("Display - Remarketing", "DISPLAY", 22000.0, 0.004, 0.55),
];

pub const FIRST_DAY: (i32, u32, u32) = (2024, 1, 1);
pub const DAYS: i64 = 91;

pub fn write(dir: &Path, client: &DemoClient, rng: &mut SplitMix64) -> Result<Written> {
    let start = NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).unwrap_or_default();
    let mut rows = Vec::new();
    for day in 0..DAYS {
        let date = start + chrono::Duration::days(day);
        let weekday = date.weekday().num_days_from_monday();
        let weekly = if weekday >= 5 {
            0.7
        } else {
            1.0 + 0.05 * f64::from(weekday)
        };
        for (k, (name, channel, base, ctr, cpc)) in CAMPAIGNS.iter().enumerate() {
            let impressions = (base * weekly * rng.range(0.8, 1.2)).round() as i64;
            let clicks = (impressions as f64 * ctr * rng.range(0.85, 1.15)).round() as i64;
            // Costs land on whole cents, as the platform bills them.
            let cost_micros =
                ((clicks as f64 * cpc * rng.range(0.9, 1.1)) * 100.0).round() as i64 * 10_000;
            let conversions =
                ((clicks as f64 * 0.04 * rng.range(0.5, 1.5)) * 100.0).round() / 100.0;
            let value = (conversions * rng.range(60.0, 140.0) * 100.0).round() / 100.0;
            rows.push(Row {
                date,
                campaign_id: client.customer_id % 100_000 * 10 + k as i64 + 1,
                campaign_name: name,
                channel,
                impressions,
                clicks,
                cost_micros,
                conversions,
                value,
            });
        }
    }

    let folder = dir.join("exports").join(client.id).join("google_ads");
    std::fs::create_dir_all(&folder).map_err(|source| EngineError::Io {
        path: folder.clone(),
        source,
    })?;
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

    let mut months: Vec<MonthTotals> = Vec::new();
    for m in 1..=3u32 {
        let mut t = MonthTotals {
            month: format!("2024-{m:02}"),
            ..Default::default()
        };
        let mut micros = 0i64;
        for r in by_month(m) {
            t.impressions += r.impressions;
            t.clicks += r.clicks;
            micros += r.cost_micros;
            t.conversions += r.conversions;
            t.conversion_value += r.value;
        }
        t.spend = micros as f64 / 1e6;
        months.push(t);
    }
    let mut daily: Vec<(NaiveDate, i64, f64)> = Vec::new();
    for r in &rows {
        match daily.last_mut() {
            Some(d) if d.0 == r.date => {
                d.1 += r.cost_micros;
                d.2 += r.value;
            }
            _ => daily.push((r.date, r.cost_micros, r.value)),
        }
    }
    Ok(Written {
        glob: format!("exports/{}/google_ads/{glob}", client.id),
        files,
        months,
        daily,
    })
}

fn csv<'a>(client: &DemoClient, rows: impl Iterator<Item = &'a Row>) -> String {
    let mut out = String::from(
        "segments.date,customer.id,customer.currency_code,campaign.id,campaign.name,campaign.advertising_channel_type,metrics.impressions,metrics.clicks,metrics.cost_micros,metrics.conversions,metrics.conversions_value\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r.date,
            client.customer_id,
            client.ads_currency,
            r.campaign_id,
            r.campaign_name,
            r.channel,
            r.impressions,
            r.clicks,
            r.cost_micros,
            r.conversions,
            r.value
        ));
    }
    out
}

fn search_stream<'a>(client: &DemoClient, rows: impl Iterator<Item = &'a Row>) -> String {
    use serde_json::{Map, Value, json};
    let rows: Vec<&Row> = rows.collect();
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
                    put("costMicros", json!(r.cost_micros.to_string()), r.cost_micros == 0);
                    put("conversions", json!(r.conversions), r.conversions == 0.0);
                    put("conversionsValue", json!(r.value), r.value == 0.0);
                    json!({
                        "customer": {
                            "resourceName": format!("customers/{}", client.customer_id),
                            "id": client.customer_id.to_string(),
                            "currencyCode": client.ads_currency,
                        },
                        "campaign": {
                            "resourceName": format!("customers/{}/campaigns/{}", client.customer_id, r.campaign_id),
                            "id": r.campaign_id.to_string(),
                            "name": r.campaign_name,
                            "advertisingChannelType": r.channel,
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
    let io = |source| EngineError::Io {
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
