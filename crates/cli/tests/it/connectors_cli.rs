//! `loopql connectors list|check` end to end: loaded and refused libraries, rows per source, and
//! bad rows failing with their location or, when asked, skipped and reported.

use crate::support::{fixture_csv, google_ads_project, loopql, run};
use loopql_test_support::{library, repo_root};
use std::path::{Path, PathBuf};

#[test]
fn connectors_list_and_check_report_loaded_refused_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let project = google_ads_project(dir.path(), &fixture_csv(), &[]);
    let (out, stdout, stderr) = run(&mut loopql(&[
        "connectors",
        "check",
        "-p",
        project.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("google_ads 0.1.0"), "{stdout}");
    assert!(
        stdout.contains("table google_ads.campaign_stats: segments_date Date32"),
        "{stdout}"
    );
    assert!(
        stdout.contains("option mode (a string): files (exports, `path`) or api"),
        "{stdout}"
    );
    assert!(
        stdout.contains("option path (a file glob): files mode: files to read"),
        "{stdout}"
    );
    assert!(
        stdout.contains("acme_google_ads (acme): google_ads.campaign_stats 5 rows"),
        "{stdout}"
    );

    let project = google_ads_project(
        dir.path(),
        &fixture_csv(),
        &[library("loopqltest_wrong_abi")],
    );
    let (out, stdout, _) = run(&mut loopql(&[
        "connectors",
        "list",
        "-p",
        project.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("Refused libraries:"), "{stdout}");
    assert!(
        stdout.contains("speaks connector ABI v2, this loopql speaks v1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("google_ads 0.1.0"),
        "a refusal must not hide the good connectors: {stdout}"
    );
}

/// A project with one client and one source of `connector` over `path`, skipping bad rows when
/// `skip` (`skip.toml` / `fail.toml` in `dir`).
fn one_source_project(
    dir: &Path,
    client: &str,
    connector: &str,
    path: &Path,
    skip: bool,
) -> PathBuf {
    let project = dir.join(if skip { "skip.toml" } else { "fail.toml" });
    let option = if skip { ", on_bad_row = \"skip\"" } else { "" };
    std::fs::write(
        &project,
        format!(
            "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n[[clients]]\nid = \"{client}\"\n\n[[sources]]\nconnector = \"{connector}\"\nclient_id = \"{client}\"\noptions = {{ path = {path:?}{option} }}\n",
            library(&format!("loopql_{connector}")),
        ),
    )
    .unwrap();
    project
}

#[test]
fn bad_rows_are_skipped_only_when_asked_and_never_silently() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.csv");
    let text = std::fs::read_to_string(
        repo_root().join("tests/fixtures/project/exports/initech_microsoft_ads.csv"),
    )
    .unwrap()
    .replace("\"15.50\"", "\"15,5O\"");
    std::fs::write(&report, text).unwrap();
    let project =
        |skip: bool| one_source_project(dir.path(), "initech", "microsoft_ads", &report, skip);

    // By default the bad value fails, with its location.
    let (out, stdout, _) = run(&mut loopql(&[
        "connectors",
        "check",
        "-p",
        project(false).to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAILED")
            && stdout.contains("report.csv:7:9: column `Spend`: expected a number, found `15,5O`"),
        "{stdout}"
    );

    // Asked to skip: the good row is read, and check reports the skipped one with its location.
    let skip = project(true);
    let (out, stdout, _) = run(&mut loopql(&[
        "connectors",
        "check",
        "-p",
        skip.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout
            .contains("initech_microsoft_ads (initech): microsoft_ads.campaign_performance 1 rows"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 bad rows skipped; first ones:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("report.csv:7:9: column `Spend`"),
        "{stdout}"
    );
    // Queries warn on stderr too.
    let (out, stdout, stderr) = run(&mut loopql(&[
        "query",
        "-p",
        skip.to_str().unwrap(),
        "--format",
        "csv",
        "SELECT sum(spend) AS s FROM microsoft_ads.campaign_performance",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "s\n20.0\n");
    assert!(stderr.contains("bad rows skipped"), "{stderr}");
}

#[test]
fn a_bad_element_of_a_json_response_is_skipped_and_reported_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("insights.ndjson");
    let text = std::fs::read_to_string(
        repo_root().join("tests/fixtures/project/exports/globex_meta_insights.ndjson"),
    )
    .unwrap();
    assert!(text.contains("\"spend\":\"15.50\""));
    std::fs::write(
        &pages,
        text.replace("\"spend\":\"15.50\"", "\"spend\":\"15,5O\""),
    )
    .unwrap();
    let project = |skip: bool| one_source_project(dir.path(), "globex", "meta_ads", &pages, skip);
    let check = |project: PathBuf| {
        run(&mut loopql(&[
            "connectors",
            "check",
            "-p",
            project.to_str().unwrap(),
        ]))
    };
    // By default the whole read fails, at the bad value's line and column.
    let (out, stdout, _) = check(project(false));
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("insights.ndjson:1:"), "{stdout}");
    assert!(stdout.contains("\"15,5O\""), "{stdout}");
    // Asked to skip: the other rows of the same page are kept, and the skipped one is reported.
    let (out, stdout, _) = check(project(true));
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("meta_ads.insights 2 rows"), "{stdout}");
    assert!(
        stdout.contains("1 bad rows skipped; first ones:"),
        "{stdout}"
    );
    assert!(stdout.contains("insights.ndjson:1:"), "{stdout}");
}
