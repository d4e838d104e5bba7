//! Saved-query reports through the `loopql report` command line over the demo project: every
//! shipped report for every client, every format read back and compared with the query's result,
//! parameters refused before the query runs, SQL in a parameter staying a value, header errors
//! located, the previous-period comparison and highlights. Client scoping and annotations are in
//! `report_clients.rs`.

use crate::support::{loopql, run};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::SchemaRef;
use loopql_core::{EngineBuilder, Project};
use std::path::{Path, PathBuf};

pub(crate) fn demo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let written = loopql_demo::write(
        &dir.path().join("demo"),
        &loopql_demo::Options::new(11, 0.05),
    )
    .unwrap();
    (dir, written.project_file)
}

pub(crate) fn report(project: &Path, args: &[&str]) -> (std::process::Output, String, String) {
    let mut all = vec!["report"];
    all.extend_from_slice(&args[..1]);
    all.extend_from_slice(&["-p", project.to_str().unwrap()]);
    all.extend_from_slice(&args[1..]);
    run(&mut loopql(&all))
}

/// A report file in the project's reports folder.
pub(crate) fn add_report(project: &Path, name: &str, text: &str) {
    let dir = project.parent().unwrap().join("reports");
    std::fs::write(dir.join(format!("{name}.sql")), text).unwrap();
}

/// The result of `sql` on the engine scoped to `client`, as one batch.
async fn expected(project: &Path, client: &str, sql: &str) -> RecordBatch {
    let p = Project::load(project).unwrap();
    let engine = EngineBuilder::live(p)
        .client(Some(client))
        .unwrap()
        .open()
        .await
        .unwrap();
    let query = engine.sql(sql).await.unwrap();
    let schema: SchemaRef = query.schema();
    let batches = query.collect().await.unwrap();
    concat_batches(&schema, &batches).unwrap()
}

const SPEND_REPORT: &str = r#"/*---
title = "Spend by campaign"
[[params]]
name = "platform"
type = "string"
default = "google_ads"
[[params]]
name = "from"
type = "date"
required = true
[[params]]
name = "min_clicks"
type = "int"
default = 0
---*/
SELECT campaign_name, sum(clicks) AS clicks, sum(spend) AS spend, min(date) AS first_day
FROM ad_performance
WHERE platform = $platform AND date >= $from
GROUP BY campaign_name
HAVING sum(clicks) >= $min_clicks
ORDER BY campaign_name
"#;

const SPEND_SQL: &str = "SELECT campaign_name, sum(clicks) AS clicks, sum(spend) AS spend, min(date) AS first_day \
     FROM ad_performance WHERE platform = 'google_ads' AND date >= DATE '2024-02-01' \
     GROUP BY campaign_name HAVING sum(clicks) >= 0 ORDER BY campaign_name";

#[tokio::test]
async fn every_format_reads_back_as_the_query_result() {
    use datafusion::arrow::csv::ReaderBuilder as CsvReader;
    use datafusion::arrow::json::ReaderBuilder as JsonReader;
    let (dir, project) = demo();
    add_report(&project, "spend", SPEND_REPORT);
    let want = expected(&project, "acme", SPEND_SQL).await;
    assert!(want.num_rows() >= 2, "the fixture query has rows");
    let schema = want.schema();
    let out = dir.path().join("out");
    let file = |ext: &str| out.join(format!("spend.{ext}"));
    for ext in ["csv", "json", "ndjson", "parquet", "md", "html"] {
        let (o, _, err) = report(
            &project,
            &[
                "run",
                "spend",
                "--client",
                "acme",
                "--param",
                "from=2024-02-01",
                "--out",
                file(ext).to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{ext}: {err}");
    }
    let one = |batches: Vec<RecordBatch>| concat_batches(&schema, &batches).unwrap();
    let csv = CsvReader::new(schema.clone())
        .with_header(true)
        .build(std::fs::File::open(file("csv")).unwrap())
        .unwrap();
    assert_eq!(one(csv.map(Result::unwrap).collect()), want, "csv");
    let ndjson = JsonReader::new(schema.clone())
        .build(std::io::BufReader::new(
            std::fs::File::open(file("ndjson")).unwrap(),
        ))
        .unwrap();
    assert_eq!(one(ndjson.map(Result::unwrap).collect()), want, "ndjson");
    // The JSON array, parsed as JSON, then read as the same rows.
    // (Each element kept as its exact text: numbers are compared to the last digit.)
    let array: Vec<Box<serde_json::value::RawValue>> =
        serde_json::from_str(&std::fs::read_to_string(file("json")).unwrap()).unwrap();
    assert_eq!(array.len(), want.num_rows());
    let lines: String = array.iter().map(|v| format!("{}\n", v.get())).collect();
    let json = JsonReader::new(schema.clone())
        .build(std::io::Cursor::new(lines))
        .unwrap();
    assert_eq!(one(json.map(Result::unwrap).collect()), want, "json");
    let parquet = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(file("parquet")).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(one(parquet.map(Result::unwrap).collect()), want, "parquet");
    // Documents: one table row per result row, the parameters used, the client.
    let md = std::fs::read_to_string(file("md")).unwrap();
    assert!(md.starts_with("# Spend by campaign\n"), "{md}");
    assert!(md.contains("Client: acme"), "{md}");
    assert!(
        md.contains("from = 2024-02-01") && md.contains("platform = google_ads"),
        "{md}"
    );
    let names = datafusion::arrow::array::AsArray::as_string_view(want.column(0));
    let table_rows = md.lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(table_rows, want.num_rows() + 1, "header + rows:\n{md}");
    for name in names.iter().flatten() {
        assert!(md.contains(&format!("| {name} |")), "{name} in\n{md}");
    }
    let html = std::fs::read_to_string(file("html")).unwrap();
    assert_eq!(html.matches("<tr>").count(), want.num_rows() + 1);
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
}

#[test]
fn parameters_are_refused_before_the_query_runs() {
    let (dir, project) = demo();
    add_report(&project, "spend", SPEND_REPORT);
    let out = dir.path().join("refused.csv");
    for (params, says) in [
        (
            vec!["from=March"],
            "parameter `from`: expected a date YYYY-MM-DD",
        ),
        (
            vec!["from=2024-02-01", "min_clicks=lots"],
            "parameter `min_clicks`: expected a whole number",
        ),
        (
            vec!["from=2024-02-01", "colour=red"],
            "parameter `colour`: unknown; the report takes: platform, from, min_clicks",
        ),
        (
            vec![],
            "parameter `from`: required: pass --param from=VALUE (a date)",
        ),
    ] {
        let mut args = vec![
            "run",
            "spend",
            "--client",
            "acme",
            "--out",
            out.to_str().unwrap(),
        ];
        for p in &params {
            args.extend_from_slice(&["--param", p]);
        }
        let (o, _, err) = report(&project, &args);
        assert!(!o.status.success(), "{params:?} must fail");
        assert!(err.contains(says), "{params:?}: {err}");
        assert!(!out.exists(), "{params:?}: nothing written");
    }
    // Outside `allowed`: the shipped overview's attribution model.
    let (o, _, err) = report(
        &project,
        &[
            "run",
            "monthly_overview",
            "--client",
            "acme",
            "--param",
            "model=' OR 1=1 --",
        ],
    );
    assert!(!o.status.success());
    assert!(
        err.contains("is not allowed; use one of: first_touch"),
        "{err}"
    );
}

#[tokio::test]
async fn sql_in_a_parameter_stays_a_value() {
    let (dir, project) = demo();
    add_report(
        &project,
        "by_campaign",
        "/*---\n[[params]]\nname = \"campaign\"\ntype = \"string\"\nrequired = true\n---*/\n\
         SELECT client_id, campaign_name, sum(spend) AS spend FROM ad_performance \
         WHERE campaign_name = $campaign GROUP BY 1, 2 ORDER BY 1, 2\n",
    );
    let count = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).lines().count();
    let csv = dir.path().join("r.csv");
    let run_with = |value: &str| {
        let (o, _, err) = report(
            &project,
            &[
                "run",
                "by_campaign",
                "--param",
                &format!("campaign={value}"),
                "--out",
                csv.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{value}: {err}");
        let text = std::fs::read_to_string(&csv).unwrap();
        text.lines().count() - 1
    };
    let clients_before = run(&mut crate::support::csv_cmd(
        &project,
        "SELECT * FROM clients",
    ))
    .0;
    let files_before = snapshot(project.parent().unwrap());
    for attack in [
        "' OR 1=1 --",
        "x' OR 'a'='a",
        "'; DROP TABLE clients; --",
        "Brand - Exact'); DELETE FROM budgets; --",
    ] {
        assert_eq!(run_with(attack), 0, "{attack} matched rows");
    }
    assert!(
        run_with("Brand - Exact") >= 1,
        "a real campaign name matches"
    );
    let clients_after = run(&mut crate::support::csv_cmd(
        &project,
        "SELECT * FROM clients",
    ))
    .0;
    assert_eq!(count(&clients_before), count(&clients_after));
    assert_eq!(count(&clients_after), 4, "header + three clients");
    assert_eq!(
        files_before,
        snapshot(project.parent().unwrap()),
        "no project file changed"
    );
    // A report is a query: statements that change things are refused.
    add_report(
        &project,
        "ddl",
        "/*---\ntitle = \"x\"\n---*/\nDROP TABLE clients\n",
    );
    let (o, _, err) = report(&project, &["run", "ddl"]);
    assert!(!o.status.success());
    assert!(
        err.to_lowercase().contains("ddl not supported") || err.contains("not allowed"),
        "{err}"
    );
}

/// (path, bytes) of every file under `dir` except report outputs.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn header_errors_name_the_file_and_line() {
    let (_dir, project) = demo();
    add_report(
        &project,
        "broken",
        "/*---\ntitle = \"Broken\"\n\n[[params]]\nname = \"month\"\ntype = \"month\"\n---*/\nSELECT 1\n",
    );
    let (o, _, err) = report(&project, &["list"]);
    assert!(!o.status.success());
    assert!(
        err.contains("reports/broken.sql:6:8: report header: unknown variant `month`"),
        "{err}"
    );
    add_report(
        &project,
        "broken",
        "/*---\ntitle = \"Broken\"\nchart = { type = \"pie\" }\n---*/\nSELECT 1\n",
    );
    let (_, _, err) = report(&project, &["show", "broken"]);
    assert!(err.contains("reports/broken.sql:3:"), "{err}");
    add_report(
        &project,
        "broken",
        "/*---\ntitle = \"Undeclared\"\n---*/\nSELECT $nope\n",
    );
    let (o, _, err) = report(&project, &["run", "broken"]);
    assert!(!o.status.success());
    assert!(
        err.contains("uses $nope but the header declares no parameter `nope`"),
        "{err}"
    );
}

#[test]
fn every_shipped_report_runs_for_every_client() {
    let (dir, project) = demo();
    let (o, listing, err) = report(&project, &["list"]);
    assert!(o.status.success(), "{err}");
    for (name, _) in loopql_reports::SHIPPED {
        let name = name.trim_end_matches(".sql");
        assert!(listing.contains(name), "{name} listed:\n{listing}");
        let out = dir.path().join("all").join(name);
        let (o, _, err) = report(
            &project,
            &[
                "run",
                name,
                "--all-clients",
                "--format",
                "csv",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{name}: {err}");
        for client in ["acme", "globex", "initech"] {
            let text = std::fs::read_to_string(out.join(format!("{name}-{client}.csv"))).unwrap();
            let mut rows = csv::Reader::from_reader(text.as_bytes());
            let headers = rows.headers().unwrap().clone();
            let id = headers
                .iter()
                .position(|h| h == "client_id")
                .expect("client_id column");
            let rows: Vec<_> = rows.records().map(Result::unwrap).collect();
            assert!(!rows.is_empty(), "{name} for {client} has rows");
            assert!(
                rows.iter().all(|r| &r[id] == client),
                "{name}: only {client}'s rows"
            );
        }
        let (o, shown, _) = report(&project, &["show", name]);
        assert!(o.status.success() && shown.contains("SELECT"), "{shown}");
    }
}

#[tokio::test]
async fn the_overview_compares_with_the_previous_month() {
    let (dir, project) = demo();
    let out = dir.path().join("overview.csv");
    let (o, _, err) = report(
        &project,
        &[
            "run",
            "monthly_overview",
            "--client",
            "globex",
            "--param",
            "month=2024-03",
            "--param",
            "model=linear",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{err}");
    let mut r = csv::Reader::from_path(&out).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| {
        h.iter()
            .position(|x| x == n)
            .unwrap_or_else(|| panic!("{n} in {h:?}"))
    };
    let (channel, spend, prev, change) = (
        col("channel"),
        col("spend"),
        col("spend_prev"),
        col("spend_change"),
    );
    let want = expected(
        &project,
        "globex",
        "SELECT channel, sum(spend) FROM roi_by_channel WHERE month = DATE '2024-02-01' \
         AND model = 'linear' AND spend IS NOT NULL GROUP BY channel",
    )
    .await;
    let names = datafusion::arrow::array::AsArray::as_string_view(want.column(0));
    let feb = datafusion::arrow::array::AsArray::as_primitive::<
        datafusion::arrow::datatypes::Float64Type,
    >(want.column(1));
    let mut checked = 0;
    for row in r.records().map(Result::unwrap) {
        let Ok(now) = row[spend].parse::<f64>() else {
            continue;
        };
        let i = (0..want.num_rows())
            .find(|&i| names.value(i) == &row[channel])
            .unwrap();
        let before: f64 = row[prev].parse().unwrap();
        assert!(
            (before - feb.value(i)).abs() < 1e-6,
            "{}: February spend",
            &row[channel]
        );
        let c: f64 = row[change].parse().unwrap();
        assert!((c - (now / before - 1.0)).abs() < 1e-9);
        checked += 1;
    }
    assert!(checked >= 1, "paid channels compared");
    // The document names the period compared and the wins and problems.
    let md = dir.path().join("overview.md");
    let (o, _, err) = report(
        &project,
        &[
            "run",
            "monthly_overview",
            "--client",
            "globex",
            "--param",
            "month=2024-03",
            "--out",
            md.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{err}");
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains("Period: 2024-03-01 – 2024-03-31 (compared with 2024-02-01 – 2024-02-29)"),
        "{md}"
    );
    assert!(
        md.contains("## Highlights")
            && md.contains("Wins (roas rose most)")
            && md.contains("Problems (roas fell most)"),
        "{md}"
    );
    assert!(
        md.contains(" → "),
        "a highlight names its before and after:\n{md}"
    );
    assert!(md.contains("Data as of: "), "{md}");
}
