//! `loopql sync` in a real terminal (a PTY, driven by rexpect) shows, for a live API source, the
//! pages and records fetched while the fetch is still going, and how many pages its reads took.
//! The source is Meta's Insights API, stood in by a loopback server that serves the documented
//! page shape slowly, three pages a scan.

use loopql_test_support::library;
use rexpect::reader::Options;
use rexpect::session::spawn_with_options;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn row(day: &str, clicks: u32) -> String {
    format!(
        r#"{{"account_id":"77","account_currency":"EUR","campaign_id":"9","campaign_name":"Retargeting","date_start":"{day}","date_stop":"{day}","impressions":"300","clicks":"{clicks}","inline_link_clicks":"7","spend":"4.50"}}"#
    )
}

/// The stand-in's base URL and the number of requests it answered.
fn serve() -> (String, Arc<AtomicUsize>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v19.0", server.server_addr().to_ip().unwrap());
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    let next = base.clone();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            // Slow enough that a terminal sees the pages come in.
            std::thread::sleep(Duration::from_millis(400));
            let url = request.url().to_string();
            let (rows, after) = if url.contains("after=P3") {
                (vec![row("2024-03-05", 3)], None)
            } else if url.contains("after=P2") {
                (vec![row("2024-03-03", 5), row("2024-03-04", 4)], Some("P3"))
            } else {
                (vec![row("2024-03-01", 9), row("2024-03-02", 8)], Some("P2"))
            };
            let paging = match after {
                Some(a) => format!(
                    r#"{{"cursors":{{"before":"B","after":"{a}"}},"next":"{next}/act_77/insights?after={a}"}}"#
                ),
                None => r#"{"cursors":{"before":"B","after":"Z"}}"#.to_string(),
            };
            let body = format!(r#"{{"data":[{}],"paging":{paging}}}"#, rows.join(","));
            count.fetch_add(1, Ordering::SeqCst);
            let _ = request.respond(tiny_http::Response::from_string(body));
        }
    });
    (base, answered)
}

#[test]
fn a_live_sources_pages_show_on_the_terminal_as_they_come() {
    let (base, answered) = serve();
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("loopql.toml");
    std::fs::write(
        &project,
        format!(
            "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n[[clients]]\nid = \"globex\"\ncurrency = \"EUR\"\n\n\
             [[sources]]\nconnector = \"meta_ads\"\nclient_id = \"globex\"\n\
             options = {{ account_ids = \"77\", api_base_url = \"{base}\", token_env = \"LOOPQL_TEST_META_TOKEN\", level = \"campaign\", since = \"2024-03-01\", until = \"2024-03-05\" }}\n",
            library("loopql_meta_ads")
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loopql"));
    cmd.args(["sync", "-p", project.to_str().unwrap()])
        .env("LOOPQL_TEST_META_TOKEN", "EAAB-test-token")
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(60_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    // While the source is still being fetched: the pages so far, with their records.
    p.exp_string("globex_meta_ads").unwrap();
    p.exp_regex(r"[12] pages? \(\d+ records?\) fetched; ")
        .unwrap();
    // When it is done: how many pages its reads took, all of them.
    let (_, pages) = p.exp_regex(r"rows read from \d+ API pages").unwrap();
    p.exp_string("committed").unwrap();
    p.exp_eof().unwrap();
    let pages: usize = pages
        .trim_start_matches("rows read from ")
        .trim_end_matches(" API pages")
        .parse()
        .unwrap();
    let answered = answered.load(Ordering::SeqCst);
    assert!(answered >= 3, "{answered} requests");
    assert_eq!(pages, answered, "every page the stand-in served is counted");
}
