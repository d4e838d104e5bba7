//! The live path's faults against the SDK's stand-in serving recorded answers of the token
//! endpoint and a SOQL query (`testdata/`): a 429 with `Retry-After` and a 503 are retried and the
//! batch still arrives whole, a batch cut short is located by object, batch and byte, and a window
//! with no records (`totalSize` 0) is no rows, not an error.

use crate::Salesforce;
use loopql_connector_sdk::standin::{Fault, Reply, StandIn, credentials_file};
use loopql_connector_sdk::{Connector, ScanRequest};

const TOKEN: &str = include_str!("../testdata/oauth2_token.json");
const QUERY: &str = include_str!("../testdata/query_lead.json");
const PATH: &str = "/services/data/v62.0/query";

fn rows(api: &StandIn, dir: &std::path::Path) -> Result<usize, String> {
    let secrets = credentials_file(
        dir,
        "salesforce.secrets",
        &[
            ("client_id", "3MVG9-connected-app"),
            ("client_secret", "sf-secret"),
            ("refresh_token", "5Aep861-refresh"),
        ],
    );
    let request = ScanRequest::new("lead")
        .with_option("mode", "api")
        .with_option("login_url", api.base.as_str())
        .with_option("api_version", "62.0")
        .with_option("credentials_file", secrets.to_string_lossy().into_owned())
        .with_option("client_id_env", "LOOPQL_TEST_SF_UNSET_1")
        .with_option("client_secret_env", "LOOPQL_TEST_SF_UNSET_2")
        .with_option("refresh_token_env", "LOOPQL_TEST_SF_UNSET_3");
    let batches = Salesforce
        .scan(request)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

#[test]
fn throttling_and_outages_are_retried_a_cut_batch_is_located_and_an_empty_window_is_no_rows() {
    let api = StandIn::serve(|call| match call.path() {
        "/services/oauth2/token" => {
            let host = call.header("Host").unwrap_or_default();
            Reply::ok(TOKEN.replace("{instance}", &format!("http://{host}")))
        }
        PATH if call.header("Authorization") == Some("Bearer 00D5g000004FAKE!AQ0AQ.session") => {
            Reply::ok(QUERY)
        }
        _ => Reply::status(
            404,
            r#"[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]"#,
        ),
    });
    let dir = tempfile::tempdir().unwrap();
    api.fail_next(
        PATH,
        Fault::Throttle {
            retry_after: 1,
            body: r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#
                .into(),
        },
    );
    api.fail_next(
        PATH,
        Fault::Unavailable {
            body: r#"[{"message":"Service Unavailable","errorCode":"SERVER_UNAVAILABLE"}]"#.into(),
        },
    );
    assert_eq!(rows(&api, dir.path()), Ok(2));
    let queries: Vec<String> = api
        .calls()
        .into_iter()
        .filter(|c| c.path() == PATH)
        .map(|c| c.url)
        .collect();
    assert_eq!(queries.len(), 3, "429, 503, then the batch: {queries:?}");
    assert!(queries.iter().all(|q| q == &queries[0]));

    api.fail_next(PATH, Fault::Malformed);
    let err = rows(&api, dir.path()).unwrap_err();
    assert!(
        err.contains("Salesforce query of Lead (batch 1), byte "),
        "{err}"
    );
    assert!(
        !err.contains("sf-secret") && !err.contains("AQ0AQ"),
        "{err}"
    );

    api.fail_next(
        PATH,
        Fault::Answer(Reply::ok(r#"{"totalSize":0,"done":true,"records":[]}"#)),
    );
    assert_eq!(rows(&api, dir.path()), Ok(0));
}
