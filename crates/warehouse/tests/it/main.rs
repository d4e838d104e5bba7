//! loopql-warehouse's integration tests, over the demo synced into a warehouse folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_view;
mod credits_cache;
mod day_order;
mod incremental;
mod listed;
mod memory_limit;
mod reads_once;
mod result_cache;
mod stitched;

/// A demo project (`seed`, `scale`) written into a temporary folder and synced into its
/// warehouse; the folder lives as long as the returned guard.
async fn synced_demo(seed: u64, scale: f64) -> (tempfile::TempDir, loopql_core::Project) {
    let dir = tempfile::tempdir().unwrap();
    let written = loopql_demo::write(
        &dir.path().join("demo"),
        &loopql_demo::Options::new(seed, scale),
    )
    .unwrap();
    let project = loopql_core::Project::load(&written.project_file).unwrap();
    loopql_warehouse::sync(&project, &loopql_warehouse::SyncOptions::default())
        .await
        .unwrap();
    (dir, project)
}
