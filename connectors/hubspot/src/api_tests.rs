//! The live path against a stand-in for api.hubapi.com on loopback serving the documented shapes
//! (v3 objects list pages with `paging.next.after`, v4 association batch reads, errors as
//! `{"status":"error","message":…,"category":…}`), misbehaving on purpose: a 429 with
//! `Retry-After`, a refused token, a malformed page.

use super::*;
use crate::HubSpot;
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::{Connector, ScanRequest};
use std::sync::{Arc, Mutex};

/// (method, URL, Authorization, body) of each call.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

fn contact(id: u32, email: &str, stage: &str, created: &str) -> String {
    format!(
        r#"{{"id":"{id}","properties":{{"createdate":"{created}","email":"{email}","hs_object_id":"{id}","lastmodifieddate":"2024-03-01T00:00:00.000Z","lifecyclestage":"{stage}","hs_lifecyclestage_lead_date":"{created}","hs_analytics_source":"PAID_SEARCH"}},"createdAt":"{created}","updatedAt":"2024-03-01T00:00:00.000Z","archived":false}}"#
    )
}

const CONTACTS_CSV: &str = "hs_object_id,email,createdate,lifecyclestage,hs_lifecyclestage_lead_date,hs_analytics_source,lastmodifieddate\n\
1,a@x.com,2024-01-05T10:00:00.000Z,lead,2024-01-05T10:00:00.000Z,PAID_SEARCH,2024-03-01T00:00:00.000Z\n\
2,b@x.com,2024-01-06T09:30:00.000Z,marketingqualifiedlead,2024-01-06T09:30:00.000Z,PAID_SEARCH,2024-03-01T00:00:00.000Z\n\
3,c@x.com,2024-01-07T08:00:00.000Z,customer,2024-01-07T08:00:00.000Z,PAID_SEARCH,2024-03-01T00:00:00.000Z\n\
4,d@x.com,2024-01-08T07:15:00.000Z,lead,2024-01-08T07:15:00.000Z,PAID_SEARCH,2024-03-01T00:00:00.000Z\n";

fn page(records: &[String], after: Option<&str>) -> String {
    let paging = after
        .map(|a| format!(r#","paging":{{"next":{{"after":"{a}","link":"https://api.hubapi.com/crm/v3/objects/contacts?after={a}"}}}}"#))
        .unwrap_or_default();
    format!(r#"{{"results":[{}]{paging}}}"#, records.join(","))
}

fn serve() -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut throttled = false;
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
            log.lock().unwrap().push((
                request.method().to_string(),
                url.clone(),
                auth.clone(),
                body.clone(),
            ));
            let path = url.split('?').next().unwrap_or_default().to_string();
            let mut retry_after = None;
            let (status, text) = if auth != "Bearer pat-good" {
                (401, r#"{"status":"error","message":"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview","correlationId":"c-1","category":"INVALID_AUTHENTICATION"}"#.to_string())
            } else if path.starts_with("/broken/") {
                (
                    200,
                    "{\"results\":[\n{\"id\":\"1\",\"properties\":{\"email\":".to_string(),
                )
            } else if path == "/crm/v3/objects/contacts" && !throttled {
                throttled = true;
                retry_after = Some("1");
                (429, r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c-2","policyName":"TEN_SECONDLY_ROLLING"}"#.to_string())
            } else if path == "/crm/v3/objects/contacts" && url.contains("after=2") {
                (
                    200,
                    page(
                        &[contact(
                            3,
                            "c@x.com",
                            "customer",
                            "2024-01-07T08:00:00.000Z",
                        )],
                        Some("3"),
                    ),
                )
            } else if path == "/crm/v3/objects/contacts" && url.contains("after=3") {
                (
                    200,
                    page(
                        &[contact(4, "d@x.com", "lead", "2024-01-08T07:15:00.000Z")],
                        None,
                    ),
                )
            } else if path == "/crm/v3/objects/contacts" {
                (
                    200,
                    page(
                        &[
                            contact(1, "a@x.com", "lead", "2024-01-05T10:00:00.000Z"),
                            contact(
                                2,
                                "b@x.com",
                                "marketingqualifiedlead",
                                "2024-01-06T09:30:00.000Z",
                            ),
                        ],
                        Some("2"),
                    ),
                )
            } else if path == "/crm/v3/objects/deals" {
                (200, r#"{"results":[{"id":"9","properties":{"hs_object_id":"9","dealname":"Big","amount":"1200.5","dealstage":"closedwon","createdate":"2024-01-10T00:00:00.000Z","closedate":"2024-02-10T00:00:00.000Z","hs_is_closed_won":"true"}},{"id":"10","properties":{"hs_object_id":"10","dealname":"Small","amount":null,"dealstage":"appointmentscheduled","createdate":"2024-01-11T00:00:00.000Z"}}]}"#.to_string())
            } else if path == "/crm/v4/associations/deals/contacts/batch/read" {
                (200, r#"{"status":"COMPLETE","results":[{"from":{"id":"9"},"to":[{"toObjectId":1,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":3,"label":null}]},{"toObjectId":2,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":3,"label":null}]}]}],"startedAt":"2024-03-01T00:00:00.000Z","completedAt":"2024-03-01T00:00:00.100Z"}"#.to_string())
            } else {
                (
                    404,
                    r#"{"status":"error","message":"not found","category":"OBJECT_NOT_FOUND"}"#
                        .to_string(),
                )
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

/// A 0600 credentials file holding `token`.
fn credentials(dir: &std::path::Path, token: &str) -> String {
    let path = dir.join("hubspot.secrets");
    std::fs::write(&path, format!("access_token: {token}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_string_lossy().into_owned()
}

fn api_request(table: &str, base: &str, secrets: &str) -> ScanRequest {
    ScanRequest::new(table)
        .with_option("mode", "api")
        .with_option("api_base_url", base)
        .with_option("credentials_file", secrets)
        .with_option("access_token_env", "LOOPQL_TEST_HUBSPOT_UNSET")
}

fn read(request: ScanRequest) -> Result<Vec<RecordBatch>, String> {
    HubSpot
        .scan(request)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn one(batches: &[RecordBatch]) -> RecordBatch {
    loopql_connector_sdk::arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap()
}

#[test]
fn contacts_from_the_api_equal_the_export_of_the_same_records() {
    let (base, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path(), "pat-good");
    let live = one(&read(api_request("contacts", &base, &secrets)).unwrap());
    let export = dir.path().join("contacts.csv");
    std::fs::write(&export, CONTACTS_CSV).unwrap();
    let files = one(&read(
        ScanRequest::new("contacts")
            .with_option("contacts_path", export.to_string_lossy().into_owned()),
    )
    .unwrap());
    assert_eq!(live.num_rows(), 4);
    assert_eq!(live, files, "the API and the export read alike");
    let seen = seen.lock().unwrap().clone();
    let urls: Vec<&str> = seen.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(urls.len(), 4, "429, retry, then pages 2 and 3: {urls:?}");
    assert_eq!(urls[0], urls[1], "the throttled call is repeated");
    assert!(urls[0].starts_with("/crm/v3/objects/contacts?limit=100&archived=false&properties=hs_object_id%2Cemail%2Ccreatedate%2Clifecyclestage%2C"), "{}", urls[0]);
    assert!(
        urls[2].ends_with("&after=2") && urls[3].ends_with("&after=3"),
        "{urls:?}"
    );
    assert!(seen.iter().all(|s| s.2 == "Bearer pat-good"));
}

#[test]
fn deals_and_their_contacts() {
    let (base, seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path(), "pat-good");
    let deals = one(&read(api_request("deals", &base, &secrets)).unwrap());
    assert_eq!(deals.num_rows(), 2);
    let pairs = one(&read(api_request("deal_contacts", &base, &secrets)).unwrap());
    assert_eq!(pairs.num_rows(), 2);
    let seen = seen.lock().unwrap().clone();
    let post = seen.iter().find(|s| s.0 == "POST").unwrap();
    assert_eq!(post.1, "/crm/v4/associations/deals/contacts/batch/read");
    assert_eq!(post.3, r#"{"inputs":[{"id":"9"},{"id":"10"}]}"#);
}

#[test]
fn a_refused_token_says_where_it_came_from_and_never_shows_it() {
    let (base, _seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path(), "pat-wrong-secret");
    let err = read(api_request("contacts", &base, &secrets)).unwrap_err();
    assert!(err.contains("HubSpot refused the access token (HTTP 401): INVALID_AUTHENTICATION: Authentication credentials not found."), "{err}");
    assert!(
        err.contains("$LOOPQL_TEST_HUBSPOT_UNSET or `access_token` in"),
        "{err}"
    );
    assert!(!err.contains("pat-wrong-secret"), "{err}");
    let err = read(
        ScanRequest::new("contacts")
            .with_option("mode", "api")
            .with_option("access_token_env", "LOOPQL_TEST_HUBSPOT_UNSET"),
    )
    .unwrap_err();
    assert!(
        err.contains("$LOOPQL_TEST_HUBSPOT_UNSET is not set"),
        "{err}"
    );
}

#[test]
fn a_malformed_page_names_the_call_the_page_and_the_byte() {
    let (base, _seen) = serve();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path(), "pat-good");
    let err = read(api_request("contacts", &format!("{base}/broken"), &secrets)).unwrap_err();
    assert!(
        err.contains("HubSpot /crm/v3/objects/contacts, page 1, byte "),
        "{err}"
    );
    assert!(err.contains("not valid JSON"), "{err}");
}

#[test]
fn calls_are_paced_to_the_burst_limit() {
    let mut pacer = Pacer {
        burst: 2,
        window: Duration::from_millis(300),
        recent: VecDeque::new(),
    };
    let started = Instant::now();
    pacer.wait();
    pacer.wait();
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "two calls fit the window"
    );
    pacer.wait();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the third waits for the window to roll"
    );
}

/// A stand-in for the search endpoint over seven contacts modified at `T0` + 0, 1, 2, 2, 3, 4
/// and 5 seconds, answering `GTE` filters sorted ascending, `limit` at a time from `after`.
fn serve_search() -> (String, Seen) {
    const T0: i64 = 1_709_251_200_000; // 2024-03-01T00:00:00Z
    let modified = [0, 1, 2, 2, 3, 4, 5].map(|s| T0 + s * 1000);
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let url = request.url().to_string();
            log.lock().unwrap().push((
                request.method().to_string(),
                url.clone(),
                String::new(),
                body.clone(),
            ));
            let asked: Value = serde_json::from_str(&body).unwrap_or_default();
            let filter = &asked["filterGroups"][0]["filters"][0];
            let from: i64 = filter["value"].as_str().unwrap_or("0").parse().unwrap_or(0);
            let limit = asked["limit"].as_u64().unwrap_or(100) as usize;
            let after: usize = asked["after"].as_str().unwrap_or("0").parse().unwrap_or(0);
            let matching: Vec<String> = modified
                .iter()
                .enumerate()
                .filter(|(_, m)| **m >= from)
                .map(|(i, m)| {
                    format!(
                        r#"{{"id":"{}","properties":{{"hs_object_id":"{0}","email":"p{0}@x.com","createdate":"2024-01-01T00:00:00.000Z","lifecyclestage":"lead","lastmodifieddate":"{m}"}},"archived":false}}"#,
                        i + 1
                    )
                })
                .collect();
            let total = matching.len();
            let chunk: Vec<String> = matching.into_iter().skip(after).take(limit).collect();
            let next = if after + limit < total {
                format!(r#","paging":{{"next":{{"after":"{}"}}}}"#, after + limit)
            } else {
                String::new()
            };
            let text = if url.starts_with("/crm/v3/objects/contacts?")
                && url.contains("archived=true")
            {
                // One contact archived at T0 + 6 s, last modified before that.
                format!(
                    r#"{{"results":[{{"id":"9","properties":{{"hs_object_id":"9","email":"p9@x.com","createdate":"2024-01-01T00:00:00.000Z","lifecyclestage":"lead","lastmodifieddate":"{T0}"}},"archived":true,"archivedAt":"2024-03-01T00:00:06.000Z"}}]}}"#
                )
            } else if filter["propertyName"] == "lastmodifieddate"
                && filter["operator"] == "GTE"
                && url == "/crm/v3/objects/contacts/search"
            {
                format!(
                    r#"{{"total":{total},"results":[{}]{next}}}"#,
                    chunk.join(",")
                )
            } else {
                r#"{"status":"error","message":"unexpected search","category":"VALIDATION_ERROR"}"#
                    .to_string()
            };
            let _ = request.respond(tiny_http::Response::from_string(text));
        }
    });
    (base, seen)
}

#[test]
fn records_modified_since_come_from_search_past_its_cap_without_repeats() {
    let (base, seen) = serve_search();
    let mut session = Session::new(ApiConfig {
        base_url: base,
        token: "pat-good".into(),
        token_from: "test".into(),
        page_size: 2,
        search_cap: 4,
        burst: 100,
        window: Duration::from_secs(10),
        retry: Retry {
            attempts: 1,
            base: Duration::from_millis(1),
            max_wait: Duration::from_millis(1),
        },
    });
    let since = 1_709_251_201_000; // the second contact's modification
    let records = session
        .modified_since(
            "contacts",
            &["email", "lastmodifieddate"],
            "lastmodifieddate",
            since,
        )
        .unwrap();
    let ids: Vec<&str> = records.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["2", "3", "4", "5", "6", "7"], "each once, in order");
    let seen = seen.lock().unwrap().clone();
    let asked: Vec<Value> = seen
        .iter()
        .map(|s| serde_json::from_str(&s.3).unwrap())
        .collect();
    // Two pages reach the cap of 4; the search starts again from the newest seen (contact 5's
    // third second), which brings 4 and 5 again (left out) and then the rest.
    let from = |a: &Value| {
        a["filterGroups"][0]["filters"][0]["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(from(&asked[0]), since.to_string());
    assert_eq!(asked[0]["sorts"][0]["direction"], "ASCENDING");
    assert_eq!(asked[1]["after"], "2");
    assert_eq!(from(&asked[2]), (since + 2000).to_string());
    assert!(asked[2].get("after").is_none(), "{:?}", asked[2]);
    assert!(seen.iter().all(|s| s.0 == "POST"));
}

#[test]
fn an_incremental_scan_asks_search_for_the_filters_time_and_files_mode_refuses_it() {
    let (base, seen) = serve_search();
    let dir = tempfile::tempdir().unwrap();
    let secrets = credentials(dir.path(), "pat-good");
    let mut request = api_request("contacts", &base, &secrets);
    request.filters = vec![loopql_connector_sdk::Filter {
        column: "lastmodifieddate".into(),
        op: loopql_connector_sdk::FilterOp::GtEq,
        value: loopql_connector_sdk::Scalar::TimestampMicros(1_709_251_204_000_000),
    }];
    let batch = one(&read(request).unwrap());
    // Contacts 6 and 7 modified at or after the filter's time, and contact 9 archived since
    // (its modification time taken as the archive time, so the filter keeps it).
    assert_eq!(batch.num_rows(), 3);
    let archived = batch
        .column(batch.schema().index_of("archived").unwrap())
        .as_any()
        .downcast_ref::<loopql_connector_sdk::arrow::array::BooleanArray>()
        .unwrap()
        .clone();
    assert_eq!(
        archived.iter().collect::<Vec<_>>(),
        [None, None, Some(true)]
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].1, "/crm/v3/objects/contacts/search");
    assert!(
        seen[0].3.contains(r#""value":"1709251204000""#),
        "{}",
        seen[0].3
    );
    assert!(seen[1].1.contains("archived=true"), "{:?}", seen[1]);

    let err = read(
        ScanRequest::new("contacts")
            .with_option("contacts_path", "x.csv")
            .with_option("incremental", true),
    )
    .unwrap_err();
    assert!(err.contains("incremental reads ask the live API"), "{err}");
}
