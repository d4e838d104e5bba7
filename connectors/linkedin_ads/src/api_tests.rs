//! The live path against a stand-in for api.linkedin.com on loopback, serving the documented
//! versioned-API shapes (`elements[]` with `pivotValues`, `dateRange` objects and metrics;
//! `paging` with `start`, `count`, `total`; errors as `{"status":…,"serviceErrorCode":…,
//! "message":…}`), misbehaving on purpose: a 429 with `Retry-After`, a refused token, a
//! malformed page.

use crate::LinkedInAds;
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::{Connector, Filter, FilterOp, Scalar, ScanRequest};
use std::sync::{Arc, Mutex};

/// (URL, Authorization, LinkedIn-Version, X-Restli-Protocol-Version) of each call.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

fn element(campaign: u32, day: u32, clicks: u32) -> String {
    format!(
        r#"{{"pivotValues":["urn:li:sponsoredCampaign:{campaign}"],"dateRange":{{"start":{{"year":2024,"month":3,"day":{day}}},"end":{{"year":2024,"month":3,"day":{day}}}}},"impressions":{},"clicks":{clicks},"costInLocalCurrency":"{}.5","costInUsd":"{}.9","externalWebsiteConversions":1,"conversionValueInLocalCurrency":"40","oneClickLeads":0}}"#,
        clicks * 50,
        clicks,
        clicks + 1
    )
}

/// The five elements the stand-in serves, in pages of two.
fn elements() -> Vec<String> {
    vec![
        element(11, 1, 5),
        element(12, 1, 6),
        element(11, 2, 7),
        element(12, 2, 8),
        element(11, 3, 9),
    ]
}

fn page(items: &[String], start: usize) -> String {
    format!(
        r#"{{"paging":{{"start":{start},"count":2,"total":5,"links":[]}},"elements":[{}]}}"#,
        items.join(",")
    )
}

fn serve() -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut throttled = false;
        for request in server.incoming_requests() {
            let header = |name: &'static str| {
                request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv(name))
                    .map(|h| h.value.as_str().to_string())
                    .unwrap_or_default()
            };
            let url = request.url().to_string();
            let auth = header("Authorization");
            log.lock().unwrap().push((
                url.clone(),
                auth.clone(),
                header("LinkedIn-Version"),
                header("X-Restli-Protocol-Version"),
            ));
            let start: usize = url
                .split("&start=")
                .nth(1)
                .and_then(|s| s.split('&').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let mut retry_after = None;
            let (status, text) = if auth != "Bearer AQX-good" {
                (401, r#"{"status":401,"serviceErrorCode":65600,"code":"INVALID_ACCESS_TOKEN","message":"Invalid access token"}"#.to_string())
            } else if url.starts_with("/broken/") {
                (200, "{\"elements\":[\n{\"pivotValues\":".to_string())
            } else if url.starts_with("/rest/adAnalytics?") && !throttled {
                throttled = true;
                retry_after = Some("1");
                (429, r#"{"status":429,"serviceErrorCode":101,"code":"TOO_MANY_REQUESTS","message":"Resource level throttle limit for calls to this resource is reached."}"#.to_string())
            } else if url.starts_with("/rest/adAnalytics?") {
                let all = elements();
                let end = (start + 2).min(all.len());
                (200, page(&all[start..end], start))
            } else if url.starts_with("/rest/adAccounts/507/adCampaigns?q=search") {
                (200, r#"{"paging":{"start":0,"count":1000,"total":2},"elements":[{"id":11,"name":"Awareness","account":"urn:li:sponsoredAccount:507","status":"ACTIVE"},{"id":12,"name":"Leads","account":"urn:li:sponsoredAccount:507","status":"PAUSED"}]}"#.to_string())
            } else {
                (404, r#"{"status":404,"message":"Not found"}"#.to_string())
            };
            let mut response = tiny_http::Response::from_string(text).with_status_code(status);
            if let Some(s) = retry_after {
                response =
                    response.with_header(tiny_http::Header::from_bytes("Retry-After", s).unwrap());
            }
            let _ = request.respond(response);
        }
    });
    (base, seen)
}

fn credentials(dir: &std::path::Path, token: &str) -> String {
    let path = dir.join("linkedin.secrets");
    std::fs::write(&path, format!("access_token: {token}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_string_lossy().into_owned()
}

fn api(table: &str, base: &str, secrets: &str) -> ScanRequest {
    let mut request = ScanRequest::new(table)
        .with_option("mode", "api")
        .with_option("account_ids", "507")
        .with_option("currency", "EUR")
        .with_option("api_base_url", base)
        .with_option("credentials_file", secrets)
        .with_option("access_token_env", "LOOPQL_TEST_LINKEDIN_UNSET")
        .with_option("refresh_token_env", "LOOPQL_TEST_LINKEDIN_UNSET_R");
    request.filters = vec![
        Filter {
            column: "date".into(),
            op: FilterOp::GtEq,
            value: Scalar::Date("2024-03-01".into()),
        },
        Filter {
            column: "date".into(),
            op: FilterOp::Lt,
            value: Scalar::Date("2024-03-08".into()),
        },
    ];
    request
}

fn read(request: ScanRequest) -> Result<Vec<RecordBatch>, String> {
    LinkedInAds
        .scan(request)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn one(batches: &[RecordBatch]) -> RecordBatch {
    loopql_connector_sdk::arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap()
}

#[test]
fn analytics_pages_equal_the_saved_responses_and_carry_the_versioned_headers() {
    let (base, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path(), "AQX-good");
    let live = one(&read(api("ad_analytics", &base, &secrets)).unwrap());
    let saved = dir.path().join("analytics.json");
    std::fs::write(&saved, page(&elements(), 0)).unwrap();
    let files = one(&read(
        ScanRequest::new("ad_analytics")
            .with_option("path", saved.to_string_lossy().into_owned())
            .with_option("currency", "EUR"),
    )
    .unwrap());
    assert_eq!(live.num_rows(), 5);
    assert_eq!(live, files, "the API and the saved responses read alike");
    let seen = seen.lock().unwrap().clone();
    let urls: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(urls.len(), 4, "a 429 retried, then three pages: {urls:?}");
    assert_eq!(urls[0], urls[1]);
    assert!(
        urls[1].starts_with(
            "/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY\
             &dateRange=(start:(year:2024,month:3,day:1),end:(year:2024,month:3,day:7))\
             &accounts=List(urn%3Ali%3AsponsoredAccount%3A507)&fields=dateRange,pivotValues,"
        ),
        "the query's week is the dateRange: {}",
        urls[1]
    );
    assert!(urls[1].ends_with("&start=0&count=1000"), "{}", urls[1]);
    assert!(
        urls[2].ends_with("&start=2&count=1000") && urls[3].ends_with("&start=4&count=1000"),
        "{urls:?}"
    );
    for (_, auth, version, restli) in &seen {
        assert_eq!(auth, "Bearer AQX-good");
        assert_eq!(version, crate::api::DEFAULT_VERSION);
        assert_eq!(restli, "2.0.0");
    }
    let mut request = api("campaigns", &base, &secrets);
    request.filters.clear();
    let campaigns = one(&read(request).unwrap());
    assert_eq!(campaigns.num_rows(), 2);
}

#[test]
fn a_refused_token_and_a_malformed_page_are_clear() {
    let (base, _seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path(), "AQX-expired-secret");
    let err = read(api("ad_analytics", &base, &secrets)).unwrap_err();
    assert!(
        err.contains("LinkedIn refused the access token (HTTP 401): Invalid access token (serviceErrorCode 65600)"),
        "{err}"
    );
    assert!(err.contains("$LOOPQL_TEST_LINKEDIN_UNSET"), "{err}");
    assert!(!err.contains("AQX-expired-secret"), "{err}");
    let secrets = credentials(dir.path(), "AQX-good");
    let err = read(api("ad_analytics", &format!("{base}/broken"), &secrets)).unwrap_err();
    assert!(
        err.contains("LinkedIn adAnalytics, page 1:2:"),
        "names the page, line and column: {err}"
    );
}
