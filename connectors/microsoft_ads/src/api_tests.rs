//! The live path against a stand-in for the Reporting API, its token endpoint and its download
//! host on loopback, serving the documented REST shapes (`ReportRequestId`;
//! `ReportRequestStatus` with `Status` and `ReportDownloadUrl`; a zipped CSV with its report
//! preamble and footer; faults with `OperationErrors`), misbehaving on purpose: an expired token,
//! a pending report, a refused account, an empty report.

use crate::MicrosoftAds;
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::{Connector, ScanRequest};
use std::sync::{Arc, Mutex};

/// (path, headers of interest, body) of each call.
type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>, String)>>>;

const REPORT: &str = "\u{feff}\"Report Name: loopql campaign performance\"\n\"Report Time: 3/1/2024,3/7/2024\"\n\"Time Zone: (GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London\"\n\"Last Completed Available Day: 3/8/2024 10:00:00 AM (GMT)\"\n\"Rows: 2\"\n\n\"TimePeriod\",\"AccountId\",\"AccountName\",\"CampaignId\",\"CampaignName\",\"CurrencyCode\",\"Impressions\",\"Clicks\",\"Spend\",\"Conversions\",\"Revenue\"\n\"2024-03-01\",\"180\",\"Initech\",\"7001\",\"Brand\",\"USD\",\"1,200\",\"40\",\"55.20\",\"2\",\"150.00\"\n\"2024-03-02\",\"180\",\"Initech\",\"7001\",\"Brand\",\"USD\",\"900\",\"31\",\"41.10\",\"1\",\"75.00\"\n\n\"©2024 Microsoft Corporation. All rights reserved. \"\n";

fn serve() -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let download = format!("{base}/download/rr-1.zip?sig=abc");
    std::thread::spawn(move || {
        let mut issued = 0;
        let mut valid = String::new();
        let mut expired_once = false;
        let mut polls = 0;
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let headers: Vec<(String, String)> = request
                .headers()
                .iter()
                .filter(|h| {
                    [
                        "Authorization",
                        "DeveloperToken",
                        "CustomerId",
                        "CustomerAccountId",
                    ]
                    .iter()
                    .any(|n| h.field.equiv(n))
                })
                .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
                .collect();
            let auth = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("Authorization"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let url = request.url().to_string();
            log.lock()
                .unwrap()
                .push((url.clone(), headers, body.clone()));
            let respond = |r: tiny_http::Request, status: u16, bytes: Vec<u8>| {
                let _ = r.respond(tiny_http::Response::from_data(bytes).with_status_code(status));
            };
            if url == "/token" {
                issued += 1;
                valid = format!("EwA-{issued}");
                let text = format!(
                    r#"{{"token_type":"Bearer","scope":"https://ads.microsoft.com/msads.manage","expires_in":3600,"access_token":"{valid}","refresh_token":"M.R3-next"}}"#
                );
                respond(request, 200, text.into_bytes());
                continue;
            }
            if url.starts_with("/download/rr-1.zip") {
                respond(
                    request,
                    200,
                    loopql_connector_sdk::zip::archive("rr-1.csv", REPORT.as_bytes()),
                );
                continue;
            }
            let (status, text) = if !expired_once {
                expired_once = true;
                (401, r#"{"TrackingId":"t-1","Type":"AdApiFaultDetail","Errors":[{"Code":109,"ErrorCode":"AuthenticationTokenExpired","Message":"Authentication token expired. Please renew it or obtain a new token."}]}"#.to_string())
            } else if auth != format!("Bearer {valid}") {
                (401, r#"{"TrackingId":"t-2","Type":"AdApiFaultDetail","Errors":[{"Code":105,"ErrorCode":"InvalidCredentials","Message":"Authentication failed."}]}"#.to_string())
            } else if url == "/Reporting/v13/GenerateReport/Submit" && body.contains("[999]") {
                (400, r#"{"TrackingId":"t-3","Type":"ApiFaultDetail","OperationErrors":[{"Code":106,"ErrorCode":"UserIsNotAuthorized","Message":"The user does not represent a authorized developer."}],"BatchErrors":[]}"#.to_string())
            } else if url == "/Reporting/v13/GenerateReport/Submit" && body.contains("[555]") {
                (200, r#"{"ReportRequestId":"rr-empty"}"#.to_string())
            } else if url == "/Reporting/v13/GenerateReport/Submit" {
                (200, r#"{"ReportRequestId":"rr-1"}"#.to_string())
            } else if url == "/Reporting/v13/GenerateReport/Poll" && body.contains("rr-empty") {
                (
                    200,
                    r#"{"ReportRequestStatus":{"ReportDownloadUrl":null,"Status":"Success"}}"#
                        .to_string(),
                )
            } else if url == "/Reporting/v13/GenerateReport/Poll" {
                polls += 1;
                if polls == 1 {
                    (
                        200,
                        r#"{"ReportRequestStatus":{"ReportDownloadUrl":null,"Status":"Pending"}}"#
                            .to_string(),
                    )
                } else {
                    (
                        200,
                        format!(
                            r#"{{"ReportRequestStatus":{{"ReportDownloadUrl":"{download}","Status":"Success"}}}}"#
                        ),
                    )
                }
            } else {
                (404, "{}".to_string())
            };
            respond(request, status, text.into_bytes());
        }
    });
    (base, seen)
}

fn credentials(dir: &std::path::Path) -> String {
    let path = dir.join("msads.secrets");
    std::fs::write(
        &path,
        "developer_token: BBD37VB98\nclient_id: 4c0b021c-00c3-4508-838f-d3127e8167ff\nrefresh_token: M.R3-refresh-secret\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_string_lossy().into_owned()
}

fn api(base: &str, secrets: &str, accounts: &str) -> ScanRequest {
    ScanRequest::new("campaign_performance")
        .with_option("mode", "api")
        .with_option("customer_id", "2510")
        .with_option("account_ids", accounts)
        .with_option("since", "2024-03-01")
        .with_option("until", "2024-03-07")
        .with_option("poll_seconds", 0)
        .with_option("api_base_url", base)
        .with_option("token_url", format!("{base}/token"))
        .with_option("credentials_file", secrets)
        .with_option("developer_token_env", "LOOPQL_TEST_MSADS_UNSET_1")
        .with_option("client_id_env", "LOOPQL_TEST_MSADS_UNSET_2")
        .with_option("client_secret_env", "LOOPQL_TEST_MSADS_UNSET_3")
        .with_option("refresh_token_env", "LOOPQL_TEST_MSADS_UNSET_4")
}

fn read(request: ScanRequest) -> Result<Vec<RecordBatch>, String> {
    MicrosoftAds
        .scan(request)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn one(batches: &[RecordBatch]) -> RecordBatch {
    loopql_connector_sdk::arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap()
}

#[test]
fn a_report_is_submitted_polled_downloaded_and_read_like_its_file() {
    let (base, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path());
    let live = one(&read(api(&base, &secrets, "180")).unwrap());
    let file = dir.path().join("report.csv");
    std::fs::write(&file, REPORT).unwrap();
    let files = one(&read(
        ScanRequest::new("campaign_performance")
            .with_option("path", file.to_string_lossy().into_owned()),
    )
    .unwrap());
    assert_eq!(live.num_rows(), 2);
    assert_eq!(
        live, files,
        "the downloaded report reads like the saved one"
    );
    let seen = seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/token",
            "/Reporting/v13/GenerateReport/Submit",
            "/token",
            "/Reporting/v13/GenerateReport/Submit",
            "/Reporting/v13/GenerateReport/Poll",
            "/Reporting/v13/GenerateReport/Poll",
            "/download/rr-1.zip?sig=abc",
        ],
        "an expired token renewed once; a pending report polled again"
    );
    let token = &seen[0].2;
    assert!(
        token.contains("grant_type=refresh_token")
            && token
                .contains("scope=https%3A%2F%2Fads.microsoft.com%2Fmsads.manage%20offline_access"),
        "{token}"
    );
    let submit = &seen[3];
    let header = |name: &'static str| {
        submit
            .1
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    assert_eq!(header("Authorization"), "Bearer EwA-2");
    assert_eq!(header("DeveloperToken"), "BBD37VB98");
    assert_eq!(header("CustomerId"), "2510");
    assert_eq!(header("CustomerAccountId"), "180");
    let body: loopql_connector_sdk::serde_json::Value =
        loopql_connector_sdk::serde_json::from_str(&submit.2).unwrap();
    let request = &body["ReportRequest"];
    assert_eq!(request["Type"], "CampaignPerformanceReportRequest");
    assert_eq!(request["Aggregation"], "Daily");
    assert_eq!(request["Time"]["CustomDateRangeStart"]["Day"], 1);
    assert_eq!(request["Time"]["CustomDateRangeEnd"]["Day"], 7);
    assert_eq!(request["Scope"]["AccountIds"][0], 180);
}

#[test]
fn a_fault_names_its_codes_and_an_empty_report_is_no_rows() {
    let (base, _seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path());
    let err = read(api(&base, &secrets, "999")).unwrap_err();
    assert!(
        err.contains("GenerateReport/Submit failed (HTTP 400): UserIsNotAuthorized (106): The user does not represent a authorized developer."),
        "{err}"
    );
    for secret in ["BBD37VB98", "M.R3-refresh-secret", "EwA-"] {
        assert!(!err.contains(secret), "{err}");
    }
    let rows: usize = read(api(&base, &secrets, "555"))
        .unwrap()
        .iter()
        .map(RecordBatch::num_rows)
        .sum();
    assert_eq!(rows, 0);
}

#[test]
fn throttling_and_outages_are_retried_and_cut_or_expired_answers_are_named() {
    use loopql_connector_sdk::standin::{Fault, Reply, StandIn};
    let platform = StandIn::serve(|call| {
        let host = call.header("Host").unwrap_or_default().to_string();
        match call.path() {
            "/token" => Reply::ok(
                r#"{"token_type":"Bearer","scope":"https://ads.microsoft.com/msads.manage","expires_in":3600,"access_token":"EwA-7","refresh_token":"M.R3-next"}"#,
            ),
            "/Reporting/v13/GenerateReport/Submit" => Reply::ok(r#"{"ReportRequestId":"rr-7"}"#),
            "/Reporting/v13/GenerateReport/Poll" => Reply::ok(format!(
                r#"{{"ReportRequestStatus":{{"ReportDownloadUrl":"http://{host}/download/rr-7.zip?sig=x","Status":"Success"}}}}"#
            )),
            "/download/rr-7.zip" => Reply::ok(loopql_connector_sdk::zip::archive(
                "rr-7.csv",
                REPORT.as_bytes(),
            )),
            _ => Reply::status(404, "{}"),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path());
    let submit = "/Reporting/v13/GenerateReport/Submit";
    platform.fail_next(
        submit,
        Fault::Throttle {
            retry_after: 1,
            body: r#"{"TrackingId":"t-9","Type":"ApiFaultDetail","OperationErrors":[{"Code":117,"ErrorCode":"CallRateExceeded","Message":"You have exceeded the number of calls you are allowed to make in a given time period."}]}"#.into(),
        },
    );
    platform.fail_next(
        submit,
        Fault::Unavailable {
            body: r#"{"TrackingId":"t-10","Type":"ApiFaultDetail","OperationErrors":[{"Code":0,"ErrorCode":"InternalError","Message":"An internal error has occurred."}]}"#.into(),
        },
    );
    let rows: usize = read(api(&platform.base, &secrets, "180"))
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 2);
    let submits = platform
        .calls()
        .iter()
        .filter(|c| c.path() == submit)
        .count();
    assert_eq!(submits, 3, "429, 503, then the report request");

    platform.fail_next("/Reporting/v13/GenerateReport/Poll", Fault::Malformed);
    let err = read(api(&platform.base, &secrets, "180")).unwrap_err();
    assert!(
        err.contains("GenerateReport/Poll: the answer is not JSON"),
        "{err}"
    );

    // A download link that lapsed answers a page, not the archive.
    platform.fail_next(
        "/download/",
        Fault::Answer(Reply::ok("<html><body>AuthenticationFailed</body></html>")),
    );
    let err = read(api(&platform.base, &secrets, "180")).unwrap_err();
    assert!(
        err.contains("report rr-7 download: not a readable ZIP archive"),
        "{err}"
    );
    for secret in ["M.R3-refresh-secret", "BBD37VB98", "EwA-7"] {
        assert!(!err.contains(secret), "{err}");
    }
}
