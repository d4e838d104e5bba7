//! Unattended syncs: `loopql sync --every` runs again (a run that finds nothing new commits
//! nothing), `--on-schedule` follows the project's `[sync] schedule`, a bad pattern is refused
//! where it is written, and `loopql serve` syncs on the schedule, its next queries reading the
//! new snapshot — or notices a snapshot another process's sync committed.

use crate::support::{loopql, run};
use loopql_test_support::flight::{ADMIN, add_principals, cells, login, query as flight_query};
use loopql_test_support::library;
use std::io::BufRead;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const HEADER: &str = "segments.date,customer.id,customer.currency_code,campaign.id,campaign.name,campaign.advertising_channel_type,metrics.impressions,metrics.clicks,metrics.cost_micros,metrics.conversions,metrics.conversions_value\n";

fn export(dir: &Path, clicks: u32) {
    std::fs::write(
        dir.join("acme.csv"),
        format!(
            "{HEADER}2024-03-01,42,EUR,7,Brand,SEARCH,100,{clicks},2500000,1,20\n2024-03-02,42,EUR,7,Brand,SEARCH,90,4,1000000,0,0\n"
        ),
    )
    .unwrap();
}

fn project(dir: &Path, extra: &str) -> PathBuf {
    export(dir, 10);
    let path = dir.join("loopql.toml");
    std::fs::write(
        &path,
        format!(
            "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n[[clients]]\nid = \"acme\"\ncurrency = \"EUR\"\n\n\
             [[sources]]\nconnector = \"google_ads\"\nclient_id = \"acme\"\noptions = {{ path = \"acme.csv\" }}\n{extra}",
            library("loopql_google_ads")
        ),
    )
    .unwrap();
    path
}

#[test]
fn sync_every_runs_again_and_a_run_without_news_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path(), "");
    let (out, _, stderr) = run(&mut loopql(&[
        "sync",
        "-q",
        "--every",
        "1s",
        "--runs",
        "2",
        "-p",
        p.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("syncing every 1s"), "{stderr}");
    let first = stderr.find("run 1 at ").expect(&stderr);
    let second = stderr.find("run 2 at ").expect(&stderr);
    assert!(first < second, "{stderr}");
    assert!(
        stderr[first..second].contains("snapshot 1 committed"),
        "{stderr}"
    );
    assert!(
        stderr[second..].contains("no changes: snapshot 1 is current"),
        "{stderr}"
    );

    // Bad intervals are refused before anything runs.
    let (out, _, stderr) = run(&mut loopql(&[
        "sync",
        "--every",
        "6 weeks",
        "-p",
        p.to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    assert!(
        stderr.contains("--every `6 weeks`: unknown unit"),
        "{stderr}"
    );
}

#[test]
fn the_project_schedule_is_followed_and_checked_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path(), "");
    let (out, _, stderr) = run(&mut loopql(&[
        "sync",
        "--on-schedule",
        "-p",
        p.to_str().unwrap(),
    ]));
    assert!(!out.status.success());
    assert!(
        stderr.contains("the project has no `[sync] schedule`"),
        "{stderr}"
    );

    let p = project(dir.path(), "\n[sync]\nschedule = \"every hour\"\n");
    let (out, _, stderr) = run(&mut loopql(&["sync", "-p", p.to_str().unwrap()]));
    assert!(!out.status.success());
    assert!(
        stderr.contains("loopql.toml:15:12: sync schedule `every hour`"),
        "located: {stderr}"
    );

    // Every second (a leading seconds field): one run, then done.
    let p = project(dir.path(), "\n[sync]\nschedule = \"* * * * * *\"\n");
    let (out, _, stderr) = run(&mut loopql(&[
        "sync",
        "-q",
        "--on-schedule",
        "--runs",
        "1",
        "-p",
        p.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("on the schedule `* * * * * *` (UTC)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run 1 at") && stderr.contains("snapshot 1 committed"),
        "{stderr}"
    );
}

/// A running `loopql serve` and what it says on standard error.
struct Server {
    child: std::process::Child,
    addr: SocketAddr,
    said: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Server {
    fn start(project: &Path, extra: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec![
            "serve",
            "-p",
            project.to_str().unwrap(),
            "--listen",
            &listen,
        ];
        args.extend(extra);
        let mut child = loopql(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, said) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = lines.send(line);
            }
        });
        Self {
            child,
            addr: listen.parse().unwrap(),
            said,
            log: Vec::new(),
        }
    }

    fn wait_for(&mut self, what: &str) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(line) = self.said.recv_timeout(Duration::from_millis(200)) {
                let found = line.contains(what);
                self.log.push(line);
                if found {
                    return;
                }
            }
        }
        panic!("the server never said `{what}`: {:#?}", self.log);
    }

    fn clicks(&self) -> Vec<String> {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let mut admin = login(self.addr, ADMIN).await;
            cells(
                &flight_query(
                    &mut admin,
                    "SELECT sum(clicks) AS clicks FROM ad_performance",
                )
                .await
                .unwrap(),
            )
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_syncs_on_the_schedule_and_its_queries_read_the_new_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path(), "\n[sync]\nschedule = \"* * * * * *\"\n");
    add_principals(&p, "");
    let mut server = Server::start(&p, &[]);
    server.wait_for("snapshot 1 committed");
    assert_eq!(server.clicks(), ["14"]);
    export(dir.path(), 30);
    server.wait_for("snapshot 2 committed");
    assert_eq!(
        server.clicks(),
        ["34"],
        "the server reads the snapshot its sync committed"
    );
}

#[test]
fn serve_notices_a_snapshot_another_sync_committed() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path(), "");
    add_principals(&p, "");
    let sync = || {
        let (out, _, stderr) = run(&mut loopql(&["sync", "-q", "-p", p.to_str().unwrap()]));
        assert!(out.status.success(), "{stderr}");
    };
    sync();
    let mut server = Server::start(&p, &["--watch-snapshots", "1"]);
    server.wait_for("loopql Flight SQL on");
    assert_eq!(server.clicks(), ["14"]);
    export(dir.path(), 30);
    sync();
    server.wait_for("snapshot 2 is current (a sync committed it)");
    assert_eq!(
        server.clicks(),
        ["34"],
        "the server reads the snapshot the other process committed"
    );
}
