//! `loopql sync` end to end over the demo: the warehouse answers like the sources, a restatement
//! replaces exactly the restated days, an unchanged re-sync changes nothing, and a sync killed
//! with SIGKILL at random moments always leaves the old or the new snapshot.

use crate::support::{csv_query, loopql, run, seeded_random};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A demo with leads on its last days (what `--restated` changes).
const DEMO: [&str; 4] = ["--seed", "3", "--scale", "0.2"];

fn demo(dir: &Path, restated: bool) -> PathBuf {
    let mut args = vec!["demo", "--dir", dir.to_str().unwrap()];
    args.extend_from_slice(&DEMO);
    if restated {
        args.push("--restated");
    }
    let (out, _, stderr) = run(&mut loopql(&args));
    assert!(out.status.success(), "{stderr}");
    dir.join("loopql.toml")
}

fn sync(project: &Path, extra: &[&str]) -> String {
    let mut args = vec!["sync", "-q", "-p", project.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (out, _, stderr) = run(&mut loopql(&args));
    assert!(out.status.success(), "sync failed: {stderr}");
    stderr
}

/// Row counts of every table and rounded sums of the restated numbers, per client.
const TOTALS: &str = "\
SELECT 'ad_performance' AS t, client_id, count(*) AS n, round(sum(spend), 2) AS a, round(sum(conversions), 3) AS b FROM ad_performance GROUP BY 2 \
UNION ALL SELECT 'sessions', client_id, count(*), round(sum(revenue), 2), sum(page_views) FROM sessions GROUP BY 2 \
UNION ALL SELECT 'deals', client_id, count(*), round(sum(amount), 2), 0 FROM deals GROUP BY 2 \
UNION ALL SELECT 'contacts', client_id, count(*), 0, 0 FROM contacts GROUP BY 2 \
UNION ALL SELECT 'google_ads', client_id, count(*), 0, 0 FROM google_ads.campaign_stats GROUP BY 2 \
UNION ALL SELECT 'meta_ads', client_id, count(*), 0, 0 FROM meta_ads.insights GROUP BY 2 \
UNION ALL SELECT 'meta_actions', client_id, count(*), 0, 0 FROM meta_ads.insights_actions GROUP BY 2 \
UNION ALL SELECT 'ga4', client_id, count(*), 0, 0 FROM ga4.events GROUP BY 2 \
UNION ALL SELECT 'snowplow', client_id, count(*), 0, 0 FROM snowplow.events GROUP BY 2 \
ORDER BY 1, 2";

fn totals(project: &Path, live: bool) -> Vec<String> {
    let mut args = vec!["query", "-p", project.to_str().unwrap(), "--format", "csv"];
    if live {
        args.push("--live");
    }
    args.push(TOTALS);
    let (out, stdout, stderr) = run(&mut loopql(&args));
    assert!(out.status.success(), "{stderr}");
    stdout.lines().map(str::to_string).collect()
}

fn manifest(warehouse: &Path) -> serde_json::Value {
    let current = std::fs::read_to_string(warehouse.join("CURRENT")).unwrap();
    let id: u64 = current.trim().parse().unwrap();
    let path = warehouse
        .join("snapshots")
        .join(format!("{id:06}"))
        .join("_manifest.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `(table, client, day) -> sha256` of a manifest.
fn partitions(m: &serde_json::Value) -> BTreeMap<(String, String, String), String> {
    let mut out = BTreeMap::new();
    for (table, t) in m["tables"].as_object().unwrap() {
        for f in t["files"].as_array().unwrap() {
            let key = (
                table.clone(),
                f["client_id"].as_str().unwrap_or("").to_string(),
                f["day"].as_str().unwrap_or("").to_string(),
            );
            assert!(
                out.insert(key.clone(), f["sha256"].as_str().unwrap().to_string())
                    .is_none(),
                "partition {key:?} listed twice"
            );
        }
    }
    out
}

/// Every file the current manifest lists exists with its checksum and row count... and no
/// partition folder of the snapshot holds a file the manifest does not list.
fn check_integrity(warehouse: &Path) {
    let m = manifest(warehouse);
    let dir = warehouse
        .join("snapshots")
        .join(format!("{:06}", m["snapshot"].as_u64().unwrap()));
    let mut listed = BTreeSet::new();
    for t in m["tables"].as_object().unwrap().values() {
        for f in t["files"].as_array().unwrap() {
            let path = dir.join(f["path"].as_str().unwrap());
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                f["sha256"].as_str().unwrap(),
                "{path:?}"
            );
            assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap());
            listed.insert(path);
        }
    }
    let mut on_disk = BTreeSet::new();
    walk(&dir, &mut on_disk);
    on_disk.retain(|p| p.extension().is_some_and(|e| e == "parquet"));
    assert_eq!(on_disk, listed, "files on disk and in the manifest differ");
}

fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.insert(p);
        }
    }
}

/// Every file under the warehouse with its size and modification time.
fn tree(warehouse: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut files = BTreeSet::new();
    walk(warehouse, &mut files);
    files
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            (p, (m.len(), m.modified().unwrap()))
        })
        .collect()
}

#[test]
fn the_warehouse_answers_like_the_sources_and_an_unchanged_sync_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo(&dir.path().join("demo"), false);
    let warehouse = dir.path().join("demo/warehouse");
    let live = totals(&project, true);
    let said = sync(&project, &[]);
    assert!(said.contains("snapshot 1 committed"), "{said}");
    check_integrity(&warehouse);
    assert_eq!(totals(&project, false), live);

    // Layout: Hive partitions by client and day.
    let m = manifest(&warehouse);
    let ads = &m["tables"]["ad_performance"]["files"][0]["path"];
    let ads = ads.as_str().unwrap();
    assert!(
        ads.starts_with("ad_performance/client_id=") && ads.contains("/date=2024-"),
        "{ads}"
    );
    let gads = m["tables"]["google_ads.campaign_stats"]["files"][0]["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        gads.starts_with("raw/google_ads/campaign_stats/client_id="),
        "{gads}"
    );

    // The shipped views over the warehouse: KPI, attribution, ROI.
    for sql in [
        "SELECT client_id, channel, round(sum(spend), 2), round(sum(clicks), 2) FROM kpi_paid_media GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT client_id, model, channel, round(sum(conversions), 6), round(sum(value), 2) FROM attribution_by_channel GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        "SELECT client_id, model, channel, round(sum(spend), 2), round(sum(revenue), 2) FROM roi_by_channel GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    ] {
        let warehoused = csv_query(&project, sql);
        let (out, stdout, stderr) = run(&mut loopql(&[
            "query",
            "-p",
            project.to_str().unwrap(),
            "--format",
            "csv",
            "--live",
            sql,
        ]));
        assert!(out.status.success(), "{stderr}");
        let lines: Vec<String> = warehoused
            .iter()
            .map(|r| r.iter().collect::<Vec<_>>().join(","))
            .collect();
        assert!(!lines.is_empty(), "{sql}");
        assert_eq!(lines, stdout.lines().skip(1).collect::<Vec<_>>(), "{sql}");
    }

    // Nothing changed at the sources: nothing changes in the warehouse.
    let before = tree(&warehouse);
    let said = sync(&project, &[]);
    assert!(said.contains("no changes: snapshot 1 is current"), "{said}");
    assert_eq!(tree(&warehouse), before);

    // Too little memory: the sync fails saying which limit to try, and snapshot 1 stands.
    let (out, _, stderr) = run(&mut loopql(&[
        "sync",
        "-q",
        "--full",
        "--memory-mb",
        "16",
        "-p",
        project.to_str().unwrap(),
    ]));
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("memory limit of 16 MiB")
            && stderr.contains("`loopql sync --memory-mb 32`")
            && stderr.contains("the previous snapshot is unchanged"),
        "{stderr}"
    );
    assert_eq!(manifest(&warehouse)["snapshot"], 1);
    check_integrity(&warehouse);
    assert_eq!(totals(&project, false), live);

    // Status names every source with its newest day.
    let (out, stdout, stderr) = run(&mut loopql(&[
        "sync",
        "status",
        "-p",
        project.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("snapshot 1 of"), "{stdout}");
    for source in ["acme_google_ads", "globex_snowplow", "initech_hubspot"] {
        let line = stdout.lines().find(|l| l.contains(source)).unwrap();
        assert!(line.contains("| all "), "{line}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("acme_google_ads") && l.contains("2024-03-31")),
        "{stdout}"
    );

    // Unknown sources are refused with the known ones listed.
    let (out, _, stderr) = run(&mut loopql(&[
        "sync",
        "-q",
        "-p",
        project.to_str().unwrap(),
        "nope",
    ]));
    assert!(!out.status.success());
    assert!(
        stderr.contains("no source named `nope`") && stderr.contains("acme_google_ads"),
        "{stderr}"
    );
}

#[test]
fn a_restatement_replaces_only_the_restated_days() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let project = demo(&demo_dir, false);
    let warehouse = demo_dir.join("warehouse");
    sync(&project, &[]);
    let first = manifest(&warehouse);
    // The platforms restate their last days' conversions.
    demo(&demo_dir, true);
    let live = totals(&project, true);
    assert_ne!(live, totals(&project, false), "the restated export differs");
    let said = sync(&project, &[]);
    assert!(said.contains("snapshot 2 committed"), "{said}");
    check_integrity(&warehouse);
    let second = manifest(&warehouse);
    assert_eq!(second["previous"].as_u64(), Some(1));

    let (a, b) = (partitions(&first), partitions(&second));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "same partitions"
    );
    let changed: BTreeSet<(String, String)> = a
        .iter()
        .filter(|(k, sha)| b[*k] != **sha)
        .map(|((table, _, day), _)| (table.clone(), day.clone()))
        .collect();
    let days: BTreeSet<&str> = changed.iter().map(|(_, d)| d.as_str()).collect();
    let tables: BTreeSet<&str> = changed.iter().map(|(t, _)| t.as_str()).collect();
    assert!(!changed.is_empty());
    assert!(
        days.iter()
            .all(|d| ["2024-03-29", "2024-03-30", "2024-03-31"].contains(d)),
        "only the last 3 days change: {changed:?}"
    );
    assert!(
        tables.contains("ad_performance") && tables.contains("google_ads.campaign_stats"),
        "{tables:?}"
    );
    // The warehouse's totals are the restated source's.
    assert_eq!(totals(&project, false), live);

    // Unchanged partitions are the previous snapshot's files (linked, not rewritten).
    let (p1, p2) = (
        warehouse.join("snapshots/000001"),
        warehouse.join("snapshots/000002"),
    );
    let file = first["tables"]["ad_performance"]["files"][0]["path"]
        .as_str()
        .unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(p1.join(file)).unwrap().ino(),
        std::fs::metadata(p2.join(file)).unwrap().ino()
    );

    // Syncing one source re-reads that source only.
    let said = sync(&project, &["acme_google_ads", "--full"]);
    assert!(said.contains("no changes"), "{said}");
}

#[test]
fn a_sync_killed_at_any_moment_leaves_the_old_or_the_new_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let project = demo(&demo_dir, false);
    let warehouse = demo_dir.join("warehouse");
    let started = Instant::now();
    sync(&project, &[]);
    let full = started.elapsed();
    let first = totals(&project, false);
    demo(&demo_dir, true);
    let restated = totals(&project, true);
    assert_ne!(first, restated);

    let mut random = seeded_random();
    let mut in_warehouse = first.clone();
    let mut outcomes = [0usize; 2];
    for round in 0..20 {
        // The sources hold the other state than the warehouse, so each sync has work to do.
        let restate = in_warehouse == first;
        demo(&demo_dir, restate);
        let (old, new) = if restate {
            (&first, &restated)
        } else {
            (&restated, &first)
        };
        let delay = Duration::from_micros(random() % (full.as_micros() as u64 * 6 / 5 + 1));
        let mut child = loopql(&["sync", "-q", "-p", project.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        check_integrity(&warehouse);
        let now = totals(&project, false);
        assert!(
            now == *old || now == *new,
            "round {round} (killed after {delay:?}): the warehouse is neither the old nor the new snapshot"
        );
        outcomes[usize::from(now == *new)] += 1;
        in_warehouse = now;
    }
    eprintln!(
        "kills: {} left the old snapshot, {} the new",
        outcomes[0], outcomes[1]
    );
    // The next sync completes, and leaves only the current snapshot and the one before it.
    demo(&demo_dir, true);
    sync(&project, &[]);
    check_integrity(&warehouse);
    assert_eq!(totals(&project, false), restated);
    let snapshots = std::fs::read_dir(warehouse.join("snapshots"))
        .unwrap()
        .count();
    assert!(snapshots <= 2, "{snapshots} snapshot folders left");
}
