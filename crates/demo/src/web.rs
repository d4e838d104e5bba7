//! The journeys as web analytics saw them: GA4 BigQuery export (daily NDJSON files) or Snowplow
//! atomic events (monthly TSV).

use super::journeys::{Person, Touch};
use super::sinks::Sinks;
use crate::error::Result;
use crate::pg;
use chrono::{Datelike, Duration, NaiveDateTime};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn landing(domain: &str, touch: Touch, gclid: &str) -> String {
    let mut url = format!("https://{domain}/");
    let mut query = Vec::new();
    if let Some((s, m, c)) = touch.utm() {
        query.push(format!("utm_source={s}&utm_medium={m}"));
        if !c.is_empty() {
            query.push(format!("utm_campaign={}", c.replace(' ', "+")));
        }
    }
    if touch.has_gclid() {
        query.push(format!("gclid={gclid}"));
    } else if matches!(touch, Touch::Bing { .. }) {
        // Microsoft's auto-tagging: the click id rides along with the UTMs.
        query.push(format!("msclkid={}", gclid.replacen("Cj0K", "ms", 1)));
    }
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    url
}

/// GA4 export: one `events_YYYYMMDD.json` file per day (gzipped when `gzip`). Returns the files.
pub fn ga4(dir: &Path, client_id: &str, people: &[Person], gzip: bool) -> Result<Vec<PathBuf>> {
    let mut files = Sinks::new(dir.join("exports").join(client_id).join("ga4"), gzip, "")?;
    let domain = format!("www.{client_id}.example");
    for p in people {
        for (k, s) in p.sessions.iter().enumerate() {
            let session_id = micros(s.start) / 1_000_000;
            let gclid = format!("Cj0K{}x{k}", p.index);
            let user_id = if s.identified {
                json!(p.email)
            } else {
                Value::Null
            };
            let cts = match (s.touch.utm(), s.touch.has_gclid()) {
                (Some((src, med, camp)), paid) => json!({
                    "manual_source": src, "manual_medium": med,
                    "manual_campaign_name": if camp.is_empty() { Value::Null } else { json!(camp) },
                    "gclid": if paid { json!(gclid) } else { Value::Null },
                }),
                (None, true) => {
                    json!({"manual_source": null, "manual_medium": null, "gclid": gclid})
                }
                (None, false) => Value::Null,
            };
            let param = |key: &str, value: Value| json!({"key": key, "value": value});
            let event = |at: NaiveDateTime, name: &str, params: Vec<Value>, ecommerce: Value| {
                json!({
                    "event_date": format!("{:04}{:02}{:02}", at.year(), at.month(), at.day()),
                    "event_timestamp": micros(at).to_string(),
                    "event_name": name,
                    "event_params": params,
                    "user_id": user_id,
                    "user_pseudo_id": p.pseudo_id,
                    "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
                    "collected_traffic_source": cts,
                    "device": {"category": if p.index % 3 == 0 { "mobile" } else { "desktop" }},
                    "geo": {"country": "United States"},
                    "ecommerce": ecommerce,
                })
            };
            let mut lines = Vec::new();
            let session_param = param(
                "ga_session_id",
                json!({"int_value": session_id.to_string()}),
            );
            lines.push(event(
                s.start,
                "session_start",
                vec![
                    session_param.clone(),
                    param(
                        "page_location",
                        json!({"string_value": landing(&domain, s.touch, &gclid)}),
                    ),
                ],
                Value::Null,
            ));
            for page in 0..s.pages {
                let at = s.start + Duration::seconds(5 + 40 * i64::from(page));
                let mut params = vec![
                    session_param.clone(),
                    param(
                        "page_location",
                        json!({"string_value": format!("https://{domain}/p{page}")}),
                    ),
                ];
                if s.engaged {
                    params.push(param("session_engaged", json!({"string_value": "1"})));
                }
                lines.push(event(at, "page_view", params, Value::Null));
            }
            if let Some(revenue) = s.purchase {
                let at = s.start + Duration::seconds(30 + 40 * i64::from(s.pages));
                lines.push(event(
                    at,
                    "purchase",
                    vec![session_param.clone()],
                    json!({"transaction_id": format!("T{}-{k}", p.index), "purchase_revenue": revenue.to_string()}),
                ));
            }
            let day = format!(
                "{:04}{:02}{:02}",
                s.start.year(),
                s.start.month(),
                s.start.day()
            );
            let mut text = String::new();
            for l in lines {
                text.push_str(&l.to_string());
                text.push('\n');
            }
            files.write(&format!("events_{day}.json"), &text)?;
        }
    }
    files.finish()
}

const SNOWPLOW_HEADER: &str = "event_id\tderived_tstamp\tevent_name\tuser_id\tdomain_userid\tdomain_sessionid\tpage_url\trefr_medium\trefr_source\tmkt_medium\tmkt_source\tmkt_campaign\tmkt_clickid\ttr_orderid\ttr_total\n";

/// Snowplow atomic events with a header, one TSV per month.
pub fn snowplow(dir: &Path, client_id: &str, people: &[Person]) -> Result<Vec<PathBuf>> {
    snowplow_into(
        dir.join("exports").join(client_id).join("snowplow"),
        client_id,
        people,
    )
}

/// The same events as the Snowplow loader keeps them in PostgreSQL: an `events` table shaped
/// like its `atomic.events` (the loader's column types, more columns than the demo fills),
/// indexed on `derived_tstamp`. `scratch` holds the monthly files while they are read.
pub fn snowplow_table(scratch: &Path, client_id: &str, people: &[Person]) -> Result<pg::Table> {
    let files = snowplow_into(scratch.to_path_buf(), client_id, people)?;
    let mut rows = String::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(crate::io(f))?;
        rows.push_str(text.split_once('\n').map_or("", |(_, rest)| rest));
    }
    std::fs::remove_dir_all(scratch).map_err(crate::io(scratch))?;
    Ok(pg::Table {
        name: "events",
        columns: "app_id varchar(255), platform varchar(255), collector_tstamp timestamp, \
                  derived_tstamp timestamp NOT NULL, event_id char(36) NOT NULL, \
                  event_name varchar(1000), user_id varchar(255), domain_userid varchar(128), \
                  domain_sessionidx smallint, domain_sessionid char(128), page_url text, \
                  page_referrer text, refr_medium varchar(25), refr_source varchar(50), \
                  mkt_medium varchar(255), mkt_source varchar(255), mkt_term varchar(255), \
                  mkt_content varchar(500), mkt_campaign varchar(255), mkt_clickid varchar(128), \
                  mkt_network varchar(64), tr_orderid varchar(255), tr_total decimal(18, 2), \
                  tr_currency char(3)",
        csv: rows,
        copy: Some(
            "(event_id, derived_tstamp, event_name, user_id, domain_userid, domain_sessionid, \
             page_url, refr_medium, refr_source, mkt_medium, mkt_source, mkt_campaign, \
             mkt_clickid, tr_orderid, tr_total) FROM STDIN (FORMAT csv, DELIMITER E'\\t')",
        ),
        after: "CREATE INDEX ON {table} (derived_tstamp); ANALYZE {table}",
    })
}

fn snowplow_into(folder: PathBuf, client_id: &str, people: &[Person]) -> Result<Vec<PathBuf>> {
    let mut files = Sinks::new(folder, false, SNOWPLOW_HEADER)?;
    let domain = format!("www.{client_id}.example");
    let mut n = 0u64;
    for p in people {
        for (k, s) in p.sessions.iter().enumerate() {
            let mut text = String::new();
            let session = format!("{}-{k}", p.pseudo_id);
            let user = if s.identified { p.email.as_str() } else { "" };
            let (mkt_s, mkt_m, mkt_c) = match s.touch {
                Touch::OrganicSearch | Touch::Referral | Touch::Direct => ("", "", ""),
                t => t.utm().unwrap_or(("", "", "")),
            };
            let (refr_m, refr_s) = match s.touch {
                Touch::OrganicSearch => ("search", "Google"),
                Touch::Referral => ("unknown", "partner-blog.example"),
                _ => ("", ""),
            };
            let click = if s.touch.has_gclid() {
                format!("Cj0K{}x{k}", p.index)
            } else {
                String::new()
            };
            let (mkt_m, mkt_s) = if s.touch.has_gclid() && mkt_s.is_empty() {
                ("", "")
            } else {
                (mkt_m, mkt_s)
            };
            let mut line = |at: NaiveDateTime,
                            name: &str,
                            first: bool,
                            order: &str,
                            total: &str| {
                n += 1;
                let (rm, rs, mm, ms, mc, ck) = if first {
                    (refr_m, refr_s, mkt_m, mkt_s, mkt_c, click.as_str())
                } else {
                    ("", "", "", "", "", "")
                };
                text.push_str(&format!(
                    "ev{n}\t{}\t{name}\t{user}\t{}\t{session}\thttps://{domain}/\t{rm}\t{rs}\t{mm}\t{ms}\t{mc}\t{ck}\t{order}\t{total}\n",
                    at.format("%Y-%m-%d %H:%M:%S%.3f"),
                    p.pseudo_id
                ));
            };
            for page in 0..s.pages {
                line(
                    s.start + Duration::seconds(40 * i64::from(page)),
                    "page_view",
                    page == 0,
                    "",
                    "",
                );
            }
            if s.engaged {
                line(s.start + Duration::seconds(12), "page_ping", false, "", "");
            }
            if let Some(total) = s.purchase {
                line(
                    s.start + Duration::seconds(300),
                    "transaction",
                    false,
                    &format!("O{}-{k}", p.index),
                    &total.to_string(),
                );
            }
            let month = format!("{:04}-{:02}", s.start.year(), s.start.month());
            files.write(&format!("atomic_events_{month}.tsv"), &text)?;
        }
    }
    files.finish()
}
