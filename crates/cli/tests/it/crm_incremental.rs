//! Incremental CRM syncs through the binary, against a stand-in for HubSpot's CRM API serving
//! the documented shapes (v3 object list pages, v3 search, v4 association batch reads): the
//! first sync lists every record; with `incremental = true` the next one asks the search
//! endpoint only for the records modified since the newest it holds, less `restatement_days`
//! (and the list's archived view for the records deleted since), and the warehouse ends with
//! exactly what a full re-read gives.

use crate::support::{csv_query, loopql, run};
use loopql_test_support::library;
use serde_json::Value;
use std::sync::{Arc, Mutex};

const DAY_MS: i64 = 86_400_000;
/// 2024-03-01T00:00:00Z
const T0: i64 = 1_709_251_200_000;

/// (id, email, lifecycle stage, last modified ms, archived at ms)
type Contact = (u32, String, &'static str, i64, Option<i64>);

struct StandIn {
    base: String,
    contacts: Arc<Mutex<Vec<Contact>>>,
    /// (method, path and query, body) of each call.
    calls: Arc<Mutex<Vec<(String, String, String)>>>,
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn contact_json((id, email, stage, modified, archived): &Contact) -> String {
    let archived = match archived {
        Some(at) => format!(r#""archived":true,"archivedAt":"{}""#, iso(*at)),
        None => r#""archived":false"#.to_string(),
    };
    format!(
        r#"{{"id":"{id}","properties":{{"hs_object_id":"{id}","email":"{email}","createdate":"2024-01-0{id}T10:00:00.000Z","lifecyclestage":"{stage}","lastmodifieddate":"{}"}},{archived}}}"#,
        iso(*modified)
    )
}

const DEAL: &str = r#"{"id":"9","properties":{"hs_object_id":"9","dealname":"Big","amount":"1200.5","deal_currency_code":"EUR","dealstage":"closedwon","createdate":"2024-01-10T00:00:00.000Z","closedate":"2024-02-10T00:00:00.000Z","hs_is_closed_won":"true","hs_is_closed":"true","hs_lastmodifieddate":"2024-02-10T00:00:00.000Z"},"archived":false}"#;

fn serve() -> StandIn {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let contacts: Arc<Mutex<Vec<Contact>>> = Arc::new(Mutex::new(vec![
        (1, "a@x.com".into(), "lead", T0 - 29 * DAY_MS, None),
        (2, "b@x.com".into(), "lead", T0 - 5 * DAY_MS, None),
        (3, "c@x.com".into(), "customer", T0, None),
        (4, "d@x.com".into(), "lead", T0 - 20 * DAY_MS, None),
        (5, "e@x.com".into(), "lead", T0 - 21 * DAY_MS, None),
        (6, "f@x.com".into(), "lead", T0 - 22 * DAY_MS, None),
    ]));
    let calls = Arc::new(Mutex::new(Vec::new()));
    let (state, log) = (contacts.clone(), calls.clone());
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let url = request.url().to_string();
            let path = url.split('?').next().unwrap_or_default().to_string();
            let method = request.method().to_string();
            log.lock()
                .unwrap()
                .push((method.clone(), url.clone(), body.clone()));
            let all = state.lock().unwrap().clone();
            // The list endpoint shows live or archived records; search only live ones.
            let archived = url.contains("archived=true");
            let contacts: Vec<Contact> = all
                .iter()
                .filter(|c| c.4.is_some() == (archived && method == "GET"))
                .cloned()
                .collect();
            let text = match (method.as_str(), path.as_str()) {
                ("GET", "/crm/v3/objects/contacts") => format!(
                    r#"{{"results":[{}]}}"#,
                    contacts.iter().map(contact_json).collect::<Vec<_>>().join(",")
                ),
                ("GET", "/crm/v3/objects/deals") if archived => r#"{"results":[]}"#.to_string(),
                ("GET", "/crm/v3/objects/deals") => format!(r#"{{"results":[{DEAL}]}}"#),
                ("POST", "/crm/v3/objects/contacts/search") => {
                    let asked: Value = serde_json::from_str(&body).unwrap();
                    let from: i64 = asked["filterGroups"][0]["filters"][0]["value"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    let mut found: Vec<&Contact> =
                        contacts.iter().filter(|c| c.3 >= from).collect();
                    found.sort_by_key(|c| c.3);
                    format!(
                        r#"{{"total":{},"results":[{}]}}"#,
                        found.len(),
                        found.iter().map(|c| contact_json(c)).collect::<Vec<_>>().join(",")
                    )
                }
                ("POST", "/crm/v3/objects/deals/search") => {
                    format!(r#"{{"total":1,"results":[{DEAL}]}}"#)
                }
                ("POST", "/crm/v4/associations/deals/contacts/batch/read") => {
                    r#"{"status":"COMPLETE","results":[{"from":{"id":"9"},"to":[{"toObjectId":3,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":3,"label":null}]}]}]}"#.to_string()
                }
                _ => r#"{"status":"error","message":"not found","category":"OBJECT_NOT_FOUND"}"#
                    .to_string(),
            };
            let _ = request.respond(tiny_http::Response::from_string(text));
        }
    });
    StandIn {
        base,
        contacts,
        calls,
    }
}

fn sync(project: &std::path::Path, args: &[&str]) {
    let mut all = vec!["sync", "-q", "-p", project.to_str().unwrap()];
    all.extend(args);
    let (out, _, stderr) = run(loopql(&all).env("LOOPQL_TEST_HUBSPOT_TOKEN", "pat-good"));
    assert!(out.status.success(), "{stderr}");
}

fn contacts(project: &std::path::Path) -> Vec<Vec<String>> {
    csv_query(
        project,
        "SELECT hs_object_id, email, CAST(lastmodifieddate AS VARCHAR) FROM hubspot.contacts ORDER BY 1",
    )
    .iter()
    .map(|r| r.iter().map(str::to_string).collect())
    .collect()
}

#[test]
fn an_incremental_sync_reads_what_changed_and_ends_like_a_full_one() {
    let api = serve();
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("loopql.toml");
    std::fs::write(
        &project,
        format!(
            "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n[[clients]]\nid = \"acme\"\ncurrency = \"EUR\"\n\n\
             [[sources]]\nconnector = \"hubspot\"\nclient_id = \"acme\"\nrestatement_days = 1\n\
             options = {{ mode = \"api\", incremental = true, api_base_url = \"{}\", access_token_env = \"LOOPQL_TEST_HUBSPOT_TOKEN\" }}\n",
            library("loopql_hubspot"),
            api.base
        ),
    )
    .unwrap();
    sync(&project, &[]);
    assert_eq!(contacts(&project).len(), 6);
    let first: Vec<String> = api
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.1.clone())
        .collect();
    assert!(
        first
            .iter()
            .any(|u| u.starts_with("/crm/v3/objects/contacts?") && u.contains("archived=false"))
            && !first
                .iter()
                .any(|u| u.ends_with("/search") || u.contains("archived=true")),
        "the first sync lists everything live: {first:?}"
    );

    // At the source: contact 2 changes its email, contact 7 appears, contact 1 is archived.
    {
        let mut c = api.contacts.lock().unwrap();
        c[1].1 = "b.new@x.com".into();
        c[1].3 = T0 + 4 * DAY_MS;
        c.push((7, "g@x.com".into(), "lead", T0 + 4 * DAY_MS, None));
        c[0].4 = Some(T0 + 3 * DAY_MS);
    }
    api.calls.lock().unwrap().clear();
    sync(&project, &[]);
    let calls = api.calls.lock().unwrap().clone();
    let search = calls
        .iter()
        .find(|c| c.1 == "/crm/v3/objects/contacts/search")
        .unwrap_or_else(|| panic!("no search: {calls:?}"));
    let asked: Value = serde_json::from_str(&search.2).unwrap();
    assert_eq!(
        asked["filterGroups"][0]["filters"][0]["value"],
        (T0 - DAY_MS).to_string(),
        "the newest modification held (contact 3's) less restatement_days = 1"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.1.starts_with("/crm/v3/objects/contacts?") && c.1.contains("archived=false")),
        "no full listing of the contacts: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.1.starts_with("/crm/v3/objects/contacts?") && c.1.contains("archived=true")),
        "the archived records are asked for: {calls:?}"
    );
    let incremental = contacts(&project);
    let ids: Vec<&str> = incremental.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["2", "3", "4", "5", "6", "7"], "1 archived, 7 added");
    assert_eq!(incremental[0][1], "b.new@x.com", "replaced by its change");
    assert_eq!(incremental[2][1], "d@x.com", "kept from the previous read");
    let (_, status, _) = run(&mut loopql(&[
        "sync",
        "status",
        "-p",
        project.to_str().unwrap(),
    ]));
    // Rows read are what the source sent: contacts 2, 3 and 7 from search, 1 from the archived
    // view, the deal, its association (a full read is 8: six contacts, the deal, the link).
    let line = status
        .lines()
        .find(|l| l.contains("acme_hubspot"))
        .unwrap_or_else(|| panic!("{status}"));
    let rows_read = line
        .trim_end_matches('|')
        .rsplit('|')
        .next()
        .unwrap()
        .trim();
    assert_eq!(rows_read, "6", "{status}");

    // A full re-read gives the same rows.
    sync(&project, &["--full"]);
    assert_eq!(contacts(&project), incremental);
}
