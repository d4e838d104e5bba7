//! The BigQuery path against a stand-in for bigquery.googleapis.com and Google's token endpoint
//! on loopback, serving the documented shapes (`jobs.query` / `jobs.getQueryResults` answers
//! with `schema.fields`, `rows[].f[].v`, `pageToken`, `jobReference`; errors as
//! `{"error":{"code","message","errors":[{"reason"}]}}`): the token endpoint checks the JWT's
//! RS256 signature with the key's public half, rows come in three pages, and the events read
//! like the same events exported as NDJSON.

use super::*;
use crate::Ga4;
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::{Connector, Filter, FilterOp, Scalar, ScanRequest};
use std::sync::{Arc, Mutex};

const KEY_PEM: &str = include_str!("../testdata/throwaway-service-account-key.pem");

/// The export's NDJSON of three events (`bq extract`: INT64 as strings).
const EXPORT: &str = concat!(
    r#"{"event_date":"20240301","event_timestamp":"1709280000000000","event_name":"session_start","event_params":[{"key":"ga_session_id","value":{"string_value":null,"int_value":"1709280000","float_value":null,"double_value":null}},{"key":"page_location","value":{"string_value":"https://shop.example/?utm_source=google&utm_medium=cpc","int_value":null,"float_value":null,"double_value":null}}],"user_id":null,"user_pseudo_id":"111.222","collected_traffic_source":{"manual_source":"google","manual_medium":"cpc","manual_campaign_name":"brand","gclid":null},"ecommerce":null}"#,
    "\n",
    r#"{"event_date":"20240301","event_timestamp":"1709280300000000","event_name":"purchase","event_params":[{"key":"ga_session_id","value":{"string_value":null,"int_value":"1709280000","float_value":null,"double_value":null}},{"key":"engagement_time_msec","value":{"string_value":null,"int_value":null,"float_value":null,"double_value":5400.0}}],"user_id":"u-1","user_pseudo_id":"111.222","collected_traffic_source":null,"ecommerce":{"transaction_id":"T-1","purchase_revenue":89.9}}"#,
    "\n",
    r#"{"event_date":"20240302","event_timestamp":"1709366400000000","event_name":"page_view","event_params":[],"user_id":null,"user_pseudo_id":"333.444","collected_traffic_source":null,"ecommerce":null}"#,
    "\n",
);

fn schema() -> Value {
    let value = json!({"name":"value","type":"RECORD","mode":"NULLABLE","fields":[
        {"name":"string_value","type":"STRING","mode":"NULLABLE"},
        {"name":"int_value","type":"INTEGER","mode":"NULLABLE"},
        {"name":"float_value","type":"FLOAT","mode":"NULLABLE"},
        {"name":"double_value","type":"FLOAT","mode":"NULLABLE"}]});
    json!({"fields":[
        {"name":"event_date","type":"STRING","mode":"NULLABLE"},
        {"name":"event_timestamp","type":"INTEGER","mode":"NULLABLE"},
        {"name":"event_name","type":"STRING","mode":"NULLABLE"},
        {"name":"event_params","type":"RECORD","mode":"REPEATED","fields":[{"name":"key","type":"STRING","mode":"NULLABLE"}, value]},
        {"name":"user_id","type":"STRING","mode":"NULLABLE"},
        {"name":"user_pseudo_id","type":"STRING","mode":"NULLABLE"},
        {"name":"collected_traffic_source","type":"RECORD","mode":"NULLABLE","fields":[
            {"name":"manual_source","type":"STRING","mode":"NULLABLE"},
            {"name":"manual_medium","type":"STRING","mode":"NULLABLE"},
            {"name":"manual_campaign_name","type":"STRING","mode":"NULLABLE"},
            {"name":"gclid","type":"STRING","mode":"NULLABLE"}]},
        {"name":"ecommerce","type":"RECORD","mode":"NULLABLE","fields":[
            {"name":"transaction_id","type":"STRING","mode":"NULLABLE"},
            {"name":"purchase_revenue","type":"FLOAT","mode":"NULLABLE"}]}
    ]})
}

/// An event parameter in the `f` / `v` shape.
fn param(key: &str, string: Option<&str>, int: Option<&str>, double: Option<&str>) -> Value {
    json!({"v":{"f":[{"v":key},{"v":{"f":[{"v":string},{"v":int},{"v":null},{"v":double}]}}]}})
}

/// The same three events as BigQuery returns them.
fn rows() -> Vec<Value> {
    vec![
        json!({"f":[{"v":"20240301"},{"v":"1709280000000000"},{"v":"session_start"},
            {"v":[param("ga_session_id", None, Some("1709280000"), None), param("page_location", Some("https://shop.example/?utm_source=google&utm_medium=cpc"), None, None)]},
            {"v":null},{"v":"111.222"},
            {"v":{"f":[{"v":"google"},{"v":"cpc"},{"v":"brand"},{"v":null}]}},
            {"v":null}]}),
        json!({"f":[{"v":"20240301"},{"v":"1709280300000000"},{"v":"purchase"},
            {"v":[param("ga_session_id", None, Some("1709280000"), None), param("engagement_time_msec", None, None, Some("5400.0"))]},
            {"v":"u-1"},{"v":"111.222"},{"v":null},
            {"v":{"f":[{"v":"T-1"},{"v":"89.9"}]}}]}),
        json!({"f":[{"v":"20240302"},{"v":"1709366400000000"},{"v":"page_view"},
            {"v":[]},{"v":null},{"v":"333.444"},{"v":null},{"v":null}]}),
    ]
}

/// (method + path, body) of each call.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

fn serve(public_key: Vec<u8>) -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let rows = rows();
        let job = json!({"projectId":"acme-analytics","jobId":"job_abc","location":"EU"});
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let url = request.url().to_string();
            let auth = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .map(|h| h.value.as_str().to_string())
                .unwrap_or_default();
            log.lock()
                .unwrap()
                .push((format!("{} {url}", request.method()), body.clone()));
            let (status, text) = if url == "/token" {
                // The JWT must be signed by the service account's key.
                let assertion = body.split("assertion=").nth(1).unwrap_or_default();
                let (message, signature) = assertion.rsplit_once('.').unwrap_or_default();
                use base64::Engine;
                let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(signature)
                    .unwrap_or_default();
                let key = ring::signature::UnparsedPublicKey::new(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    &public_key,
                );
                if key.verify(message.as_bytes(), &signature).is_ok()
                    && body.starts_with(
                        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&",
                    )
                {
                    (
                        200,
                        r#"{"access_token":"ya29.bq","expires_in":3599,"token_type":"Bearer"}"#
                            .to_string(),
                    )
                } else {
                    (
                        400,
                        r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
                            .to_string(),
                    )
                }
            } else if auth != "Bearer ya29.bq" {
                (401, r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#.to_string())
            } else if url == "/bigquery/v2/projects/acme-analytics/queries"
                && body.contains("nope.events_*")
            {
                (404, r#"{"error":{"code":404,"message":"Not found: Table nope:events_* was not found in location EU","errors":[{"message":"Not found: Table nope:events_*","domain":"global","reason":"notFound"}],"status":"NOT_FOUND"}}"#.to_string())
            } else if url == "/bigquery/v2/projects/acme-analytics/queries" {
                // Not done yet: the rows come from getQueryResults.
                (
                    200,
                    json!({"kind":"bigquery#queryResponse","jobReference":job,"jobComplete":false})
                        .to_string(),
                )
            } else if url.starts_with("/bigquery/v2/projects/acme-analytics/queries/job_abc?") {
                let (page, token) = if url.contains("pageToken=p3") {
                    (vec![rows[2].clone()], None)
                } else if url.contains("pageToken=p2") {
                    (vec![rows[1].clone()], Some("p3"))
                } else {
                    (vec![rows[0].clone()], Some("p2"))
                };
                let mut answer = json!({"kind":"bigquery#getQueryResultsResponse","schema":schema(),"jobReference":job,"totalRows":"3","rows":page,"jobComplete":true});
                if let Some(t) = token {
                    answer["pageToken"] = json!(t);
                }
                (200, answer.to_string())
            } else {
                (
                    404,
                    r#"{"error":{"code":404,"message":"Not found"}}"#.to_string(),
                )
            };
            let _ =
                request.respond(tiny_http::Response::from_string(text).with_status_code(status));
        }
    });
    (base, seen)
}

/// A 0600 service account key naming the stand-in's token endpoint.
fn key_file(dir: &std::path::Path, base: &str) -> String {
    let path = dir.join("sa.json");
    let key = json!({
        "type": "service_account",
        "project_id": "acme-analytics",
        "private_key_id": "k1",
        "private_key": KEY_PEM,
        "client_email": "loopql@acme-analytics.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": format!("{base}/token"),
    });
    std::fs::write(&path, key.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_string_lossy().into_owned()
}

fn public_key() -> Vec<u8> {
    let account = ServiceAccount::parse(
        &json!({"private_key": KEY_PEM, "client_email": "x"}).to_string(),
        "k",
    )
    .unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&account.key).unwrap();
    use ring::signature::KeyPair;
    pair.public_key().as_ref().to_vec()
}

fn api(table: &str, base: &str, key: &str, dataset: &str) -> ScanRequest {
    let mut request = ScanRequest::new(table)
        .with_option("mode", "api")
        .with_option("dataset", dataset)
        .with_option("project", "acme-analytics")
        .with_option("service_account_file", key)
        .with_option("api_base_url", base);
    request.filters = vec![
        Filter {
            column: "event_date".into(),
            op: FilterOp::GtEq,
            value: Scalar::Date("2024-03-01".into()),
        },
        Filter {
            column: "event_date".into(),
            op: FilterOp::LtEq,
            value: Scalar::Date("2024-03-02".into()),
        },
    ];
    request
}

fn read(request: ScanRequest) -> Result<Vec<RecordBatch>, String> {
    Ga4.scan(request)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn one(batches: &[RecordBatch]) -> RecordBatch {
    loopql_connector_sdk::arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap()
}

#[test]
fn events_from_bigquery_equal_the_export_of_the_same_events() {
    let (base, seen) = serve(public_key());
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), &base);
    let export = dir.path().join("events_20240301.json");
    std::fs::write(&export, EXPORT).unwrap();
    for table in ["events", "event_params"] {
        let live = one(&read(api(table, &base, &key, "acme-analytics.analytics_123")).unwrap());
        let files = one(&read(
            ScanRequest::new(table).with_option("path", export.to_string_lossy().into_owned()),
        )
        .unwrap());
        assert!(live.num_rows() >= 3, "{table}");
        assert_eq!(live, files, "{table}: BigQuery and the export read alike");
    }
    let seen = seen.lock().unwrap().clone();
    let calls: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(calls[0], "POST /token");
    assert_eq!(
        calls[1],
        "POST /bigquery/v2/projects/acme-analytics/queries"
    );
    assert!(
        calls[2]
            .starts_with("GET /bigquery/v2/projects/acme-analytics/queries/job_abc?maxResults="),
        "{calls:?}"
    );
    assert!(calls[2].ends_with("&location=EU"), "{calls:?}");
    assert!(
        calls[3].contains("pageToken=p2") && calls[4].contains("pageToken=p3"),
        "{calls:?}"
    );
    let query: Value = serde_json::from_str(&seen[1].1).unwrap();
    assert_eq!(
        query["query"],
        "SELECT * FROM `acme-analytics.analytics_123.events_*` WHERE _TABLE_SUFFIX BETWEEN '20240301' AND '20240302'",
        "the query's days become the table suffixes"
    );
    assert_eq!(query["useLegacySql"], false);
}

#[test]
fn errors_are_clear_and_a_readable_key_is_refused() {
    let (base, _seen) = serve(public_key());
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), &base);
    let err = read(api("events", &base, &key, "acme-analytics.nope")).unwrap_err();
    assert!(err.contains("BigQuery jobs.query, page 1 failed (HTTP 404): notFound: Not found: Table nope:events_*"), "{err}");
    assert!(!err.contains("PRIVATE KEY"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read(api("events", &base, &key, "acme-analytics.analytics_123")).unwrap_err();
        assert!(
            err.contains("may be read by others (permissions 644)"),
            "{err}"
        );
    }
}

#[test]
fn throttling_and_outages_are_retried_a_cut_answer_is_located_and_an_empty_window_is_no_rows() {
    use loopql_connector_sdk::standin::{Fault, Reply, StandIn};
    let job = json!({"projectId":"acme-analytics","jobId":"job_all","location":"EU"});
    let answer =
        json!({"kind":"bigquery#queryResponse","schema":schema(),"jobReference":job.clone(),
        "totalRows":"3","rows":rows(),"jobComplete":true,"cacheHit":false})
        .to_string();
    let api = StandIn::serve(move |call| match call.path() {
        "/token" => {
            Reply::ok(r#"{"access_token":"ya29.bq","expires_in":3599,"token_type":"Bearer"}"#)
        }
        "/bigquery/v2/projects/acme-analytics/queries"
            if call.header("Authorization") == Some("Bearer ya29.bq") =>
        {
            Reply::ok(answer.clone())
        }
        _ => Reply::status(404, r#"{"error":{"code":404,"message":"Not found"}}"#),
    });
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), &api.base);
    let path = "/bigquery/v2/projects/acme-analytics/queries";
    let events = |api: &StandIn| {
        read(api_request(&api.base, &key)).map(|b| b.iter().map(|b| b.num_rows()).sum::<usize>())
    };
    api.fail_next(
        path,
        Fault::Throttle {
            retry_after: 1,
            body: r#"{"error":{"code":429,"message":"Quota exceeded: Your project exceeded quota for concurrent queries.","errors":[{"reason":"rateLimitExceeded"}],"status":"RESOURCE_EXHAUSTED"}}"#.into(),
        },
    );
    api.fail_next(
        path,
        Fault::Unavailable {
            body: r#"{"error":{"code":503,"message":"The service is currently unavailable.","errors":[{"reason":"backendError"}],"status":"UNAVAILABLE"}}"#.into(),
        },
    );
    assert_eq!(events(&api), Ok(3));
    let queries = api.calls().iter().filter(|c| c.path() == path).count();
    assert_eq!(queries, 3, "429, 503, then the answer");

    api.fail_next(path, Fault::Malformed);
    let err = events(&api).unwrap_err();
    assert!(err.contains("BigQuery jobs.query, page 1, byte "), "{err}");
    assert!(
        !err.contains("ya29.bq") && !err.contains("PRIVATE KEY"),
        "{err}"
    );

    api.fail_next(
        path,
        Fault::Answer(Reply::ok(
            json!({"kind":"bigquery#queryResponse","schema":schema(),"jobReference":job,
                "totalRows":"0","jobComplete":true})
            .to_string(),
        )),
    );
    assert_eq!(events(&api), Ok(0));
}

fn api_request(base: &str, key: &str) -> ScanRequest {
    api("events", base, key, "acme-analytics.analytics_123")
}
