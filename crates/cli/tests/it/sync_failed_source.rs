//! A source whose export breaks on its last row leaves nothing of that read in the warehouse: its
//! previous partitions stay, queries answer what the previous sync read, and the snapshot folder
//! holds exactly the files its manifest names (a table's folder is read whole, so a file the
//! manifest forgot would still be counted).

use crate::support::{csv_query, loopql, run};
use loopql_test_support::library;
use std::path::Path;

const HEADER: &str = "segments.date,customer.id,customer.currency_code,campaign.id,campaign.name,campaign.advertising_channel_type,metrics.impressions,metrics.clicks,metrics.cost_micros,metrics.conversions,metrics.conversions_value\n";

/// An export of 5,000 campaigns a day on 1 and 2 March, `clicks` each on the first day, and
/// `tail` (a row) at the end: more rows than a batch, so the first day is written before the
/// read reaches the end.
fn export(clicks: &str, tail: &str) -> String {
    let mut text = HEADER.to_string();
    for (day, clicks) in [("2024-03-01", clicks), ("2024-03-02", "1")] {
        for campaign in 1..=5000 {
            text.push_str(&format!(
                "{day},42,EUR,{campaign},Campaign {campaign},SEARCH,100,{clicks},2500000,1,20\n"
            ));
        }
    }
    text.push_str(tail);
    text
}

/// Every Parquet file under `dir`, relative to `root`.
fn parquet_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            parquet_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

#[test]
fn a_source_failing_midway_leaves_no_file_of_its_read() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    std::fs::write(exports.join("a.csv"), export("1", "")).unwrap();
    let project = dir.path().join("loopql.toml");
    std::fs::write(
        &project,
        format!(
            "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n[[clients]]\nid = \"acme\"\ncurrency = \"EUR\"\n\n\
             [[sources]]\nconnector = \"google_ads\"\nclient_id = \"acme\"\noptions = {{ path = \"exports/*.csv\" }}\n",
            library("loopql_google_ads")
        ),
    )
    .unwrap();
    let p = project.to_str().unwrap();
    let (out, _, stderr) = run(&mut loopql(&["sync", "-q", "-p", p]));
    assert!(out.status.success(), "{stderr}");
    let clicks = "SELECT sum(metrics_clicks) FROM google_ads.campaign_stats";
    assert_eq!(&csv_query(&project, clicks)[0][0], "10000");

    // The first day changes; the export breaks on its last row, after the first day was written.
    std::fs::write(
        exports.join("a.csv"),
        export(
            "2",
            "2024-03-03,42,EUR,1,Campaign 1,SEARCH,100,many,2500000,1,20\n",
        ),
    )
    .unwrap();
    let (out, _, stderr) = run(&mut loopql(&["sync", "-q", "-p", p]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("source `acme_google_ads` failed"),
        "{stderr}"
    );
    assert_eq!(
        &csv_query(&project, clicks)[0][0],
        "10000",
        "the previous read's rows, once"
    );

    // On disk: exactly the files the current snapshot's manifest names.
    let warehouse = dir.path().join("warehouse");
    let id: u64 = std::fs::read_to_string(warehouse.join("CURRENT"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let snapshot = warehouse.join("snapshots").join(format!("{id:06}"));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(snapshot.join("_manifest.json")).unwrap())
            .unwrap();
    let mut listed: Vec<String> = manifest["tables"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|t| t["files"].as_array().unwrap().iter())
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut found = Vec::new();
    parquet_files(&snapshot, &snapshot, &mut found);
    found.sort();
    assert_eq!(found, listed);
}
