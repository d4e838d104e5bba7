//! The live path against a stand-in for a Salesforce org and its token endpoint on loopback,
//! serving the documented shapes (`/services/oauth2/token` answering `access_token` and
//! `instance_url`; `query` batches with `done`, `nextRecordsUrl`, `records[]` carrying
//! `attributes`; errors as `[{"message":…,"errorCode":…}]`), misbehaving on purpose: a lapsed
//! session, a 503, a malformed batch, a bad field.

use crate::Salesforce;
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::{Connector, ScanRequest};
use std::sync::{Arc, Mutex};

/// (URL, Authorization, body) of each call.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

fn lead(id: &str, email: &str, converted: bool) -> String {
    format!(
        r#"{{"attributes":{{"type":"Lead","url":"/services/data/v62.0/sobjects/Lead/{id}"}},"Id":"{id}","Email":"{email}","Status":"Open - Not Contacted","LeadSource":"Web","CreatedDate":"2024-01-10T09:00:00.000+0000","IsConverted":{converted},"ConvertedDate":null,"ConvertedOpportunityId":null,"ConvertedContactId":null}}"#
    )
}

const LEADS_CSV: &str = "Id,Email,Status,LeadSource,CreatedDate,IsConverted,ConvertedDate,ConvertedOpportunityId,ConvertedContactId\n\
00Q5g00000AAAAAEA1,a@x.com,Open - Not Contacted,Web,2024-01-10T09:00:00.000+0000,false,,,\n\
00Q5g00000AAAABEA1,b@x.com,Open - Not Contacted,Web,2024-01-10T09:00:00.000+0000,true,,,\n\
00Q5g00000AAAACEA1,c@x.com,Open - Not Contacted,Web,2024-01-10T09:00:00.000+0000,false,,,\n";

fn batch(records: &[String], next: Option<&str>) -> String {
    match next {
        Some(n) => format!(
            r#"{{"totalSize":3,"done":false,"nextRecordsUrl":"{n}","records":[{}]}}"#,
            records.join(",")
        ),
        None => format!(
            r#"{{"totalSize":3,"done":true,"records":[{}]}}"#,
            records.join(",")
        ),
    }
}

fn serve() -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let instance = base.clone();
    std::thread::spawn(move || {
        let mut issued = 0;
        let mut valid = String::new();
        let mut lapsed_once = false;
        let mut unavailable_once = false;
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let auth = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .map(|h| h.value.as_str().to_string())
                .unwrap_or_default();
            let url = request.url().to_string();
            log.lock()
                .unwrap()
                .push((url.clone(), auth.clone(), body.clone()));
            let (status, text) = if url == "/services/oauth2/token" {
                if body.contains("client_secret=sf-secret") {
                    issued += 1;
                    valid = format!("00Dsession!{issued}");
                    (
                        200,
                        format!(
                            r#"{{"access_token":"{valid}","instance_url":"{instance}","id":"https://login.salesforce.com/id/00D/005","token_type":"Bearer","issued_at":"1704880800000","signature":"sig"}}"#
                        ),
                    )
                } else {
                    (400, r#"{"error":"invalid_client","error_description":"invalid client credentials"}"#.to_string())
                }
            } else if auth != format!("Bearer {valid}") {
                (401, r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#.to_string())
            } else if url
                .starts_with("/services/data/v62.0/query?q=SELECT%20Id%2C%20Email%2C%20Status")
                || url.starts_with(
                    "/services/data/v62.0/queryAll?q=SELECT%20Id%2C%20Email%2C%20Status",
                )
            {
                if !lapsed_once {
                    // The session lapses server-side: one fresh token, then the query again.
                    lapsed_once = true;
                    valid = "lapsed".into();
                    (401, r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#.to_string())
                } else {
                    (
                        200,
                        batch(
                            &[lead("00Q5g00000AAAAAEA1", "a@x.com", false)],
                            Some("/services/data/v62.0/query/01gD0000002HU6KIAW-2000"),
                        ),
                    )
                }
            } else if url == "/services/data/v62.0/query/01gD0000002HU6KIAW-2000" {
                if !unavailable_once {
                    unavailable_once = true;
                    (
                        503,
                        r#"[{"message":"Service Unavailable","errorCode":"SERVER_UNAVAILABLE"}]"#
                            .to_string(),
                    )
                } else {
                    (
                        200,
                        batch(
                            &[lead("00Q5g00000AAAABEA1", "b@x.com", true)],
                            Some("/services/data/v62.0/query/01gD0000002HU6KIAW-4000"),
                        ),
                    )
                }
            } else if url == "/services/data/v62.0/query/01gD0000002HU6KIAW-4000" {
                (
                    200,
                    batch(&[lead("00Q5g00000AAAACEA1", "c@x.com", false)], None),
                )
            } else if url
                .starts_with("/services/data/v62.0/query?q=SELECT%20Id%2C%20Email%2C%20AccountId")
            {
                (
                    200,
                    "{\"totalSize\":1,\"done\":true,\"records\":[\n{\"Id\":".to_string(),
                )
            } else if url.starts_with("/services/data/v99.0/") {
                (400, r#"[{"message":"\nSELECT Id, Email, Status\n       ^\nERROR at Row:1:Column:8\nNo such column 'Status' on entity 'Lead'.","errorCode":"INVALID_FIELD"}]"#.to_string())
            } else {
                (404, r#"[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]"#.to_string())
            };
            let _ =
                request.respond(tiny_http::Response::from_string(text).with_status_code(status));
        }
    });
    (base, seen)
}

fn credentials(dir: &std::path::Path) -> String {
    let path = dir.join("salesforce.secrets");
    std::fs::write(
        &path,
        "client_id = 3MVG9-connected-app\nclient_secret = sf-secret\nrefresh_token = 5Aep861-refresh\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_string_lossy().into_owned()
}

fn api(table: &str, base: &str, secrets: &str) -> ScanRequest {
    ScanRequest::new(table)
        .with_option("mode", "api")
        .with_option("login_url", base)
        .with_option("api_version", "62.0")
        .with_option("credentials_file", secrets)
        .with_option("client_id_env", "LOOPQL_TEST_SF_UNSET_1")
        .with_option("client_secret_env", "LOOPQL_TEST_SF_UNSET_2")
        .with_option("refresh_token_env", "LOOPQL_TEST_SF_UNSET_3")
        .with_option("max_attempts", 3)
}

fn read(request: ScanRequest) -> Result<Vec<RecordBatch>, String> {
    Salesforce
        .scan(request)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn one(batches: &[RecordBatch]) -> RecordBatch {
    loopql_connector_sdk::arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap()
}

#[test]
fn leads_from_the_api_equal_the_export_of_the_same_records() {
    let (base, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path());
    let live = one(&read(api("lead", &base, &secrets)).unwrap());
    let export = dir.path().join("leads.csv");
    std::fs::write(&export, LEADS_CSV).unwrap();
    let files = one(&read(
        ScanRequest::new("lead").with_option("lead_path", export.to_string_lossy().into_owned()),
    )
    .unwrap());
    assert_eq!(live.num_rows(), 3);
    assert_eq!(live, files, "the API and the export read alike");
    let seen = seen.lock().unwrap().clone();
    let urls: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        urls,
        [
            "/services/oauth2/token",
            urls[1],
            "/services/oauth2/token",
            urls[1],
            "/services/data/v62.0/query/01gD0000002HU6KIAW-2000",
            "/services/data/v62.0/query/01gD0000002HU6KIAW-2000",
            "/services/data/v62.0/query/01gD0000002HU6KIAW-4000",
        ],
        "a lapsed session refreshed once, a 503 retried, three batches"
    );
    assert!(
        urls[1].contains("FROM%20Lead"),
        "one SOQL query of the raw table's fields: {}",
        urls[1]
    );
    let token = &seen[0].2;
    assert!(
        token.contains("grant_type=refresh_token")
            && token.contains("refresh_token=5Aep861-refresh"),
        "{token}"
    );
    assert_eq!(seen[3].1, "Bearer 00Dsession!2");
}

#[test]
fn errors_name_their_code_and_never_a_secret() {
    let (base, _seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path());
    let err = read(api("lead", &base, &secrets).with_option("api_version", "v99.0")).unwrap_err();
    assert!(
        err.contains("Salesforce query of Lead (batch 1) failed (HTTP 400): INVALID_FIELD:"),
        "{err}"
    );
    assert!(
        err.contains("No such column 'Status' on entity 'Lead'."),
        "{err}"
    );
    let err = read(api("contact", &base, &secrets)).unwrap_err();
    assert!(
        err.contains("Salesforce query of Contact (batch 1), byte "),
        "{err}"
    );
    let bad = dir.path().join("bad.secrets");
    std::fs::write(
        &bad,
        "client_id: x\nclient_secret: wrong-secret\nrefresh_token: r\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let err = read(api("lead", &base, &bad.to_string_lossy())).unwrap_err();
    assert!(
        err.contains("Salesforce refused the credentials (HTTP 400): invalid client credentials"),
        "{err}"
    );
    for secret in ["sf-secret", "wrong-secret", "5Aep861-refresh", "00Dsession"] {
        assert!(!err.contains(secret), "{err}");
    }
}

#[test]
fn an_incremental_scan_asks_for_the_records_modified_since_its_filter() {
    let (base, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path());
    let mut request = api("lead", &base, &secrets);
    request.filters = vec![loopql_connector_sdk::Filter {
        column: "system_modstamp".into(),
        op: loopql_connector_sdk::FilterOp::GtEq,
        // 2024-03-01T00:00:04.5Z: the literal rounds down to the second, so nothing is missed.
        value: loopql_connector_sdk::Scalar::TimestampMicros(1_709_251_204_500_000),
    }];
    read(request).unwrap();
    let seen = seen.lock().unwrap().clone();
    let query = seen
        .iter()
        .map(|s| s.0.as_str())
        .find(|u| u.contains("FROM%20Lead"))
        .unwrap();
    // queryAll: deleted records come too, with IsDeleted, so the sync's merge drops them.
    assert!(
        query.starts_with("/services/data/v62.0/queryAll?q="),
        "{query}"
    );
    assert!(
        query.ends_with("%2C%20SystemModstamp%2C%20IsDeleted%20FROM%20Lead%20WHERE%20SystemModstamp%20%3E%3D%202024-03-01T00%3A00%3A04Z"),
        "{query}"
    );
    let err = read(
        ScanRequest::new("lead")
            .with_option("lead_path", "x.csv")
            .with_option("incremental", true),
    )
    .unwrap_err();
    assert!(err.contains("incremental reads ask the live API"), "{err}");
}
