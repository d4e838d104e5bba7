//! The `loopql` binary end to end: pushdown across the plugin ABI, errors on bad input, the demo's
//! ground truth, every output format read back, and `connectors list|check`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{library, repo_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn loopql(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loopql"));
    cmd.args(args)
        .env_remove("LOOPQL_PROJECT")
        .env_remove("RUST_LOG");
    cmd
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("run loopql");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// `loopql query --format csv SQL` over `project`.
fn csv_cmd(project: &Path, sql: &str) -> Command {
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
fn google_ads_project(dir: &Path, csv: &Path, extra_paths: &[PathBuf]) -> PathBuf {
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

fn fixture_csv() -> PathBuf {
    repo_root().join("tests/fixtures/project/exports/acme_google_ads.csv")
}

#[test]
fn projection_limit_and_date_range_reach_the_connector() {
    let dir = tempfile::tempdir().unwrap();
    let project = google_ads_project(dir.path(), &fixture_csv(), &[]);
    let trace = dir.path().join("trace.jsonl");
    let sql = "SELECT campaign_name, metrics_clicks FROM google_ads.campaign_stats \
               WHERE segments_date >= DATE '2024-01-02' AND segments_date < DATE '2024-02-01' ORDER BY metrics_clicks DESC";
    let (out, stdout, stderr) = run(csv_cmd(&project, sql).env("LOOPQL_CONNECTOR_TRACE", &trace));
    assert!(out.status.success(), "{stderr}");
    // The file's rows for January 2nd, and nothing else.
    assert_eq!(
        stdout,
        "campaign_name,metrics_clicks\nBrand,120\nGeneric,0\n"
    );
    let seen: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&trace)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(seen["table"], "campaign_stats");
    let mut projection: Vec<u64> = seen["projection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    projection.sort();
    assert_eq!(
        projection,
        [4, 7],
        "campaign_name and metrics_clicks only: {seen}"
    );
    let filters = seen["filters"].to_string();
    assert!(
        filters
            .contains(r#"{"column":"segments_date","op":"gt_eq","value":{"date":"2024-01-02"}}"#),
        "{filters}"
    );
    assert!(
        filters.contains(r#"{"column":"segments_date","op":"lt","value":{"date":"2024-02-01"}}"#),
        "{filters}"
    );

    // With every filter exact, LIMIT reaches the connector too.
    std::fs::remove_file(&trace).unwrap();
    let sql = "SELECT campaign_id FROM google_ads.campaign_stats WHERE segments_date >= DATE '2024-01-02' LIMIT 2";
    let (out, stdout, stderr) = run(csv_cmd(&project, sql).env("LOOPQL_CONNECTOR_TRACE", &trace));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    let seen: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&trace)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(seen["limit"], 2, "{seen}");
}

#[test]
fn malformed_export_names_file_line_column_value_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    let text = std::fs::read_to_string(fixture_csv()).unwrap().replace(
        "2024-01-02,111,USD,11,Brand,SEARCH,1200,120,",
        "2024-01-02,111,USD,11,Brand,SEARCH,1200,12O,",
    );
    std::fs::write(&csv, text).unwrap();
    let project = google_ads_project(dir.path(), &csv, &[]);
    let (out, _, stderr) = run(&mut loopql(&[
        "query",
        "-p",
        project.to_str().unwrap(),
        "SELECT sum(metrics_clicks) FROM google_ads.campaign_stats",
    ]));
    assert!(!out.status.success());
    let expected = format!(
        "{}:4:8: column `metrics.clicks`: expected an integer, found `12O`",
        csv.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("connector `google_ads` failed to read `google_ads.campaign_stats` for source `acme_google_ads`"), "{stderr}");
}

#[test]
fn bad_project_file_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("loopql.toml");
    std::fs::write(&project, "[[clients]]\nid = \"acme\"\nzone = \"UTC\"\n").unwrap();
    let (out, _, stderr) = run(&mut loopql(&[
        "query",
        "-p",
        project.to_str().unwrap(),
        "SELECT 1",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(&format!(
            "{}:3:1: unknown field `zone`, expected one of",
            project.display()
        )),
        "{stderr}"
    );
}

/// Runs a query as CSV and returns its records (header skipped).
fn csv_query(project: &Path, sql: &str) -> Vec<csv::StringRecord> {
    let (out, stdout, stderr) = run(&mut csv_cmd(project, sql));
    assert!(out.status.success(), "{sql}: {stderr}");
    csv::Reader::from_reader(stdout.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

fn truth(demo: &Path, name: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(demo.join("ground_truth").join(name))
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

fn close(ours: &str, theirs: &str) -> bool {
    let (a, b): (f64, f64) = (ours.parse().unwrap(), theirs.parse().unwrap());
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn demo_totals_equal_its_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let (out, stdout, stderr) = run(&mut loopql(&[
        "demo",
        "--dir",
        demo.to_str().unwrap(),
        "--seed",
        "11",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Try next:"), "{stdout}");
    let project = demo.join("loopql.toml");

    // Ads: spend per client, platform and month, in the account's currency and converted to the
    // reporting one.
    let ours = csv_query(
        &project,
        "SELECT client_id, platform, to_char(date, '%Y-%m') AS month, sum(impressions), sum(clicks), \
         sum(spend_original), sum(spend), sum(conversions), sum(conversion_value) FROM ad_performance \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    );
    let expected = truth(&demo, "ads_by_client_platform_month.csv");
    assert_eq!(ours.len(), 18);
    assert_eq!(ours.len(), expected.len());
    for (o, t) in ours.iter().zip(&expected) {
        assert_eq!(
            (&o[0], &o[1], &o[2], &o[3], &o[4]),
            (&t[0], &t[1], &t[2], &t[4], &t[5]),
            "{o:?} vs {t:?}"
        );
        for (a, b) in [(5, 6), (6, 7), (7, 8), (8, 10)] {
            assert!(close(&o[a], &t[b]), "column {a}: {o:?} vs {t:?}");
        }
    }
    // initech's Google Ads account bills in USD and reports in GBP: the conversion really happened.
    let initech = expected
        .iter()
        .find(|t| &t[0] == "initech" && &t[1] == "google_ads")
        .unwrap();
    assert_eq!(&initech[3], "USD");
    assert!(!close(&initech[6], &initech[7]));

    // CRM: deals won and revenue per client and close month.
    let ours = csv_query(
        &project,
        "SELECT client_id, to_char(closed_date, '%Y-%m') AS month, count(*), sum(amount) FROM deals WHERE is_won \
         GROUP BY 1, 2 ORDER BY 1, 2",
    );
    let expected = truth(&demo, "crm_won_by_client_month.csv");
    assert!(!expected.is_empty());
    assert_eq!(ours.len(), expected.len());
    for (o, t) in ours.iter().zip(&expected) {
        assert_eq!(
            (&o[0], &o[1], &o[2]),
            (&t[0], &t[1], &t[2]),
            "{o:?} vs {t:?}"
        );
        assert!(close(&o[3], &t[3]), "{o:?} vs {t:?}");
    }

    // CRM campaign touches (globex's Salesforce webinar) reach touchpoints, keyed to CRM people.
    let crm = csv_query(
        &project,
        "SELECT t.client_id, count(*), count(c.email) FROM touchpoints t \
         LEFT JOIN contacts c ON c.client_id = t.client_id AND c.email = t.person_key \
         WHERE t.touch_type = 'crm_campaign' GROUP BY 1",
    );
    assert_eq!(crm.len(), 1, "{crm:?}");
    assert_eq!(&crm[0][0], "globex");
    assert!(crm[0][1].parse::<u64>().unwrap() > 0);
    assert_eq!(crm[0][1], crm[0][2], "every CRM touch is a known contact");

    // Web and funnel: sessions per client (GA4 or Snowplow) and leads (HubSpot or Salesforce).
    let sessions = csv_query(
        &project,
        "SELECT client_id, count(*) FROM sessions GROUP BY 1 ORDER BY 1",
    );
    let leads = csv_query(
        &project,
        "SELECT client_id, count(*) FROM contacts GROUP BY 1 ORDER BY 1",
    );
    let expected = truth(&demo, "web_by_client.csv");
    for ((s, l), t) in sessions.iter().zip(&leads).zip(&expected) {
        assert_eq!(
            (&s[0], &s[1], &l[1]),
            (&t[0], &t[1], &t[2]),
            "{s:?} {l:?} vs {t:?}"
        );
    }

    // The same seed writes the same data; another seed does not.
    let again = dir.path().join("again");
    run(&mut loopql(&[
        "demo",
        "--dir",
        again.to_str().unwrap(),
        "--seed",
        "11",
    ]));
    let a = std::fs::read(demo.join("ground_truth/ads_by_client_platform_month.csv")).unwrap();
    assert_eq!(
        a,
        std::fs::read(again.join("ground_truth/ads_by_client_platform_month.csv")).unwrap()
    );
    let other = dir.path().join("other");
    run(&mut loopql(&[
        "demo",
        "--dir",
        other.to_str().unwrap(),
        "--seed",
        "12",
    ]));
    assert_ne!(
        a,
        std::fs::read(other.join("ground_truth/ads_by_client_platform_month.csv")).unwrap()
    );
}

/// Writes a demo project with `args` into `dir/name` and returns its project file.
fn demo_project(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let demo = dir.join(name);
    let mut all = vec!["demo", "--dir", demo.to_str().unwrap()];
    all.extend_from_slice(args);
    let (out, _, stderr) = run(&mut loopql(&all));
    assert!(out.status.success(), "{stderr}");
    demo.join("loopql.toml")
}

#[test]
fn demo_ads_follow_the_journeys_and_over_report_conversions() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo_project(dir.path(), "demo", &["--seed", "5"]);
    // Clicks follow the paid sessions the analytics tool saw: a few more, never fewer.
    let rows = csv_query(
        &project,
        "SELECT a.client_id, a.platform, a.clicks, s.sessions FROM \
           (SELECT client_id, platform, sum(clicks) AS clicks FROM ad_performance GROUP BY 1, 2) a \
         JOIN (SELECT client_id, CASE channel WHEN 'Paid Search' THEN 'google_ads' ELSE 'meta_ads' END AS platform, \
                      count(*) AS sessions FROM sessions WHERE channel IN ('Paid Search', 'Paid Social') GROUP BY 1, 2) s \
           ON s.client_id = a.client_id AND s.platform = a.platform ORDER BY 1, 2",
    );
    assert_eq!(rows.len(), 6, "{rows:?}");
    for r in &rows {
        let (clicks, sessions): (f64, f64) = (r[2].parse().unwrap(), r[3].parse().unwrap());
        assert!(sessions > 20.0, "{r:?}");
        let (low, high) = if &r[1] == "google_ads" {
            (1.05, 1.3)
        } else {
            (1.3, 1.8)
        };
        assert!(
            clicks >= sessions * low * 0.97 && clicks <= sessions * high * 1.03,
            "{r:?}"
        );
    }
    // Each platform claims more conversions than the CRM leads behind its clicks, and the
    // ground truth says by how much.
    let over = truth(
        project.parent().unwrap(),
        "platform_conversions_vs_crm_leads.csv",
    );
    let mut claimed: std::collections::BTreeMap<(String, String), (f64, f64)> = Default::default();
    for t in &over {
        let e = claimed
            .entry((t[0].to_string(), t[1].to_string()))
            .or_default();
        e.0 += t[3].parse::<f64>().unwrap();
        e.1 += t[4].parse::<f64>().unwrap();
    }
    assert_eq!(claimed.len(), 6);
    for ((client, platform), (conversions, leads)) in &claimed {
        assert!(*leads > 0.0, "{client} {platform}");
        let ratio = conversions / leads;
        assert!((1.1..1.65).contains(&ratio), "{client} {platform}: {ratio}");
    }
    // Leads in the CRM: every platform-claimed lead is a real one.
    let leads = csv_query(
        &project,
        "SELECT client_id, count(*) FROM contacts GROUP BY 1 ORDER BY 1",
    );
    for l in &leads {
        let google = claimed[&(l[0].to_string(), "google_ads".to_string())].1;
        assert!(google <= l[1].parse::<f64>().unwrap(), "{l:?}");
    }
}

#[test]
fn demo_scale_grows_the_data_linearly() {
    let dir = tempfile::tempdir().unwrap();
    let count = |project: &Path| -> (f64, f64) {
        let r = &csv_query(
            project,
            "SELECT (SELECT count(*) FROM sessions), (SELECT sum(clicks) FROM ad_performance)",
        )[0];
        (r[0].parse().unwrap(), r[1].parse().unwrap())
    };
    let small = count(&demo_project(dir.path(), "small", &["--scale", "0.02"]));
    let large = count(&demo_project(dir.path(), "large", &["--scale", "0.06"]));
    for (a, b) in [(small.0, large.0), (small.1, large.1)] {
        assert!((2.7..3.3).contains(&(b / a)), "{small:?} -> {large:?}");
    }
}

#[test]
fn demo_restated_export_changes_only_the_last_days_conversions() {
    let dir = tempfile::tempdir().unwrap();
    // Sums rounded: float addition order varies between runs.
    let sql = "SELECT CAST(date AS VARCHAR) AS day, platform, sum(clicks), round(sum(spend_original), 4), \
               round(sum(conversions), 4) FROM ad_performance GROUP BY 1, 2 ORDER BY 1, 2";
    // A scale with leads on the last days.
    let args = ["--seed", "3", "--scale", "0.2"];
    let first = csv_query(&demo_project(dir.path(), "first", &args), sql);
    let mut restated = args.to_vec();
    restated.push("--restated");
    let later = csv_query(&demo_project(dir.path(), "later", &restated), sql);
    assert_eq!(first.len(), later.len());
    let mut changed = std::collections::BTreeSet::new();
    for (a, b) in first.iter().zip(&later) {
        assert_eq!((&a[0], &a[1], &a[2], &a[3]), (&b[0], &b[1], &b[2], &b[3]));
        let (x, y): (f64, f64) = (a[4].parse().unwrap(), b[4].parse().unwrap());
        assert!(y >= x, "{a:?} -> {b:?}");
        if x != y {
            changed.insert(a[0].to_string());
        }
    }
    // Conversions still being counted at the first export are restated; nothing else moves.
    assert!(!changed.is_empty());
    assert!(
        changed.iter().all(|d| d.as_str() >= "2024-03-29"),
        "{changed:?}"
    );
}

#[test]
fn every_output_format_reads_back_to_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let project = google_ads_project(dir.path(), &fixture_csv(), &[]);
    let sql = "SELECT CAST(segments_date AS VARCHAR) AS day, campaign_name, metrics_cost_micros AS micros \
               FROM google_ads.campaign_stats ORDER BY day, campaign_name";
    let expected = [
        ("2024-01-01", "Brand", 50000000i64),
        ("2024-01-01", "Generic", 80000000),
        ("2024-01-02", "Brand", 60000000),
        ("2024-01-02", "Generic", 0),
        ("2024-02-01", "Brand", 25000000),
    ];
    let write = |format: &str| {
        let path = dir.path().join(format!("out.{format}"));
        let (out, _, stderr) = run(&mut loopql(&[
            "query",
            "-p",
            project.to_str().unwrap(),
            "--format",
            format,
            "--out",
            path.to_str().unwrap(),
            sql,
        ]));
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("wrote 5 rows"), "{stderr}");
        path
    };
    let from_json = |v: &serde_json::Value| {
        (
            v["day"].as_str().unwrap().to_string(),
            v["campaign_name"].as_str().unwrap().to_string(),
            v["micros"].as_i64().unwrap(),
        )
    };
    let want: Vec<(String, String, i64)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();

    let csv_rows: Vec<(String, String, i64)> = csv::Reader::from_path(write("csv"))
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string(), r[2].parse().unwrap())
        })
        .collect();
    assert_eq!(csv_rows, want);

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(write("json")).unwrap()).unwrap();
    assert_eq!(
        json.as_array()
            .unwrap()
            .iter()
            .map(from_json)
            .collect::<Vec<_>>(),
        want
    );

    let ndjson = std::fs::read_to_string(write("ndjson")).unwrap();
    let rows: Vec<_> = ndjson
        .lines()
        .map(|l| from_json(&serde_json::from_str(l).unwrap()))
        .collect();
    assert_eq!(rows, want);

    let file = std::fs::File::open(write("parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let text = |i: usize, r: usize| {
            datafusion::arrow::util::display::array_value_to_string(batch.column(i), r).unwrap()
        };
        for r in 0..batch.num_rows() {
            rows.push((text(0, r), text(1, r), text(2, r).parse().unwrap()));
        }
    }
    assert_eq!(rows, want);

    let table = run(&mut loopql(&[
        "query",
        "-p",
        project.to_str().unwrap(),
        sql,
    ]))
    .1;
    assert!(
        table.contains("| 2024-01-02 | Brand         | 60000000 |"),
        "{table}"
    );
    assert!(table.ends_with("(5 rows)\n"), "{table}");
}

#[test]
fn failed_query_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let project = google_ads_project(dir.path(), &fixture_csv(), &[]);
    let out_file = dir.path().join("result.csv");
    std::fs::write(&out_file, "previous result\n").unwrap();
    let (out, _, _) = run(&mut loopql(&[
        "query",
        "-p",
        project.to_str().unwrap(),
        "--format",
        "csv",
        "--out",
        out_file.to_str().unwrap(),
        "SELECT 1/0 FROM google_ads.campaign_stats",
    ]));
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "previous result\n"
    );
}

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
        stdout.contains("option path (required) (a file glob)"),
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

#[test]
fn a_bad_budget_cell_is_located() {
    let project = repo_root().join("tests/fixtures/bad_budgets/loopql.toml");
    let (out, _, stderr) = run(&mut loopql(&[
        "query",
        "-p",
        project.to_str().unwrap(),
        "SELECT * FROM budgets",
    ]));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("budgets.csv:3:2: column `month`: expected a month YYYY-MM, found `March`"),
        "{stderr}"
    );
}

#[test]
fn a_query_error_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let project = google_ads_project(dir.path(), &fixture_csv(), &[]);
    let (out, _, stderr) = run(&mut loopql(&[
        "query",
        "-p",
        project.to_str().unwrap(),
        "SELECT nope FROM google_ads.campaign_stats",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.matches("No field named nope").count(), 1, "{stderr}");
}
