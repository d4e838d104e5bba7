//! The Meta connector's live API path through the `loopql` binary, against a local stand-in for
//! graph.facebook.com that serves the documented Insights response shapes: the token comes from
//! the environment, the query's date range becomes `time_range`, pages are followed.

use loopql_test_support::library;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// (URL, Authorization header) of each request the stand-in received.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// The Insights pages the stand-in serves (the documented shape), the first linking to `next`.
fn first_page(next: &str) -> String {
    format!(
        r#"{{"data":[{{"account_id":"77","account_currency":"EUR","campaign_id":"9","campaign_name":"Retargeting","date_start":"2024-03-01","date_stop":"2024-03-01","impressions":"1000","clicks":"20","inline_link_clicks":"15","spend":"12.25","actions":[{{"action_type":"omni_purchase","value":"2"}}],"action_values":[{{"action_type":"omni_purchase","value":"99.9"}}]}}],"paging":{{"cursors":{{"before":"C0","after":"C1"}},"next":"{next}"}}}}"#
    )
}

fn second_page() -> String {
    r#"{"data":[{"account_id":"77","account_currency":"EUR","campaign_id":"9","campaign_name":"Retargeting","date_start":"2024-03-02","date_stop":"2024-03-02","impressions":"300","clicks":"9","inline_link_clicks":"7","spend":"4.50"}],"paging":{"cursors":{"before":"C1","after":"C2"}}}"#.to_string()
}

fn serve() -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v19.0", server.server_addr().to_ip().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let next = format!("{base}/act_77/insights?after=CURSOR2");
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let url = request.url().to_string();
            let auth = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .map(|h| h.value.as_str().to_string())
                .unwrap_or_default();
            log.lock().unwrap().push((url.clone(), auth));
            let body = if url.contains("after=CURSOR2") {
                second_page()
            } else {
                first_page(&next)
            };
            let _ = request.respond(tiny_http::Response::from_string(body));
        }
    });
    (base, seen)
}

#[test]
fn live_insights_through_the_binary() {
    let (base, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("loopql.toml");
    std::fs::write(
        &project,
        format!(
            "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n[[clients]]\nid = \"globex\"\ncurrency = \"EUR\"\n\n[[sources]]\nconnector = \"meta_ads\"\nclient_id = \"globex\"\noptions = {{ account_ids = \"77\", api_base_url = \"{base}\", token_env = \"LOOPQL_TEST_META_TOKEN\", level = \"campaign\" }}\n",
            library("loopql_meta_ads")
        ),
    )
    .unwrap();
    let sql = "SELECT CAST(date AS VARCHAR) AS day, clicks, spend, conversions, conversion_value FROM ad_performance \
               WHERE date BETWEEN DATE '2024-03-01' AND DATE '2024-03-07' ORDER BY day";
    let out = Command::new(env!("CARGO_BIN_EXE_loopql"))
        .args([
            "query",
            "-p",
            project.to_str().unwrap(),
            "--format",
            "csv",
            sql,
        ])
        .env("LOOPQL_TEST_META_TOKEN", "EAAB-test-token")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "day,clicks,spend,conversions,conversion_value\n2024-03-01,15,12.25,2.0,99.9\n2024-03-02,7,4.5,0.0,0.0\n"
    );
    // The same pages saved as a file read alike.
    let saved = dir.path().join("insights.json");
    std::fs::write(
        &saved,
        format!(
            "[{},{}]",
            first_page("https://graph.facebook.com/next"),
            second_page()
        ),
    )
    .unwrap();
    let files = dir.path().join("files.toml");
    std::fs::write(
        &files,
        format!(
            "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n[[clients]]\nid = \"globex\"\ncurrency = \"EUR\"\n\n[[sources]]\nconnector = \"meta_ads\"\nclient_id = \"globex\"\noptions = {{ path = \"insights.json\", level = \"campaign\" }}\n",
            library("loopql_meta_ads")
        ),
    )
    .unwrap();
    let from_file = Command::new(env!("CARGO_BIN_EXE_loopql"))
        .args([
            "query",
            "-p",
            files.to_str().unwrap(),
            "--format",
            "csv",
            sql,
        ])
        .output()
        .unwrap();
    assert!(
        from_file.status.success(),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    assert_eq!(
        from_file.stdout, out.stdout,
        "the API and the saved pages read alike"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter()
            .all(|(_, auth)| auth == "Bearer EAAB-test-token"),
        "{seen:?}"
    );
    let first = &seen[0].0;
    assert!(
        first.starts_with("/v19.0/act_77/insights?level=campaign&time_increment=1"),
        "{first}"
    );
    assert!(
        first.contains(
            "time_range=%7B%22since%22%3A%222024-03-01%22%2C%22until%22%3A%222024-03-07%22%7D"
        ),
        "the query's date range should become time_range: {first}"
    );

    // Without the token variable: a clear error naming it, and no request.
    let out = Command::new(env!("CARGO_BIN_EXE_loopql"))
        .args([
            "query",
            "-p",
            project.to_str().unwrap(),
            "SELECT count(*) FROM meta_ads.insights",
        ])
        .env_remove("LOOPQL_TEST_META_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("$LOOPQL_TEST_META_TOKEN is not set"),
        "{stderr}"
    );
}
