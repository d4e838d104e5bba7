//! An agency's project at 3, 15 and 50 clients over the same export files (the 50-client demo;
//! the smaller projects are its first clients): engine open time, a KPI query over one client
//! and over all of them, the attribution views, and the sync — over the connectors and over the
//! synced warehouse. What must hold: cost grows no faster than the data read (the bytes of the
//! clients' exports), and a one-client query costs the same whatever the number of clients
//! (sources pruned by `client_id` before any plugin call). The peer is the 3-client project: its
//! answers for the client they share must equal the bigger projects' answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use datafusion::arrow::util::pretty::pretty_format_batches;
use loopql_benches as common;
use loopql_core::project::Location;
use loopql_core::{EngineBuilder, Project};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const COUNTS: [usize; 3] = [3, 15, 50];
const RUNS: usize = 5;

/// Monthly paid-media KPIs (spend, clicks, attributed leads and revenue) per client and channel.
const KPI: &str = "SELECT client_id, channel, CAST(period_start AS VARCHAR) AS month, \
    round(sum(spend), 6) AS spend, sum(clicks) AS clicks, round(sum(leads), 6) AS leads, \
    round(sum(revenue), 6) AS revenue FROM kpi_paid_media WHERE period = 'month' {and} \
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
/// The demo's first query (ad platforms only): what a live engine reads through the plugins.
const ADS: &str = "SELECT client_id, CAST(date_trunc('month', date) AS DATE) AS month, \
    round(sum(spend), 6) AS spend, sum(clicks) AS clicks FROM ad_performance {where} \
    GROUP BY 1, 2 ORDER BY 1, 2";
/// Credits per client, model and channel from the attribution view (all models).
const ATTRIBUTION: &str = "SELECT client_id, model, channel, round(sum(conversions), 6) AS conversions, \
    round(sum(value), 6) AS value FROM attribution_by_channel {where} \
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

fn one_client(sql: &str, one: bool) -> String {
    let (and, wher) = if one {
        ("AND client_id = 'acme'", "WHERE client_id = 'acme'")
    } else {
        ("", "")
    };
    sql.replace("{and}", and).replace("{where}", wher)
}

/// Bytes of the export files of `clients`.
fn export_bytes(dir: &Path, clients: &[String]) -> u64 {
    fn walk(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| {
                        let path = e.unwrap().path();
                        if path.is_dir() {
                            walk(&path)
                        } else {
                            path.metadata().unwrap().len()
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    clients
        .iter()
        .map(|c| walk(&dir.join("exports").join(c)))
        .sum()
}

/// The median of `RUNS` timings of `f`.
async fn median<F, Fut, T>(mut f: F) -> (Duration, T)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let out = f().await;
        times.push(started.elapsed());
        last = Some(out);
    }
    times.sort();
    (times[RUNS / 2], last.unwrap())
}

/// The median time of `sql` alone, each run in an engine from `builder` opened just before (so
/// no credits cache helps), and its answer as text.
async fn query(builder: &EngineBuilder, sql: &str) -> (Duration, String) {
    let mut times = Vec::new();
    let mut batches = Vec::new();
    for _ in 0..RUNS {
        let engine = builder.open().await.unwrap();
        let started = Instant::now();
        batches = engine.collect(sql).await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    let time = times[RUNS / 2];
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert!(rows > 0, "{sql}: no rows");
    (time, pretty_format_batches(&batches).unwrap().to_string())
}

/// One project size's measurements.
#[derive(Debug, Default)]
struct Size {
    clients: usize,
    sources: usize,
    bytes: u64,
    times: Vec<(&'static str, bool, Duration)>,
}

#[tokio::main]
async fn main() {
    let scale = common::scale(1.0);
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join(format!("bench-clients-50-scale-{scale}"));
    if !dir.join(".complete").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let started = Instant::now();
        let options = loopql_demo::Options {
            clients: 50,
            ..loopql_demo::Options::new(7, scale)
        };
        loopql_demo::write(&dir, &options).unwrap();
        std::fs::write(dir.join(".complete"), b"").unwrap();
        println!(
            "generated the 50-client demo at scale {scale} in {:.0?}",
            started.elapsed()
        );
    }
    let full = Project::load(&dir.join("loopql.toml")).unwrap();
    assert_eq!(full.clients.len(), 50);

    let mut sizes = Vec::new();
    let mut acme_answers: Vec<(&str, String)> = Vec::new();
    for n in COUNTS {
        let ids: Vec<String> = full.clients[..n].iter().map(|c| c.id.clone()).collect();
        let mut project = full.for_clients(&ids).unwrap();
        let warehouse = dir.join(format!("warehouse-{n}"));
        let _ = std::fs::remove_dir_all(&warehouse);
        project.warehouse = Location::Local(warehouse);
        let mut size = Size {
            clients: n,
            sources: project.sources.len(),
            bytes: export_bytes(&dir, &ids),
            ..Size::default()
        };
        let mut note = |name: &'static str, one: bool, t: Duration| size.times.push((name, one, t));

        // Over the connectors: opening (plugin discovery, 6 × n sources bound), the ads rollup.
        let (open, _) =
            median(|| async { EngineBuilder::live(project.clone()).open().await.unwrap() }).await;
        note("open, over the connectors", false, open);
        let live = EngineBuilder::live(project.clone());
        for one in [true, false] {
            let sql = one_client(ADS, one);
            let (t, answer) = query(&live, &sql).await;
            note("ad_performance by month, over the connectors", one, t);
            if one {
                acme_answers.push(("ads", answer));
            }
        }

        // The sync, then the same over the warehouse.
        let started = Instant::now();
        loopql_warehouse::sync(&project, &loopql_warehouse::SyncOptions::default())
            .await
            .unwrap();
        note("sync (first, whole)", false, started.elapsed());
        let synced = EngineBuilder::new(project.clone(), Arc::new(loopql_warehouse::Auto));
        let (open, _) = median(|| async { synced.open().await.unwrap() }).await;
        note("open, over the warehouse", false, open);
        for (name, sql) in [
            ("kpi_paid_media by month, over the warehouse", KPI),
            ("attribution_by_channel, over the warehouse", ATTRIBUTION),
        ] {
            for one in [true, false] {
                let (t, answer) = query(&synced, &one_client(sql, one)).await;
                note(name, one, t);
                if one {
                    acme_answers.push((name, answer));
                }
            }
        }
        println!(
            "{n} clients: {} sources, {:.1} MB of exports, measured",
            size.sources,
            size.bytes as f64 / 1e6
        );
        sizes.push(size);
    }

    // Same answers first: acme's numbers do not depend on how many clients the project has.
    for (i, (what, answer)) in acme_answers.iter().enumerate() {
        let per_size = acme_answers.len() / COUNTS.len();
        let first = &acme_answers[i % per_size];
        assert_eq!(
            answer, &first.1,
            "{what}: acme's answer changed with the number of clients"
        );
    }

    let (small, big) = (&sizes[0], &sizes[sizes.len() - 1]);
    let data = big.bytes as f64 / small.bytes as f64;
    println!(
        "\n{} / {} / {} clients: median of {RUNS}; sources {} / {} / {}; data read {:.1} / {:.1} / {:.1} MB (50 ÷ 3: {data:.2})",
        sizes[0].clients,
        sizes[1].clients,
        sizes[2].clients,
        sizes[0].sources,
        sizes[1].sources,
        sizes[2].sources,
        sizes[0].bytes as f64 / 1e6,
        sizes[1].bytes as f64 / 1e6,
        sizes[2].bytes as f64 / 1e6,
    );
    println!(
        "{:<52} {:>9} {:>9} {:>9} {:>8}  goal",
        "what", "3", "15", "50", "50 ÷ 3"
    );
    for (k, (name, one, _)) in small.times.iter().enumerate() {
        let t: Vec<f64> = sizes.iter().map(|s| s.times[k].2.as_secs_f64()).collect();
        let ratio = t[2] / t[0];
        let (label, goal) = if *one {
            (format!("{name}, acme only"), "≈ 1 (pruned)".to_string())
        } else {
            (
                format!("{name}, all clients"),
                format!("≤ {data:.1} (data); ÷ data {:.2}", ratio / data),
            )
        };
        println!(
            "{label:<52} {:>8.3}s {:>8.3}s {:>8.3}s {ratio:>8.2}  {goal}",
            t[0], t[1], t[2]
        );
    }
}
