//! The plugin host against real connector libraries loaded from disk: good ones are queried,
//! broken ones are refused with a clear message, and the process keeps working.

use datafusion::arrow::array::{Array, Float64Array, Int64Array};
use loopql_core::plugin_host::PluginHost;
use loopql_core::{Engine, EngineBuilder, Project};
use loopql_test_support::{library, probe_project};

async fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let project = Project::load(&probe_project(dir.path())).unwrap();
    let engine = EngineBuilder::live(project).open().await.unwrap();
    (dir, engine)
}

async fn int_column(engine: &Engine, sql: &str) -> Vec<i64> {
    let batches = engine.collect(sql).await.unwrap();
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            a.values().to_vec()
        })
        .collect()
}

async fn query_error(engine: &Engine, sql: &str) -> String {
    match engine.sql(sql).await {
        Err(e) => e.to_string(),
        Ok(df) => df
            .collect()
            .await
            .expect_err("query should fail")
            .to_string(),
    }
}

#[tokio::test]
async fn probe_rows_per_source_with_client_id() {
    let (_d, engine) = engine().await;
    let counts = int_column(
        &engine,
        "SELECT count(*) FROM probe.events GROUP BY client_id ORDER BY client_id",
    )
    .await;
    assert_eq!(counts, [40, 10]);
    let batches = engine
        .sql("SELECT sum(value) FROM probe.events WHERE client_id = 'globex'")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let sum = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .value(0);
    assert_eq!(sum, (0..10).map(|i| i as f64 * 1.5).sum::<f64>());
}

#[tokio::test]
async fn inexact_filter_is_rechecked_by_the_host() {
    let (_d, engine) = engine().await;
    // `id` is declared inexact: the probe ignores it, so the host must apply it.
    let ids = int_column(
        &engine,
        "SELECT id FROM probe.events WHERE client_id = 'acme' AND id > 35 ORDER BY id",
    )
    .await;
    assert_eq!(ids, [36, 37, 38, 39]);
}

#[tokio::test]
async fn broken_libraries_are_refused_and_the_host_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = PluginHost::new();

    let fake = dir.path().join(format!(
        "{}loopql_fake{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::write(&fake, "this is not a shared library").unwrap();
    let err = host.load(&fake).unwrap_err().to_string();
    assert!(err.contains("not a loadable shared library"), "{err}");

    let err = host
        .load(&library("loopqltest_no_symbols"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a loopql connector: it does not export `loopql_connector_abi_version`"),
        "{err}"
    );

    let err = host
        .load(&library("loopqltest_wrong_abi"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("speaks connector ABI v2, this loopql speaks v1"),
        "{err}"
    );

    let err = host
        .load(&library("loopqltest_bad_manifest"))
        .unwrap_err()
        .to_string();
    for problem in [
        "invalid manifest",
        "table `Bad Table`: expected a lowercase SQL identifier",
        "table `good` is declared twice",
        "filter on `nope`, which is not one of its columns",
        "mapping onto `no_such_view`, which is not a harmonized view",
    ] {
        assert!(err.contains(problem), "missing `{problem}` in: {err}");
    }
    assert!(host.connectors().next().is_none());

    // The same host then loads a good library and serves queries.
    host.load(&library("loopqltest_probe")).unwrap();
    let project = Project::load(&probe_project(dir.path())).unwrap();
    let live = std::sync::Arc::new(loopql_core::engine::Live::with_host(host));
    let engine = EngineBuilder::new(project, live).open().await.unwrap();
    assert_eq!(
        int_column(&engine, "SELECT count(*) FROM probe.events").await,
        [50]
    );
}

#[tokio::test]
async fn discovery_records_refusals_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join(format!(
        "{}loopql_broken{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::write(&bad, [0u8; 64]).unwrap();
    let host = PluginHost::discover(&[dir.path().to_path_buf()], &[library("loopqltest_probe")]);
    assert_eq!(host.refused().len(), 1);
    assert_eq!(host.refused()[0].path, bad);
    assert!(host.get("probe").is_some());
}

#[tokio::test]
async fn panicking_scan_fails_the_query_not_the_process() {
    let (_d, engine) = engine().await;
    let err = query_error(&engine, "SELECT * FROM probe.panics_on_scan").await;
    assert!(
        err.contains("connector `probe` failed to open `probe.panics_on_scan`"),
        "{err}"
    );
    assert!(
        err.contains("connector panicked: probe was told to panic on scan"),
        "{err}"
    );
    assert_eq!(
        int_column(&engine, "SELECT count(*) FROM probe.events").await,
        [50]
    );
}

#[tokio::test]
async fn stream_failing_midway_fails_the_query_with_the_connectors_message() {
    let (_d, engine) = engine().await;
    let err = query_error(&engine, "SELECT * FROM probe.fails_midway").await;
    assert!(
        err.contains("connector `probe` failed to read `probe.fails_midway`"),
        "{err}"
    );
    assert!(
        err.contains("probe lost its connection after 5 rows"),
        "{err}"
    );
    assert!(
        !err.contains("External error"),
        "arrow's prefixes should be stripped: {err}"
    );

    let err = query_error(&engine, "SELECT * FROM probe.panics_midway").await;
    assert!(
        err.contains("connector panicked while reading: probe panicked midway"),
        "{err}"
    );

    assert_eq!(
        int_column(&engine, "SELECT count(*) FROM probe.events").await,
        [50]
    );
}

#[tokio::test]
async fn unknown_connector_in_project_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loopql.toml");
    std::fs::write(
        &path,
        "[plugins]\nsearch_default_dirs = false\n[[clients]]\nid = \"acme\"\n[[sources]]\nconnector = \"meta_ads\"\nclient_id = \"acme\"\n",
    )
    .unwrap();
    let err = EngineBuilder::live(Project::load(&path).unwrap())
        .open()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "loopql.toml:6:13: source `acme_meta_ads`: no connector named `meta_ads` is loaded"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn option_errors_name_the_source_and_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = probe_project(dir.path());
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("rows = 10", "rowz = 10");
    std::fs::write(&path, text).unwrap();
    let err = EngineBuilder::live(Project::load(&path).unwrap())
        .open()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "source `globex_probe`: connector `probe` has no option `rowz`; allowed: rows"
        ),
        "{err}"
    );

    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("rowz = 10", "rows = \"ten\"");
    std::fs::write(&path, text).unwrap();
    let err = EngineBuilder::live(Project::load(&path).unwrap())
        .open()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("option `rows`: expected an integer, found \"ten\""),
        "{err}"
    );
}

#[tokio::test]
async fn google_ads_rows_equal_the_files_read_by_datafusion_itself() {
    // The fixture CSV read by DataFusion's own CSV reader is the independent reference.
    let engine = EngineBuilder::live(
        Project::load(&loopql_test_support::repo_root().join("tests/fixtures/project/loopql.toml"))
            .unwrap(),
    )
    .open()
    .await
    .unwrap();
    let csv =
        loopql_test_support::repo_root().join("tests/fixtures/project/exports/acme_google_ads.csv");
    let reference = datafusion::prelude::SessionContext::new();
    reference
        .register_csv(
            "ref",
            csv.to_str().unwrap(),
            datafusion::prelude::CsvReadOptions::new(),
        )
        .await
        .unwrap();
    let ours = engine
        .sql("SELECT CAST(segments_date AS VARCHAR) AS a, campaign_id AS b, metrics_impressions AS c, metrics_clicks AS d, metrics_cost_micros AS e FROM google_ads.campaign_stats WHERE client_id = 'acme' ORDER BY 1, 2")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let theirs = reference
        .sql("SELECT CAST(\"segments.date\" AS VARCHAR) AS a, CAST(\"campaign.id\" AS BIGINT) AS b, CAST(\"metrics.impressions\" AS BIGINT) AS c, CAST(\"metrics.clicks\" AS BIGINT) AS d, CAST(\"metrics.cost_micros\" AS BIGINT) AS e FROM ref ORDER BY 1, 2")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let fmt = |b: &[datafusion::arrow::array::RecordBatch]| {
        datafusion::arrow::util::pretty::pretty_format_batches(b)
            .unwrap()
            .to_string()
            .lines()
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(fmt(&ours), fmt(&theirs));
    assert!(ours.iter().map(|b| b.num_rows()).sum::<usize>() == 5);
}
