//! `loopql sync` to a warehouse on a real S3-compatible server (moto, over HTTP on loopback):
//! sync, queries and `sync status` over it, an incremental re-sync that rewrites only the
//! restated days, a server that goes away mid-sync, and syncs killed with SIGKILL — each leaves
//! the old or the new snapshot, and a killed sync's lock lapses.

use crate::s3::{Bucket, Proxy};
use crate::support::{loopql, run, seeded_random};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DEMO: [&str; 4] = ["--seed", "5", "--scale", "0.05"];
/// The warehouse's root inside the bucket.
const ROOT: &str = "agency/warehouse";

/// A demo project whose warehouse is `s3://bucket/ROOT` (written again with `restated`).
fn demo(dir: &Path, bucket: &Bucket, restated: bool) -> PathBuf {
    let mut args = vec!["demo", "--dir", dir.to_str().unwrap()];
    args.extend_from_slice(&DEMO);
    if restated {
        args.push("--restated");
    }
    let (out, _, stderr) = run(&mut loopql(&args));
    assert!(out.status.success(), "{stderr}");
    let project = dir.join("loopql.toml");
    let text = std::fs::read_to_string(&project).unwrap();
    // After the demo's first line (what marks the folder as the demo's to write again).
    let (head, rest) = text.split_once('\n').unwrap();
    let text = format!(
        "{head}\nwarehouse = \"s3://{}/{ROOT}\"\n{rest}",
        bucket.name
    );
    std::fs::write(&project, text).unwrap();
    project
}

fn cmd(bucket: &Bucket, args: &[&str]) -> Command {
    let mut c = loopql(args);
    c.envs(bucket.env()).env("LOOPQL_STORE_RETRY_SECS", "3");
    c
}

fn sync(bucket: &Bucket, project: &Path) -> String {
    let (out, _, stderr) = run(&mut cmd(
        bucket,
        &["sync", "-q", "-p", project.to_str().unwrap()],
    ));
    assert!(out.status.success(), "sync failed: {stderr}");
    stderr
}

const TOTALS: &str = "\
SELECT 'ad_performance' AS t, client_id, count(*) AS n, round(sum(spend), 2) AS a, round(sum(conversions), 3) AS b FROM ad_performance GROUP BY 2 \
UNION ALL SELECT 'sessions', client_id, count(*), round(sum(revenue), 2), sum(page_views) FROM sessions GROUP BY 2 \
UNION ALL SELECT 'deals', client_id, count(*), round(sum(amount), 2), 0 FROM deals GROUP BY 2 \
UNION ALL SELECT 'google_ads', client_id, count(*), 0, 0 FROM google_ads.campaign_stats GROUP BY 2 \
UNION ALL SELECT 'credits', client_id, count(*), round(sum(value), 2), round(sum(conversions), 3) FROM attribution_by_channel WHERE model = 'linear' GROUP BY 2 \
ORDER BY 1, 2";

/// The totals as the warehouse (or, `live`, the sources) answers them.
fn totals(bucket: &Bucket, project: &Path, live: bool) -> Vec<String> {
    let mut args = vec!["query", "-p", project.to_str().unwrap(), "--format", "csv"];
    if live {
        args.push("--live");
    }
    args.push(TOTALS);
    let (out, stdout, stderr) = run(&mut cmd(bucket, &args));
    assert!(out.status.success(), "{stderr}");
    stdout.lines().map(str::to_string).collect()
}

fn manifest(bucket: &Bucket) -> serde_json::Value {
    let current = bucket.get(&format!("{ROOT}/CURRENT")).expect("CURRENT");
    let id: u64 = String::from_utf8(current).unwrap().trim().parse().unwrap();
    let text = bucket
        .get(&format!("{ROOT}/snapshots/{id:06}/_manifest.json"))
        .expect("the current snapshot's manifest");
    serde_json::from_slice(&text).unwrap()
}

/// `(table, client, day) -> sha256` of a manifest.
fn partitions(m: &serde_json::Value) -> BTreeMap<(String, String, String), String> {
    let mut out = BTreeMap::new();
    for (table, t) in m["tables"].as_object().unwrap() {
        for f in t["files"].as_array().unwrap() {
            out.insert(
                (
                    table.clone(),
                    f["client_id"].as_str().unwrap_or("").to_string(),
                    f["day"].as_str().unwrap_or("").to_string(),
                ),
                f["sha256"].as_str().unwrap().to_string(),
            );
        }
    }
    out
}

/// The current snapshot's folder holds exactly the Parquet files its manifest lists.
fn check_integrity(bucket: &Bucket) {
    let m = manifest(bucket);
    let dir = format!("{ROOT}/snapshots/{:06}", m["snapshot"].as_u64().unwrap());
    let mut listed = BTreeSet::new();
    for t in m["tables"].as_object().unwrap().values() {
        for f in t["files"].as_array().unwrap() {
            listed.insert(format!("{dir}/{}", f["path"].as_str().unwrap()));
        }
    }
    let stored: BTreeSet<String> = bucket
        .list(&dir)
        .into_iter()
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    assert_eq!(
        stored, listed,
        "objects in the bucket and in the manifest differ"
    );
    // One file read back whole: its bytes are the manifest's.
    let first = m["tables"]["ad_performance"]["files"][0].clone();
    let bytes = bucket
        .get(&format!("{dir}/{}", first["path"].as_str().unwrap()))
        .unwrap();
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        first["sha256"].as_str().unwrap()
    );
}

#[test]
fn a_warehouse_on_s3_syncs_answers_and_survives_its_server_going_away() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let mut bucket = Bucket::new();
    // loopql reaches the server through a proxy that can go away.
    let proxy = Proxy::start(&bucket.endpoint);
    bucket.endpoint = proxy.endpoint.clone();
    let project = demo(&demo_dir, &bucket, false);
    let live = totals(&bucket, &project, true);

    let said = sync(&bucket, &project);
    assert!(said.contains("snapshot 1 committed"), "{said}");
    check_integrity(&bucket);
    assert_eq!(totals(&bucket, &project, false), live);
    assert!(
        bucket.get(&format!("{ROOT}/.sync.lock")).is_none(),
        "the lock is given back"
    );
    let first = manifest(&bucket);

    // Status reads the bucket.
    let (out, stdout, stderr) = run(&mut cmd(
        &bucket,
        &["sync", "status", "-p", project.to_str().unwrap()],
    ));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("snapshot 1 of s3://{}/{ROOT}", bucket.name)),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("acme_google_ads") && l.contains("2024-03-31")),
        "{stdout}"
    );

    // The platforms restate their last days; the server goes away during the sync.
    demo(&demo_dir, &bucket, true);
    let restated = totals(&bucket, &project, true);
    assert_ne!(restated, live);
    let child = cmd(&bucket, &["sync", "-q", "-p", project.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Away once the sync has written something of its new snapshot.
    let started = Instant::now();
    while bucket.list(&format!("{ROOT}/snapshots/000002")).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the sync never wrote"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    proxy.down();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the sync cannot succeed without its server"
    );
    assert!(
        stderr.contains(&format!("s3://{}/{ROOT}", bucket.name)),
        "{stderr}"
    );
    proxy.up();
    // The previous snapshot stands and answers.
    assert_eq!(manifest(&bucket)["snapshot"], 1);
    check_integrity(&bucket);
    assert_eq!(totals(&bucket, &project, false), live);

    // Back: the incremental sync rewrites only the restated days.
    let said = sync(&bucket, &project);
    assert!(said.contains("committed"), "{said}");
    check_integrity(&bucket);
    assert_eq!(totals(&bucket, &project, false), restated);
    let second = manifest(&bucket);
    let (a, b) = (partitions(&first), partitions(&second));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let days: BTreeSet<&str> = a
        .iter()
        .filter(|(k, sha)| b[*k] != **sha)
        .map(|((_, _, day), _)| day.as_str())
        .collect();
    assert!(!days.is_empty());
    assert!(
        days.iter()
            .all(|d| ["2024-03-29", "2024-03-30", "2024-03-31"].contains(d)),
        "only the last 3 days change: {days:?}"
    );
    // Only the current snapshot and the one before it are kept.
    let folders: BTreeSet<String> = bucket
        .list(&format!("{ROOT}/snapshots"))
        .iter()
        .filter_map(|k| k.split('/').nth(3).map(str::to_string))
        .collect();
    assert!(folders.len() <= 2, "{folders:?}");
}

#[test]
fn a_sync_killed_on_s3_leaves_the_old_or_the_new_snapshot_and_its_lock_lapses() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let bucket = Bucket::new();
    let project = demo(&demo_dir, &bucket, false);
    let started = Instant::now();
    sync(&bucket, &project);
    let full = started.elapsed();
    let first = totals(&bucket, &project, false);
    demo(&demo_dir, &bucket, true);
    let restated = totals(&bucket, &project, true);
    assert_ne!(first, restated);

    let mut random = seeded_random();
    let mut in_warehouse = first.clone();
    for round in 0..3 {
        let restate = in_warehouse == first;
        demo(&demo_dir, &bucket, restate);
        let (old, new) = if restate {
            (&first, &restated)
        } else {
            (&restated, &first)
        };
        let delay = Duration::from_micros(random() % (full.as_micros() as u64 + 1));
        let mut child = cmd(&bucket, &["sync", "-q", "-p", project.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        check_integrity(&bucket);
        let now = totals(&bucket, &project, false);
        assert!(
            now == *old || now == *new,
            "round {round} (killed after {delay:?}): neither the old nor the new snapshot"
        );
        in_warehouse = now;
    }
    // A killed sync's lock lapses: the next sync waits for it, then completes.
    let killed_holding_the_lock = bucket.get(&format!("{ROOT}/.sync.lock")).is_some();
    demo(&demo_dir, &bucket, true);
    let started = Instant::now();
    sync(&bucket, &project);
    if killed_holding_the_lock {
        assert!(
            started.elapsed() >= Duration::from_secs(9),
            "a lock left by a killed sync is taken over only after a whole lease"
        );
    }
    check_integrity(&bucket);
    assert_eq!(totals(&bucket, &project, false), restated);
    assert!(bucket.get(&format!("{ROOT}/.sync.lock")).is_none());

    // A lock that its holder keeps renewing is refused, naming the holder; and a commit
    // replaces only the `CURRENT` its sync started from.
    let lock = format!("{ROOT}/.sync.lock");
    let current = format!("{ROOT}/CURRENT");
    demo(&demo_dir, &bucket, false);
    let running = cmd(&bucket, &["sync", "-q", "-p", project.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    while bucket.get(&lock).is_none() {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the sync never locked"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (out, _, stderr) = run(&mut cmd(
        &bucket,
        &["sync", "-q", "-p", project.to_str().unwrap()],
    ));
    assert!(!out.status.success());
    assert!(
        stderr.contains("another `loopql sync` is running on this warehouse")
            && stderr.contains("process "),
        "{stderr}"
    );
    // Meanwhile someone moves CURRENT back to the snapshot before.
    let committed = manifest(&bucket);
    let previous = committed["previous"].as_u64().expect("a snapshot before");
    bucket.put(&current, format!("{previous}\n").into_bytes());
    let out = running.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the running sync must not commit over it"
    );
    assert!(
        stderr.contains("CURRENT changed while this sync ran"),
        "{stderr}"
    );
    assert_eq!(manifest(&bucket)["snapshot"].as_u64(), Some(previous));
}
