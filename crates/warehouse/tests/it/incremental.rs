//! An incremental sync computes again only what its changes reach — the harmonized tables from
//! the first day whose raw partitions changed, the stored derived tables for the clients whose
//! inputs changed — and ends with exactly the snapshot a sync from scratch of the same exports
//! writes, partition by partition.

use loopql_core::Project;
use loopql_warehouse::progress::{Progress, ProgressLine};
use loopql_warehouse::{SyncOptions, SyncSummary, Warehouse};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Every progress line's label and closing message.
#[derive(Default)]
struct Said(Arc<Mutex<Vec<(String, String)>>>);

struct SaidLine(String, Arc<Mutex<Vec<(String, String)>>>);

impl Progress for Said {
    fn line(&self, label: &str) -> Box<dyn ProgressLine> {
        Box::new(SaidLine(label.to_string(), self.0.clone()))
    }
}

impl ProgressLine for SaidLine {
    fn show(&mut self, _table: &str, _rows: u64, _bytes: u64) {}

    fn finish(&mut self, message: &str) {
        self.1
            .lock()
            .unwrap()
            .push((self.0.clone(), message.to_string()));
    }
}

/// The rows computed by the lines labelled `label`, summed.
fn computed(said: &[(String, String)], label: &str) -> u64 {
    said.iter()
        .filter(|(l, _)| l == label)
        .map(|(_, m)| {
            m.strip_suffix(" rows computed")
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{label}: {m}"))
        })
        .sum()
}

async fn sync(project: &Project) -> (SyncSummary, Vec<(String, String)>) {
    let said = Said::default();
    let lines = said.0.clone();
    let options = SyncOptions {
        progress: Some(Arc::new(said)),
        ..Default::default()
    };
    let summary = loopql_warehouse::sync(project, &options).await.unwrap();
    let said = lines.lock().unwrap().clone();
    (summary, said)
}

/// `(table, client, day) -> sha256` of the current snapshot (reference tables left out: they
/// hold no client's rows).
async fn partitions(project: &Project) -> BTreeMap<(String, String, String), String> {
    let manifest = Warehouse::open(&project.warehouse)
        .unwrap()
        .current()
        .await
        .unwrap()
        .unwrap();
    let mut out = BTreeMap::new();
    for (name, table) in &manifest.tables {
        for f in &table.files {
            let Some(client) = &f.client_id else { continue };
            let key = (
                name.clone(),
                client.clone(),
                f.day.clone().unwrap_or_default(),
            );
            out.insert(key, f.sha256.clone());
        }
    }
    out
}

/// The demo (seed 3: leads on its last days), then its later export when `restated`.
fn demo(dir: &Path, restated: bool) -> Project {
    let mut options = loopql_demo::Options::new(3, 0.1);
    loopql_demo::write(dir, &options).unwrap();
    if restated {
        options.restated = true;
        loopql_demo::write(dir, &options).unwrap();
    }
    Project::load(&dir.join("loopql.toml")).unwrap()
}

fn set_time_zone(project_file: &Path, client: &str, zone: &str) {
    let text = std::fs::read_to_string(project_file).unwrap();
    let at = text.find(&format!("id = \"{client}\"")).unwrap();
    let (head, tail) = text.split_at(at);
    let line = tail.find("time_zone = \"").unwrap();
    let end = line + tail[line + 13..].find('"').unwrap() + 14;
    let edited = format!(
        "{head}{}time_zone = \"{zone}\"{}",
        &tail[..line],
        &tail[end..]
    );
    assert_ne!(edited, text);
    std::fs::write(project_file, edited).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_computes_only_what_changed_and_matches_a_sync_from_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo(&dir.path().join("a"), false);
    let (_, first) = sync(&project).await;
    let harmonized_whole = computed(&first, "harmonized tables");
    assert!(computed(&first, "stored derived tables") > 0);

    // The ad platforms restate their last 3 days: only ad rows change.
    let project = demo(&dir.path().join("a"), true);
    let (summary, said) = sync(&project).await;
    assert!(summary.changed, "{said:?}");
    let harmonized = computed(&said, "harmonized tables");
    assert!(
        0 < harmonized && harmonized * 10 < harmonized_whole,
        "harmonized rows computed again: {harmonized} of {harmonized_whole}"
    );
    assert_eq!(
        computed(&said, "stored derived tables"),
        0,
        "no web or CRM row changed: nothing stored is computed again ({said:?})"
    );
    let scratch = demo(&dir.path().join("b"), true);
    sync(&scratch).await;
    assert_eq!(
        partitions(&project).await,
        partitions(&scratch).await,
        "the incremental snapshot is the one a sync from scratch writes"
    );

    // A client's time zone moves its reporting days: everything is computed again, and still
    // equals a sync from scratch.
    set_time_zone(&dir.path().join("a/loopql.toml"), "acme", "Asia/Tokyo");
    let project = Project::load(&dir.path().join("a/loopql.toml")).unwrap();
    let (_, said) = sync(&project).await;
    assert_eq!(computed(&said, "harmonized tables"), harmonized_whole);
    assert!(computed(&said, "stored derived tables") > 0);
    let fresh = dir.path().join("c");
    demo(&fresh, true);
    set_time_zone(&fresh.join("loopql.toml"), "acme", "Asia/Tokyo");
    let fresh = Project::load(&fresh.join("loopql.toml")).unwrap();
    sync(&fresh).await;
    assert_eq!(partitions(&project).await, partitions(&fresh).await);
}
