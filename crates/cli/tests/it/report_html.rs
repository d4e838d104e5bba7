//! The HTML report in a real headless Chromium (installed by `cargo xtask test`), driven over the
//! DevTools protocol by tests/python/html_check.py: the page loads with no console errors and no
//! request beyond itself, the SVG chart and the table are there, and a screenshot is kept in
//! `<target>/test-artifacts/`.

use crate::support::{loopql, run};
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> String {
    std::env::var("LOOPQL_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

fn python() -> String {
    std::env::var("LOOPQL_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// What the browser saw of `page`.
fn check(page: &Path, screenshot: &Path) -> serde_json::Value {
    let out = Command::new(python())
        .arg(loopql_test_support::repo_root().join("tests/python/html_check.py"))
        .arg(chromium())
        .arg(page)
        .arg(screenshot)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "html_check.py failed (is Chromium installed? `cargo xtask test` installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn artifacts() -> PathBuf {
    let dir = loopql_test_support::target_dir().join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_html_report_opens_offline_with_its_chart_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let written = loopql_demo::write(
        &dir.path().join("demo"),
        &loopql_demo::Options::new(3, 0.05),
    )
    .unwrap();
    let project = written.project_file.to_str().unwrap().to_string();
    let page = dir.path().join("overview.html");
    let csv = dir.path().join("overview.csv");
    for out in [&page, &csv] {
        let (o, _, err) = run(&mut loopql(&[
            "report",
            "run",
            "monthly_overview",
            "-p",
            &project,
            "--client",
            "acme",
            "--param",
            "month=2024-03",
            "--out",
            out.to_str().unwrap(),
        ]));
        assert!(o.status.success(), "{err}");
    }
    let rows = csv::Reader::from_path(&csv).unwrap().records().count() as u64;
    let shot = artifacts().join("monthly_overview-acme.png");
    let _ = std::fs::remove_file(&shot);
    let seen = check(&page, &shot);
    assert_eq!(seen["console_errors"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["external_requests"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["title"], "Monthly client overview");
    assert_eq!(seen["chart_svg"], 1, "the chart is an inline SVG: {seen}");
    assert_eq!(
        seen["table_rows"].as_u64(),
        Some(rows),
        "one table row per result row"
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot saved"
    );
    eprintln!("screenshot: {}", shot.display());
}

/// The checker itself: a page that logs an error and loads a remote image is caught.
#[test]
fn the_browser_check_catches_errors_and_remote_requests() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><title>bad</title></head><body>\
         <script>console.error('boom')</script><img src=\"http://example.invalid/x.png\"></body></html>",
    )
    .unwrap();
    let seen = check(&page, &dir.path().join("bad.png"));
    let errors = seen["console_errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e == "boom"), "{seen}");
    assert_eq!(
        seen["external_requests"],
        serde_json::json!(["http://example.invalid/x.png"])
    );
    assert_eq!(seen["chart_svg"], 0);
}
