//! The live path's faults against the SDK's stand-in serving a recorded page of the objects list
//! (`testdata/objects_contacts_page.json`): a 429 with `Retry-After` and a 503 are retried and the
//! page still arrives whole, a page cut short is located by call, page and byte, and a window with
//! no records is no rows, not an error.

use crate::HubSpot;
use loopql_connector_sdk::standin::{Fault, Reply, StandIn, credentials_file};
use loopql_connector_sdk::{Connector, ScanRequest};

const PAGE: &str = include_str!("../testdata/objects_contacts_page.json");
const PATH: &str = "/crm/v3/objects/contacts";

fn rows(api: &StandIn, dir: &std::path::Path) -> Result<usize, String> {
    let secrets = credentials_file(dir, "hubspot.secrets", &[("access_token", "pat-good")]);
    let request = ScanRequest::new("contacts")
        .with_option("mode", "api")
        .with_option("api_base_url", api.base.as_str())
        .with_option("credentials_file", secrets.to_string_lossy().into_owned())
        .with_option("access_token_env", "LOOPQL_TEST_HUBSPOT_UNSET");
    let batches = HubSpot
        .scan(request)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

#[test]
fn throttling_and_outages_are_retried_a_cut_page_is_located_and_an_empty_window_is_no_rows() {
    let api = StandIn::serve(|call| {
        if call.path() == PATH && call.header("Authorization") == Some("Bearer pat-good") {
            Reply::ok(PAGE)
        } else {
            Reply::status(
                404,
                r#"{"status":"error","message":"not found","category":"OBJECT_NOT_FOUND"}"#,
            )
        }
    });
    let dir = tempfile::tempdir().unwrap();
    api.fail_next(
        PATH,
        Fault::Throttle {
            retry_after: 1,
            body: r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}"#.into(),
        },
    );
    api.fail_next(
        PATH,
        Fault::Unavailable {
            body: r#"{"status":"error","message":"Service Unavailable","category":"SERVICE_UNAVAILABLE"}"#.into(),
        },
    );
    assert_eq!(rows(&api, dir.path()), Ok(2));
    let calls = api.calls();
    assert_eq!(calls.len(), 3, "429, 503, then the page");
    assert!(
        calls.iter().all(|c| c.url == calls[0].url),
        "the same call again"
    );

    api.fail_next(PATH, Fault::Malformed);
    let err = rows(&api, dir.path()).unwrap_err();
    assert!(
        err.contains("HubSpot /crm/v3/objects/contacts, page 1, byte "),
        "{err}"
    );
    assert!(!err.contains("pat-good"), "{err}");

    api.fail_next(PATH, Fault::Answer(Reply::ok(r#"{"results":[]}"#)));
    assert_eq!(rows(&api, dir.path()), Ok(0));
}
