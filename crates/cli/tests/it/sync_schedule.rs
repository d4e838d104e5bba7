//! Unattended syncs: `loopql sync --every` runs again (a run that finds nothing new commits
//! nothing), `--on-schedule` follows the project's `[sync] schedule`, a bad pattern is refused
//! where it is written, and `loopql serve` syncs on the schedule, its next queries reading the
//! new snapshot.

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

#[test]
fn serve_syncs_on_the_schedule_and_its_queries_read_the_new_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path(), "\n[sync]\nschedule = \"* * * * * *\"\n");
    add_principals(&p, "");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = loopql(&["serve", "-p", p.to_str().unwrap(), "--listen", &listen])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, seen) = mpsc::channel();
    let stderr = server.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let mut log = Vec::new();
    let mut wait_for = |what: &str| {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(line) = seen.recv_timeout(Duration::from_millis(200)) {
                let found = line.contains(what);
                log.push(line);
                if found {
                    return;
                }
            }
        }
        panic!("the server never said `{what}`: {log:#?}");
    };
    wait_for("snapshot 1 committed");
    let addr: SocketAddr = listen.parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sql = "SELECT sum(clicks) AS clicks FROM ad_performance";
    let before = runtime.block_on(async {
        let mut admin = login(addr, ADMIN).await;
        cells(&flight_query(&mut admin, sql).await.unwrap())
    });
    assert_eq!(before, ["14"]);
    export(dir.path(), 30);
    wait_for("snapshot 2 committed");
    let after = runtime.block_on(async {
        let mut admin = login(addr, ADMIN).await;
        cells(&flight_query(&mut admin, sql).await.unwrap())
    });
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        after,
        ["34"],
        "the server reads the snapshot its sync committed"
    );
}
