//! The `loopql` binary end to end: pushdown across the plugin ABI, errors on bad input, and every
//! output format read back. The demo and `connectors list|check` have files of their own.

use crate::support::{csv_cmd, fixture_csv, google_ads_project, loopql, run};
use loopql_test_support::repo_root;

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
