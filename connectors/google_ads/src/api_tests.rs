//! The live path against a stand-in for googleads.googleapis.com and Google's OAuth2 token
//! endpoint on loopback, serving the documented shapes (a searchStream answer is a JSON array of
//! `SearchGoogleAdsStreamResponse` batches; errors are `google.rpc.Status` with
//! `GoogleAdsFailure` details) and misbehaving on purpose per customer id.

use super::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the stand-in saw of one call.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: String,
    developer_token: String,
    login_customer_id: String,
    body: String,
}

struct StandIn {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn row(customer: &str, campaign: u32, day: &str, clicks: u32) -> String {
    format!(
        r#"{{"customer":{{"resourceName":"customers/{customer}","id":"{customer}","currencyCode":"EUR"}},"campaign":{{"resourceName":"customers/{customer}/campaigns/{campaign}","id":"{campaign}","name":"Brand {campaign}","advertisingChannelType":"SEARCH"}},"metrics":{{"clicks":"{clicks}","impressions":"100","costMicros":"2500000","conversions":1.0,"conversionsValue":40.5}},"segments":{{"date":"{day}"}}}}"#
    )
}

fn batch(rows: &[String]) -> String {
    format!(
        r#"{{"results":[{}],"fieldMask":"segments.date,customer.id,customer.currencyCode,campaign.id,campaign.name,campaign.advertisingChannelType,metrics.impressions,metrics.clicks,metrics.costMicros,metrics.conversions,metrics.conversionsValue","requestId":"r1"}}"#,
        rows.join(",")
    )
}

fn failure(status: u16, code: &str, kind: &str, value: &str, message: &str) -> String {
    format!(
        r#"{{"error":{{"code":{status},"message":"Request contains an invalid argument.","status":"{code}","details":[{{"@type":"type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure","errors":[{{"errorCode":{{"{kind}":"{value}"}},"message":"{message}"}}],"requestId":"req-9"}}]}}}}"#
    )
}

const UNAUTHENTICATED: &str = r#"{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","status":"UNAUTHENTICATED","details":[{"@type":"type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure","errors":[{"errorCode":{"authenticationError":"OAUTH_TOKEN_EXPIRED"},"message":"Oauth token is expired."}]}]}}"#;

fn serve() -> StandIn {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut issued = 0;
        let mut valid = String::new();
        let mut calls: std::collections::BTreeMap<String, u32> = Default::default();
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
            let entry = Seen {
                path: path.clone(),
                authorization: header("Authorization"),
                developer_token: header("developer-token"),
                login_customer_id: header("login-customer-id"),
                body: body.clone(),
            };
            let authorization = entry.authorization.clone();
            log.lock().unwrap().push(entry);
            let n = {
                let c = calls.entry(path.clone()).or_default();
                *c += 1;
                *c
            };
            let mut retry_after = None;
            let (status, text) = if path == "/token" {
                if body.contains("refresh_token=good-refresh")
                    && body.contains("client_secret=s3cret")
                {
                    issued += 1;
                    valid = format!("at-{issued}");
                    (
                        200,
                        format!(
                            r#"{{"access_token":"{valid}","expires_in":3599,"scope":"https://www.googleapis.com/auth/adwords","token_type":"Bearer"}}"#
                        ),
                    )
                } else {
                    (400, r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#.to_string())
                }
            } else if path == "/v26/customers/777/googleAds:searchStream" && n == 1 {
                // The token lapses server-side: the client must refresh once and retry.
                valid = "lapsed".into();
                (401, UNAUTHENTICATED.to_string())
            } else if authorization != format!("Bearer {valid}") {
                (401, UNAUTHENTICATED.to_string())
            } else {
                match path.as_str() {
                    "/v26/customers/111/googleAds:searchStream" | "/v26/customers/777/googleAds:searchStream" => {
                        let c = if path.contains("111") { "111" } else { "777" };
                        let pages = [
                            batch(&[row(c, 1, "2024-03-01", 5), row(c, 2, "2024-03-01", 6)]),
                            batch(&[row(c, 1, "2024-03-02", 7)]),
                            batch(&[row(c, 1, "2024-03-03", 8), row(c, 2, "2024-03-03", 9)]),
                        ];
                        (200, format!("[{}]", pages.join(",")))
                    }
                    "/v26/customers/222/googleAds:searchStream" if n == 1 => {
                        retry_after = Some("1");
                        (429, failure(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_EXHAUSTED", "Too many requests."))
                    }
                    "/v26/customers/222/googleAds:searchStream" => {
                        (200, format!("[{}]", batch(&[row("222", 3, "2024-03-02", 1)])))
                    }
                    "/v26/customers/333/googleAds:searchStream" if n == 1 => {
                        (503, r#"{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}"#.to_string())
                    }
                    "/v26/customers/333/googleAds:searchStream" => (200, "[]".to_string()),
                    "/v26/customers/444/googleAds:searchStream" => {
                        (200, format!("[{},\n{{\"results\":[{{\"customer\":", batch(&[row("444", 1, "2024-03-01", 1)])))
                    }
                    "/v26/customers/555/googleAds:searchStream" => (
                        400,
                        failure(400, "INVALID_ARGUMENT", "queryError", "UNRECOGNIZED_FIELD", "Unrecognized field in the query: 'campaign.foo'."),
                    ),
                    "/v26/customers/666/googleAds:searchStream" => (
                        200,
                        format!(
                            "[{},{}]",
                            batch(&[row("666", 1, "2024-03-01", 1)]),
                            failure(500, "INTERNAL", "internalError", "INTERNAL_ERROR", "An internal error has occurred.")
                        ),
                    ),
                    _ => (404, r#"{"error":{"code":404,"message":"Not found","status":"NOT_FOUND"}}"#.to_string()),
                }
            };
            let mut response = tiny_http::Response::from_string(text)
                .with_status_code(status)
                .with_header(
                    tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                );
            if let Some(seconds) = retry_after {
                response = response
                    .with_header(tiny_http::Header::from_bytes("Retry-After", seconds).unwrap());
            }
            let _ = request.respond(response);
        }
    });
    StandIn { base, seen }
}

fn config(base: &str, customers: &[&str], refresh_token: &str) -> ApiConfig {
    ApiConfig {
        base_url: base.into(),
        version: "v26".into(),
        customer_ids: customers.iter().map(|c| c.to_string()).collect(),
        login_customer_id: Some("9990001111".into()),
        developer_token: "DEVTOKEN-xyz".into(),
        oauth: OAuth {
            platform: "Google OAuth".into(),
            token_url: format!("{base}/token"),
            client_id: "client-1.apps.googleusercontent.com".into(),
            client_secret: "s3cret".into(),
            grant: loopql_connector_sdk::oauth::Grant::RefreshToken(refresh_token.into()),
            extra: Vec::new(),
            hint: "the refresh_token_env".into(),
        },
        since: "2024-03-01".into(),
        until: "2024-03-07".into(),
        retry: Retry {
            attempts: 3,
            base: Duration::from_millis(5),
            max_wait: Duration::from_millis(100),
        },
    }
}

fn fetch_all(config: ApiConfig) -> Result<Vec<CampaignRow>, ConnectorError> {
    let customers = config.customer_ids.clone();
    let mut session = Session::new(config);
    let mut rows = Vec::new();
    for c in customers {
        rows.extend(session.fetch(&c, false)?);
    }
    Ok(rows)
}

/// No secret of `config` in `text`.
fn assert_no_secret(text: &str) {
    for secret in [
        "DEVTOKEN-xyz",
        "s3cret",
        "good-refresh",
        "bad-refresh",
        "at-1",
        "at-2",
    ] {
        assert!(!text.contains(secret), "a secret in: {text}");
    }
}

#[test]
fn batches_of_several_customers_are_read_with_the_right_headers_and_range() {
    let s = serve();
    let rows = fetch_all(config(&s.base, &["111", "222", "333"], "good-refresh")).unwrap();
    // 111: three batches of 2 + 1 + 2 rows; 222: one row after a 429; 333: nothing after a 503.
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows.iter().map(|r| r.clicks).collect::<Vec<_>>(),
        vec![5, 6, 7, 8, 9, 1]
    );
    assert_eq!(rows[0].cost_micros, 2_500_000);
    assert_eq!(rows[5].customer_id, 222);
    let seen = s.seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/token",
            "/v26/customers/111/googleAds:searchStream",
            "/v26/customers/222/googleAds:searchStream",
            "/v26/customers/222/googleAds:searchStream",
            "/v26/customers/333/googleAds:searchStream",
            "/v26/customers/333/googleAds:searchStream",
        ],
        "one token for all; the 429 and the 503 retried once each"
    );
    let token = &seen[0];
    assert!(
        token.body.contains("grant_type=refresh_token"),
        "{}",
        token.body
    );
    assert!(
        token
            .body
            .contains("client_id=client-1.apps.googleusercontent.com"),
        "{}",
        token.body
    );
    for call in &seen[1..] {
        assert_eq!(call.authorization, "Bearer at-1");
        assert_eq!(call.developer_token, "DEVTOKEN-xyz");
        assert_eq!(call.login_customer_id, "9990001111");
        let query: Value = serde_json::from_str(&call.body).unwrap();
        let gaql = query["query"].as_str().unwrap();
        assert!(
            gaql.contains(
                "FROM campaign WHERE segments.date BETWEEN '2024-03-01' AND '2024-03-07'"
            ),
            "{gaql}"
        );
        assert!(gaql.contains("campaign.advertising_channel_type"), "{gaql}");
    }
}

#[test]
fn an_expired_token_is_refreshed_once() {
    let s = serve();
    let rows = fetch_all(config(&s.base, &["777"], "good-refresh")).unwrap();
    assert_eq!(rows.len(), 5);
    let seen = s.seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/token",
            "/v26/customers/777/googleAds:searchStream",
            "/token",
            "/v26/customers/777/googleAds:searchStream",
        ]
    );
    assert_eq!(seen[3].authorization, "Bearer at-2");
}

#[test]
fn a_refused_refresh_token_says_what_to_check_without_secrets() {
    let s = serve();
    let err = fetch_all(config(&s.base, &["111"], "bad-refresh"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "Google OAuth refused the credentials (HTTP 400): Token has been expired or revoked."
        ),
        "{err}"
    );
    assert!(err.contains("refresh_token_env"), "{err}");
    assert_no_secret(&err);
}

#[test]
fn a_google_ads_failure_names_its_error_code() {
    let s = serve();
    let err = fetch_all(config(&s.base, &["555"], "good-refresh"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("customer 555 failed (HTTP 400): INVALID_ARGUMENT"),
        "{err}"
    );
    assert!(
        err.contains(
            "queryError.UNRECOGNIZED_FIELD: Unrecognized field in the query: 'campaign.foo'."
        ),
        "{err}"
    );
    assert!(err.contains("request id req-9"), "{err}");
    assert_no_secret(&err);
    let err = fetch_all(config(&s.base, &["666"], "good-refresh"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("customer 666 failed mid-stream"), "{err}");
    assert!(err.contains("internalError.INTERNAL_ERROR"), "{err}");
}

#[test]
fn a_malformed_answer_is_located() {
    let s = serve();
    let err = fetch_all(config(&s.base, &["444"], "good-refresh"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/v26/customers/444/googleAds:searchStream:2:"),
        "names the call, the line and column: {err}"
    );
    assert!(
        err.contains("the Google Ads API's searchStream answer"),
        "{err}"
    );
    assert_no_secret(&err);
}

#[test]
fn a_persistent_outage_fails_after_the_attempts() {
    let s = serve();
    let mut c = config(&s.base, &["000"], "good-refresh");
    c.base_url = "http://127.0.0.1:9".into();
    let err = fetch_all(c).unwrap_err().to_string();
    assert!(err.contains("failed after 3 attempts"), "{err}");
    assert_no_secret(&err);
}

#[test]
fn ads_messages_read_both_error_shapes() {
    let one = failure(400, "INVALID_ARGUMENT", "queryError", "BAD", "bad query");
    assert!(ads_message(&one).contains("INVALID_ARGUMENT"));
    assert!(ads_message(&format!("[{one}]")).contains("queryError.BAD: bad query"));
    assert_eq!(ads_message("plain text"), "plain text");
}
