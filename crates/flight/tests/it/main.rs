//! loopql-flight's integration tests: the server started in-process on a free loopback port,
//! driven by arrow-flight's own client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flight;
mod served_cache;

use loopql_core::{EngineBuilder, Project};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A demo project in `dir` with an admin, a principal scoped to acme, and `limits` (TOML lines
/// for `[server]`).
pub fn demo_project(dir: &Path, limits: &str) -> PathBuf {
    let written =
        loopql_demo::write(&dir.join("demo"), &loopql_demo::Options::new(21, 0.05)).unwrap();
    loopql_test_support::flight::add_principals(&written.project_file, limits);
    written.project_file
}

/// Serves `project` (over its connectors) until the returned sender is dropped.
pub async fn start(project: &Path) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (addr, stop, _) = start_counting(project).await;
    (addr, stop)
}

/// [`start`], with a probe of how many statements the server has planned.
pub async fn start_counting(
    project: &Path,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    impl Fn() -> u64 + use<>,
) {
    let project = Project::load(project).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = loopql_flight::FlightServer::ready(EngineBuilder::live(project))
        .await
        .unwrap();
    let planned = server.planned_statements();
    tokio::spawn(async move {
        server
            .serve(listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (addr, tx, planned)
}
