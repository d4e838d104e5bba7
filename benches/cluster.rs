//! The cluster against one process, over the same synced warehouse, in one run; prints the
//! speed-up.
//!
//! The demo at `LOOPQL_BENCH_SCALE` (default 100, about 10M sessions; shared with the
//! `warehouse` bench's generated demo) is synced into a warehouse of its own, kept under the
//! target folder (an unchanged source only re-reads its exports on the next run). Three
//! queries — the KPI view, the attribution table function and the closed-loop ROI view, each
//! rolled up per client — run as whole `loopql query` processes: on one process over the
//! warehouse, then on a Ballista scheduler with 1, 2 and 4 executors (loopback processes of the
//! release binary, `LOOPQL_BENCH_CLUSTER_TASKS` concurrent tasks each, default 2). Every
//! cluster answer must equal the single process's (numbers to 1e-9 relative) before its time
//! counts; best of 3 after one warm-up. Printed: seconds and the speed-up (one process's time ÷
//! the cluster's).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use loopql_benches as common;

use loopql_test_support::processes::{self, Processes, free_port};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 3;

const QUERIES: &[(&str, &str)] = &[
    (
        "kpi_paid_media by client × channel × month",
        "SELECT client_id, channel, period_start, round(sum(spend), 2) AS spend, \
         sum(clicks) AS clicks, round(sum(leads), 4) AS leads, round(sum(revenue), 2) AS revenue \
         FROM kpi_paid_media WHERE period = 'month' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    ),
    (
        "attribution('channel'), every model, per client",
        "SELECT client_id, model, channel, round(sum(conversions), 6) AS conversions, \
         round(sum(value), 2) AS value FROM attribution('channel') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    ),
    (
        "roi_by_channel, every model, per client",
        "SELECT client_id, model, channel, round(sum(spend), 2) AS spend, \
         round(sum(revenue), 2) AS revenue FROM roi_by_channel GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    ),
];

/// The release `loopql` binary beside this bench.
fn loopql() -> PathBuf {
    common::loopql_binary()
}

/// Waits until `addr` listens (two minutes at most).
fn wait_for(addr: SocketAddr) {
    processes::wait_for(addr, &addr.to_string(), Duration::from_secs(120));
}

/// One `loopql query` process printing CSV: (wall time, stdout).
fn query(project: &Path, cluster: Option<&str>, sql: &str) -> (Duration, String) {
    let mut cmd = Command::new(loopql());
    cmd.args(["query", "--format", "csv", "--project"])
        .arg(project);
    if let Some(url) = cluster {
        cmd.args(["--cluster", url]);
    }
    let started = Instant::now();
    let out = cmd.arg(sql).output().unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{sql} ({cluster:?}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8(out.stdout).unwrap())
}

/// Best of [`RUNS`] after a warm-up; every answer checked against `expected` first.
fn best(project: &Path, cluster: Option<&str>, sql: &str, expected: Option<&str>) -> (f64, String) {
    let (_, first) = query(project, cluster, sql);
    if let Some(expected) = expected {
        same_numbers(&first, expected, sql);
    }
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let (took, out) = query(project, cluster, sql);
        if let Some(expected) = expected {
            same_numbers(&out, expected, sql);
        }
        times.push(took.as_secs_f64());
    }
    (times.into_iter().fold(f64::INFINITY, f64::min), first)
}

/// Two CSV answers with the same cells, numbers equal to 1e-9 relative (a cluster adds floats
/// in another order), and some rows.
fn same_numbers(a: &str, b: &str, what: &str) {
    assert!(a.lines().count() > 2, "{what}: no rows");
    processes::same_numbers(a, b, what);
}

/// A scheduler and `executors` executors on loopback; the URL to send queries to.
fn start_cluster(
    project: &Path,
    executors: usize,
    work: &Path,
    tasks: &str,
) -> (Processes, String) {
    let mut processes = Processes(Vec::new());
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    processes.0.push(
        Command::new(loopql())
            .args(["cluster", "scheduler", "--listen", &listen, "-p"])
            .arg(project)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(listen.parse().unwrap());
    for i in 0..executors {
        let dir = work.join(format!("executor-{i}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (flight, grpc) = (free_port(), free_port());
        processes.0.push(
            Command::new(loopql())
                .args(["cluster", "executor", "--scheduler", &listen])
                .args(["--port", &flight.to_string()])
                .args(["--grpc-port", &grpc.to_string()])
                .arg("--work-dir")
                .arg(&dir)
                .args(["--concurrent-tasks", tasks])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for(format!("127.0.0.1:{flight}").parse().unwrap());
    }
    (processes, format!("df://{listen}"))
}

#[tokio::main]
async fn main() {
    let scale = common::scale(100.0);
    let tasks = std::env::var("LOOPQL_BENCH_CLUSTER_TASKS").unwrap_or_else(|_| "2".into());
    let dir = common::demo(Path::new(env!("CARGO_TARGET_TMPDIR")), scale);
    let project = dir.join("bench-cluster.toml");
    let text = std::fs::read_to_string(dir.join("loopql.toml")).unwrap();
    std::fs::write(
        &project,
        format!("warehouse = \"bench-warehouse-cluster\"\n{text}"),
    )
    .unwrap();
    let loaded = loopql_core::Project::load(&project).unwrap();
    let started = Instant::now();
    loopql_warehouse::sync(&loaded, &loopql_warehouse::SyncOptions::default())
        .await
        .unwrap();
    println!(
        "cluster: demo scale {scale}, synced in {:.0?}; {} cores, {tasks} tasks per executor",
        started.elapsed(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let mut single = Vec::new();
    for (name, sql) in QUERIES {
        let (secs, answer) = best(&project, None, sql, None);
        println!("  one process: {name}: {secs:.2} s");
        single.push((secs, answer));
    }
    let work = dir.join("bench-cluster-work");
    let mut rows: Vec<Vec<f64>> = vec![Vec::new(); QUERIES.len()];
    for executors in [1, 2, 4] {
        let (processes, url) = start_cluster(&project, executors, &work, &tasks);
        for (i, (name, sql)) in QUERIES.iter().enumerate() {
            let (secs, _) = best(&project, Some(&url), sql, Some(&single[i].1));
            println!("  {executors} executor(s): {name}: {secs:.2} s (answer equal)");
            rows[i].push(secs);
        }
        drop(processes);
    }
    println!("cluster speed-up (one process's time ÷ the cluster's; > 1: the cluster is faster):");
    println!("| query | one process | 1 executor | 2 executors | 4 executors |");
    println!("|---|---|---|---|---|");
    for (i, (name, _)) in QUERIES.iter().enumerate() {
        let one = single[i].0;
        let cells: Vec<String> = rows[i]
            .iter()
            .map(|s| format!("{s:.2} s (**{:.2}**)", one / s))
            .collect();
        println!("| {name} | {one:.2} s | {} |", cells.join(" | "));
    }
}
