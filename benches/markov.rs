//! Markov removal effects side by side with `channelattribution` (the reference package),
//! orders 1–4, on the package's own Data.csv (10,000 paths) and on a generated table of 1M
//! paths over 20 channels; prints ratios.
//!
//! Both sides read the same `;`-separated table (path, total_conversions,
//! total_conversion_value, total_null). channelattribution runs `markov_model` with its default
//! settings (a simulation, seed 0), timed around the call in its Python process; loopql runs
//! `attribute_paths('markov', …)` over the table held in memory (an exact sparse solve), timed
//! around the query in its process; consecutive repeats are collapsed on both sides (the
//! package does it; loopql's `path_transform = 'exposure'`). Before any time counts, every
//! channel's conversions must agree within 2% of the total conversions (the peer's estimate is
//! a Monte-Carlo one). Best of 3 each (of 15 on Data.csv, where a run takes milliseconds).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use loopql_benches as common;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Float64Type;
use loopql_core::{Engine, EngineBuilder, Project};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs per side, best taken: a query over Data.csv takes milliseconds, so it gets more runs
/// (both sides alike) for a steadier best.
const RUNS: usize = 3;
const RUNS_SMALL: usize = 15;
const CHANNELS: usize = 20;
const PATHS: usize = 1_000_000;

/// A seeded table of `PATHS` paths over `CHANNELS` channels: lengths 1–10 (mostly short),
/// channels of uneven reach, conversion odds that grow with some channels and with length.
fn generate(out: &Path) {
    let mut state: u64 = 0x5EED;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut text = String::from("path;total_conversions;total_conversion_value;total_null\n");
    for _ in 0..PATHS {
        let mut len = 1;
        while len < 10 && next() < 0.55 {
            len += 1;
        }
        let mut odds = 0.02;
        let mut path = String::new();
        for i in 0..len {
            // Channel k is picked with weight 1 / (k + 1): a few large channels, a long tail.
            let u = next() * 3.5977; // H(20)
            let mut acc = 0.0;
            let mut k = CHANNELS - 1;
            for c in 0..CHANNELS {
                acc += 1.0 / (c + 1) as f64;
                if u < acc {
                    k = c;
                    break;
                }
            }
            if i > 0 {
                path.push_str(" > ");
            }
            write!(path, "ch{:02}", k + 1).unwrap();
            odds += 0.01 * ((k % 5) as f64);
        }
        let converted = next() < odds.min(0.9);
        let value = if converted {
            20.0 + (next() * 200.0).round()
        } else {
            0.0
        };
        writeln!(
            text,
            "{path};{};{value};{}",
            u8::from(converted),
            u8::from(!converted)
        )
        .unwrap();
    }
    std::fs::write(out, text).unwrap();
}

/// An engine with `csv` loaded into memory as table `paths`.
async fn engine(dir: &Path, csv: &Path) -> Engine {
    let project = dir.join("bench-markov.toml");
    std::fs::write(&project, "[plugins]\nsearch_default_dirs = false\n").unwrap();
    let engine = EngineBuilder::live(Project::load(&project).unwrap())
        .open()
        .await
        .unwrap();
    for sql in [
        format!(
            "CREATE EXTERNAL TABLE paths_file (path VARCHAR, total_conversions DOUBLE, \
             total_conversion_value DOUBLE, total_null DOUBLE) STORED AS CSV LOCATION '{}' \
             OPTIONS ('format.delimiter' ';', 'format.has_header' 'true')",
            csv.display()
        ),
        "CREATE TABLE paths AS SELECT * FROM paths_file".to_string(),
        "SET loopql.attribution.path_transform = 'exposure'".to_string(),
    ] {
        engine.collect(&sql).await.unwrap();
    }
    engine
}

/// loopql's Markov credits at `order`: (best time, channel -> conversions).
async fn ours(engine: &Engine, order: u32, runs: usize) -> (Duration, BTreeMap<String, f64>) {
    engine
        .collect(&format!("SET loopql.attribution.markov_order = {order}"))
        .await
        .unwrap();
    let mut best = Duration::MAX;
    let mut channels = BTreeMap::new();
    for _ in 0..runs {
        let started = Instant::now();
        let batches = engine
            .collect("SELECT channel, conversions FROM attribute_paths('markov', 'paths')")
            .await
            .unwrap();
        best = best.min(started.elapsed());
        channels.clear();
        for b in &batches {
            let (c, n) = (
                b.column(0).as_string::<i32>(),
                b.column(1).as_primitive::<Float64Type>(),
            );
            for i in 0..b.num_rows() {
                assert!(!c.is_null(i));
                channels.insert(c.value(i).to_string(), n.value(i));
            }
        }
    }
    (best, channels)
}

/// channelattribution's: (best model time, channel -> conversions).
fn theirs(csv: &Path, order: u32, runs: usize) -> (Duration, BTreeMap<String, f64>) {
    let out = common::python_json(
        "markov_peer.py",
        &[
            "markov",
            csv.to_str().unwrap(),
            &order.to_string(),
            &runs.to_string(),
        ],
    );
    let channels = out["channels"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
        .collect();
    (
        Duration::from_secs_f64(out["seconds"].as_f64().unwrap()),
        channels,
    )
}

/// Every channel's conversions within 2% of the total; returns the largest gap as a share of
/// the total.
fn agree(what: &str, ours: &BTreeMap<String, f64>, theirs: &BTreeMap<String, f64>) -> f64 {
    let total: f64 = ours.values().sum();
    assert!(total > 0.0, "{what}: no conversions credited");
    let names: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    let mut worst: f64 = 0.0;
    for name in names {
        let (a, b) = (
            ours.get(name).copied().unwrap_or(0.0),
            theirs.get(name).copied().unwrap_or(0.0),
        );
        let gap = (a - b).abs() / total;
        assert!(
            gap <= 0.02,
            "{what}: {name}: loopql {a:.3}, channelattribution {b:.3} (total {total:.1})"
        );
        worst = worst.max(gap);
    }
    worst
}

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-markov");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data.csv");
    common::python_json("markov_peer.py", &["data", data.to_str().unwrap()]);
    let generated = dir.join(format!("paths-{PATHS}-{CHANNELS}.csv"));
    if !generated.exists() {
        generate(&generated);
    }
    for (name, csv, runs) in [
        (
            "channelattribution's Data.csv (10,000 paths)",
            &data,
            RUNS_SMALL,
        ),
        ("1M paths over 20 channels", &generated, RUNS),
    ] {
        let engine = engine(&dir, csv).await;
        println!("markov, {name}, best of {runs}:");
        for order in 1..=4u32 {
            let (peer_time, peer) = theirs(csv, order, runs);
            let (our_time, credits) = ours(&engine, order, runs).await;
            let gap = agree(&format!("{name}, order {order}"), &credits, &peer);
            println!(
                "  order {order}: loopql {:>8.3} s, channelattribution {:>8.3} s: {:>6.1}x faster (goal >= 20); largest channel gap {:.2}% of conversions",
                our_time.as_secs_f64(),
                peer_time.as_secs_f64(),
                peer_time.as_secs_f64() / our_time.as_secs_f64(),
                gap * 100.0
            );
        }
    }
}
