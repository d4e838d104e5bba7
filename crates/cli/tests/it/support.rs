//! Running the `loopql` binary from the integration tests.

use loopql_test_support::{library, repo_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn loopql(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loopql"));
    cmd.args(args)
        .env_remove("LOOPQL_PROJECT")
        .env_remove("RUST_LOG");
    cmd
}

pub fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("run loopql");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// `loopql query --format csv SQL` over `project`.
pub fn csv_cmd(project: &Path, sql: &str) -> Command {
    loopql(&[
        "query",
        "-p",
        project.to_str().unwrap(),
        "--format",
        "csv",
        sql,
    ])
}

/// A project reading `csv` as one Google Ads source, with the library named by explicit path.
pub fn google_ads_project(dir: &Path, csv: &Path, extra_paths: &[PathBuf]) -> PathBuf {
    let mut paths = vec![library("loopql_google_ads")];
    paths.extend_from_slice(extra_paths);
    let text = format!(
        "[plugins]\nsearch_default_dirs = false\npaths = {:?}\n\n[[clients]]\nid = \"acme\"\n\n[[sources]]\nconnector = \"google_ads\"\nclient_id = \"acme\"\noptions = {{ path = {:?} }}\n",
        paths, csv
    );
    let path = dir.join("loopql.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn fixture_csv() -> PathBuf {
    repo_root().join("tests/fixtures/project/exports/acme_google_ads.csv")
}

/// Runs a query as CSV and returns its records (header skipped).
pub fn csv_query(project: &Path, sql: &str) -> Vec<csv::StringRecord> {
    let (out, stdout, stderr) = run(&mut csv_cmd(project, sql));
    assert!(out.status.success(), "{sql}: {stderr}");
    csv::Reader::from_reader(stdout.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

/// A demo project in `dir` with an admin, a principal scoped to acme, and `limits` (TOML lines
/// for `[server]`).
pub fn demo_project(dir: &Path, limits: &str) -> PathBuf {
    let written =
        loopql_demo::write(&dir.join("demo"), &loopql_demo::Options::new(21, 0.05)).unwrap();
    loopql_test_support::flight::add_principals(&written.project_file, limits);
    written.project_file
}

/// A generator of kill delays seeded from the clock (the seed is printed, so a failing run can
/// be told apart): xorshift64*.
pub fn seeded_random() -> impl FnMut() -> u64 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill delays seeded with {seed}");
    let mut state = seed | 1;
    move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
