//! The Google Ads connector's live API path (`mode = "api"`) through the `loopql` binary, against
//! a stand-in for googleads.googleapis.com and Google's OAuth2 token endpoint on loopback: the
//! same searchStream answer read from a file and from the API gives the same `ad_performance`
//! rows; the query's date range becomes the GAQL range; secrets come from the environment or a
//! 0600 credentials file and appear in no output.

use loopql_test_support::library;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// (path, Authorization, developer-token, body) of each call the stand-in received.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// A searchStream answer of customer 4242: three batches, one row outside the query's week.
fn answer() -> String {
    let row = |campaign: u32, day: &str, clicks: u32, micros: u64| {
        format!(
            r#"{{"customer":{{"resourceName":"customers/4242","id":"4242","currencyCode":"EUR"}},"campaign":{{"resourceName":"customers/4242/campaigns/{campaign}","id":"{campaign}","name":"Campaign {campaign}","advertisingChannelType":"SEARCH"}},"metrics":{{"impressions":"{}","clicks":"{clicks}","costMicros":"{micros}","conversions":2.0,"conversionsValue":80.25}},"segments":{{"date":"{day}"}}}}"#,
            clicks * 40
        )
    };
    let batch =
        |rows: Vec<String>| format!(r#"{{"results":[{}],"requestId":"abc"}}"#, rows.join(","));
    format!(
        "[{},\n{},\n{}]",
        batch(vec![
            row(1, "2024-03-01", 10, 5_000_000),
            row(2, "2024-03-01", 3, 750_000)
        ]),
        batch(vec![row(1, "2024-03-02", 12, 6_250_000)]),
        batch(vec![
            row(2, "2024-03-04", 4, 1_000_000),
            row(1, "2024-03-09", 99, 9_990_000)
        ]),
    )
}

fn serve() -> (String, Seen) {
    let (base, seen, _) = serve_or_fail();
    (base, seen)
}

/// The stand-in, and a switch that makes it answer every searchStream with 503 UNAVAILABLE.
fn serve_or_fail() -> (String, Seen, Arc<AtomicBool>) {
    let down = Arc::new(AtomicBool::new(false));
    let failing = down.clone();
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let header = |name: &'static str| {
                request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv(name))
                    .map(|h| h.value.as_str().to_string())
                    .unwrap_or_default()
            };
            let path = request.url().to_string();
            log.lock().unwrap().push((
                path.clone(),
                header("Authorization"),
                header("developer-token"),
                body.clone(),
            ));
            let (status, text) = match path.as_str() {
                p if p.ends_with(":searchStream") && failing.load(Ordering::SeqCst) => (
                    503,
                    r#"{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}"#
                        .to_string(),
                ),
                "/token" if body.contains("refresh_token=rt-live-1") => (
                    200,
                    r#"{"access_token":"ya29.live","expires_in":3599,"token_type":"Bearer"}"#
                        .to_string(),
                ),
                "/token" => (
                    400,
                    r#"{"error":"invalid_grant","error_description":"Bad Request"}"#.to_string(),
                ),
                "/v26/customers/4242/googleAds:searchStream"
                    if header("Authorization") == "Bearer ya29.live" =>
                {
                    (200, answer())
                }
                _ => (
                    401,
                    r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#
                        .to_string(),
                ),
            };
            let _ =
                request.respond(tiny_http::Response::from_string(text).with_status_code(status));
        }
    });
    (base, seen, down)
}

fn project(dir: &std::path::Path, base: &str, secrets: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("exports")).unwrap();
    std::fs::write(dir.join("exports/stream.json"), answer()).unwrap();
    let path = dir.join("loopql.toml");
    std::fs::write(
        &path,
        format!(
            "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n\
             [[clients]]\nid = \"files_co\"\ncurrency = \"EUR\"\n\n\
             [[clients]]\nid = \"live_co\"\ncurrency = \"EUR\"\n\n\
             [[sources]]\nconnector = \"google_ads\"\nclient_id = \"files_co\"\noptions = {{ path = \"exports/stream.json\" }}\n\n\
             [[sources]]\nconnector = \"google_ads\"\nclient_id = \"live_co\"\n\
             options = {{ mode = \"api\", customer_ids = \"424-2\", api_base_url = \"{base}\", token_url = \"{base}/token\", {secrets} }}\n",
            library("loopql_google_ads")
        ),
    )
    .unwrap();
    path
}

const SQL: &str = "SELECT client_id, CAST(date AS VARCHAR) AS day, campaign_id, campaign_name, \
    impressions, clicks, spend, conversions, conversion_value, channel FROM ad_performance \
    WHERE date BETWEEN DATE '2024-03-01' AND DATE '2024-03-07' ORDER BY client_id, day, campaign_id";

fn query(project: &std::path::Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loopql"));
    command.args([
        "query",
        "-p",
        project.to_str().unwrap(),
        "--format",
        "csv",
        SQL,
    ]);
    for var in [
        "LOOPQL_TEST_GADS_DEV",
        "LOOPQL_TEST_GADS_CLIENT",
        "LOOPQL_TEST_GADS_SECRET",
        "LOOPQL_TEST_GADS_REFRESH",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

/// The rows of `client`, without the client column.
fn rows_of<'a>(csv: &'a str, client: &str) -> Vec<&'a str> {
    csv.lines()
        .filter_map(|l| l.strip_prefix(&format!("{client},")))
        .collect()
}

const SECRETS: [&str; 4] = ["dev-tok-123", "cid.apps", "csecret-456", "rt-live-1"];

#[test]
fn the_live_api_reads_what_the_export_file_holds() {
    let (base, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let project = project(
        dir.path(),
        &base,
        "developer_token_env = \"LOOPQL_TEST_GADS_DEV\", client_id_env = \"LOOPQL_TEST_GADS_CLIENT\", \
         client_secret_env = \"LOOPQL_TEST_GADS_SECRET\", refresh_token_env = \"LOOPQL_TEST_GADS_REFRESH\"",
    );
    let out = query(
        &project,
        &[
            ("LOOPQL_TEST_GADS_DEV", SECRETS[0]),
            ("LOOPQL_TEST_GADS_CLIENT", SECRETS[1]),
            ("LOOPQL_TEST_GADS_SECRET", SECRETS[2]),
            ("LOOPQL_TEST_GADS_REFRESH", SECRETS[3]),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let files = rows_of(&stdout, "files_co");
    assert_eq!(files.len(), 4, "the week's rows of the file: {stdout}");
    assert_eq!(files, rows_of(&stdout, "live_co"), "{stdout}");
    assert!(
        files[0] == "2024-03-01,1,Campaign 1,400,10,5.0,2.0,80.25,Paid Search",
        "{stdout}"
    );
    for secret in SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} shown"
        );
    }
    let seen = seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        paths,
        ["/token", "/v26/customers/4242/googleAds:searchStream"]
    );
    assert!(
        seen[0].3.contains("client_secret=csecret-456"),
        "{}",
        seen[0].3
    );
    let (_, authorization, developer_token, body) = &seen[1];
    assert_eq!(authorization, "Bearer ya29.live");
    assert_eq!(developer_token, SECRETS[0]);
    assert!(
        body.contains("WHERE segments.date BETWEEN '2024-03-01' AND '2024-03-07'"),
        "the query's week becomes the GAQL range: {body}"
    );
}

#[test]
fn secrets_come_from_a_private_credentials_file_only() {
    let (base, _seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("google-ads.yaml");
    std::fs::write(
        &credentials,
        format!(
            "developer_token: {}\nclient_id: {}\nclient_secret: {}\nrefresh_token: {}\n",
            SECRETS[0], SECRETS[1], SECRETS[2], SECRETS[3]
        ),
    )
    .unwrap();
    let project = project(
        dir.path(),
        &base,
        "credentials_file = \"google-ads.yaml\", developer_token_env = \"LOOPQL_TEST_GADS_DEV\", \
         client_id_env = \"LOOPQL_TEST_GADS_CLIENT\", client_secret_env = \"LOOPQL_TEST_GADS_SECRET\", \
         refresh_token_env = \"LOOPQL_TEST_GADS_REFRESH\"",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = query(&project, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "a readable credentials file is refused"
    );
    assert!(
        stderr.contains("may be read by others (permissions 644)"),
        "{stderr}"
    );
    assert!(stderr.contains("chmod 600"), "{stderr}");
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = query(&project, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(rows_of(&stdout, "live_co").len(), 4, "{stdout}");
    for secret in SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} shown"
        );
    }
}

/// `(client, sha256)` of every raw Google Ads partition of the current snapshot.
fn raw_partitions(warehouse: &std::path::Path) -> Vec<(String, String)> {
    let current = std::fs::read_to_string(warehouse.join("CURRENT")).unwrap();
    let id: u64 = current.trim().parse().unwrap();
    let path = warehouse
        .join("snapshots")
        .join(format!("{id:06}"))
        .join("_manifest.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out: Vec<(String, String)> = manifest["tables"]["google_ads.campaign_stats"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["client_id"].as_str().unwrap().to_string(),
                f["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_platform_down_fails_only_its_own_source() {
    let (base, _seen, down) = serve_or_fail();
    let dir = tempfile::tempdir().unwrap();
    let project = project(
        dir.path(),
        &base,
        "max_attempts = 2, developer_token_env = \"LOOPQL_TEST_GADS_DEV\", \
         client_id_env = \"LOOPQL_TEST_GADS_CLIENT\", client_secret_env = \"LOOPQL_TEST_GADS_SECRET\", \
         refresh_token_env = \"LOOPQL_TEST_GADS_REFRESH\"",
    );
    let env = [
        ("LOOPQL_TEST_GADS_DEV", SECRETS[0]),
        ("LOOPQL_TEST_GADS_CLIENT", SECRETS[1]),
        ("LOOPQL_TEST_GADS_SECRET", SECRETS[2]),
        ("LOOPQL_TEST_GADS_REFRESH", SECRETS[3]),
    ];
    let loopql = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_loopql"));
        command.args(args).envs(env).env_remove("RUST_LOG");
        command.output().unwrap()
    };
    let p = project.to_str().unwrap();
    let out = loopql(&["sync", "-q", "-p", p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warehouse = dir.path().join("warehouse");
    let first = raw_partitions(&warehouse);
    let of = |parts: &[(String, String)], client: &str| -> Vec<String> {
        parts
            .iter()
            .filter(|(c, _)| c == client)
            .map(|(_, sha)| sha.clone())
            .collect()
    };
    assert!(!of(&first, "live_co").is_empty() && !of(&first, "files_co").is_empty());

    // The files client's export changes; the API is down.
    let export = dir.path().join("exports/stream.json");
    let text = std::fs::read_to_string(&export).unwrap();
    std::fs::write(
        &export,
        text.replace("\"clicks\":\"12\"", "\"clicks\":\"13\""),
    )
    .unwrap();
    down.store(true, Ordering::SeqCst);
    let out = loopql(&["sync", "-q", "-p", p]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "partly failed: {stderr}");
    assert!(
        stderr.contains("source `live_co_google_ads` failed and keeps its data of"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "failed after 2 attempts: HTTP 503: UNAVAILABLE The service is currently unavailable."
        ),
        "{stderr}"
    );
    let second = raw_partitions(&warehouse);
    assert_eq!(
        of(&second, "live_co"),
        of(&first, "live_co"),
        "the failed source keeps its partitions"
    );
    assert_ne!(
        of(&second, "files_co"),
        of(&first, "files_co"),
        "the other source is synced"
    );

    // Status says which source failed, when and why; the warehouse still answers for it.
    let out = loopql(&["sync", "status", "-p", p]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.contains("live_co_google_ads"))
        .unwrap();
    assert!(line.contains("HTTP 503"), "{stdout}");
    let files_line = stdout
        .lines()
        .find(|l| l.contains("files_co_google_ads"))
        .unwrap();
    assert!(!files_line.contains("HTTP"), "{stdout}");
    let out = loopql(&["query", "-p", p, "--format", "csv", SQL]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(rows_of(&stdout, "live_co").len(), 4, "{stdout}");
    for secret in SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} shown"
        );
    }

    // Back up: the next sync reads it again and the failure is gone.
    down.store(false, Ordering::SeqCst);
    let out = loopql(&["sync", "-q", "-p", p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = loopql(&["sync", "status", "-p", p]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let line = stdout
        .lines()
        .find(|l| l.contains("live_co_google_ads"))
        .unwrap();
    assert!(!line.contains("HTTP 503"), "{stdout}");
}
