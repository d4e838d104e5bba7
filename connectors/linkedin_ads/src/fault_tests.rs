//! The live path's faults against the SDK's stand-in serving a recorded `adAnalytics` page
//! (`testdata/ad_analytics_page.json`): a 503 is retried and the page still arrives whole, and a
//! week without delivery (no elements, `total` 0) is no rows, not an error.

use crate::LinkedInAds;
use loopql_connector_sdk::standin::{Fault, Reply, StandIn, credentials_file};
use loopql_connector_sdk::{Connector, Filter, FilterOp, Scalar, ScanRequest};

const PAGE: &str = include_str!("../testdata/ad_analytics_page.json");
const PATH: &str = "/rest/adAnalytics";

fn rows(api: &StandIn, dir: &std::path::Path) -> Result<usize, String> {
    let secrets = credentials_file(dir, "linkedin.secrets", &[("access_token", "AQX-good")]);
    let mut request = ScanRequest::new("ad_analytics")
        .with_option("mode", "api")
        .with_option("account_ids", "507")
        .with_option("currency", "EUR")
        .with_option("api_base_url", api.base.as_str())
        .with_option("credentials_file", secrets.to_string_lossy().into_owned())
        .with_option("access_token_env", "LOOPQL_TEST_LINKEDIN_UNSET")
        .with_option("refresh_token_env", "LOOPQL_TEST_LINKEDIN_UNSET_R");
    request.filters = vec![
        Filter {
            column: "date".into(),
            op: FilterOp::GtEq,
            value: Scalar::Date("2024-03-04".into()),
        },
        Filter {
            column: "date".into(),
            op: FilterOp::Lt,
            value: Scalar::Date("2024-03-05".into()),
        },
    ];
    let batches = LinkedInAds
        .scan(request)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

#[test]
fn an_outage_is_retried_and_a_week_without_delivery_is_no_rows() {
    let api = StandIn::serve(|call| {
        if call.header("Authorization") != Some("Bearer AQX-good") {
            Reply::status(
                401,
                r#"{"status":401,"serviceErrorCode":65600,"code":"INVALID_ACCESS_TOKEN","message":"Invalid access token"}"#,
            )
        } else if call.path() == PATH {
            Reply::ok(PAGE)
        } else {
            Reply::status(404, r#"{"status":404,"message":"Not found"}"#)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    api.fail_next(
        PATH,
        Fault::Unavailable {
            body: r#"{"status":503,"message":"Service Unavailable"}"#.into(),
        },
    );
    assert_eq!(rows(&api, dir.path()), Ok(2));
    let calls: Vec<String> = api
        .calls()
        .into_iter()
        .filter(|c| c.path() == PATH)
        .map(|c| c.url)
        .collect();
    assert_eq!(calls.len(), 2, "503, then the page: {calls:?}");
    assert_eq!(calls[0], calls[1]);

    api.fail_next(
        PATH,
        Fault::Answer(Reply::ok(
            r#"{"paging":{"start":0,"count":10000,"total":0,"links":[]},"elements":[]}"#,
        )),
    );
    assert_eq!(rows(&api, dir.path()), Ok(0));
}
