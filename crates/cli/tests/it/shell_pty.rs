//! `loopql shell` in a real terminal (a PTY, driven by rexpect): multi-line input, Tab
//! completion of a table and a column, `\d` and `\d VIEW`, an error followed by a working query,
//! Ctrl-C cancelling a slow query, Ctrl-D exiting 0.

use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};
use std::process::Command;
use std::time::{Duration, Instant};

const PROMPT: &str = "loopql> ";

fn start(home: &std::path::Path) -> PtySession {
    let project = loopql_test_support::repo_root().join("tests/fixtures/attribution/loopql.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loopql"));
    cmd.arg("shell")
        .arg("-p")
        .arg(project)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("PAGER", "cat")
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    p.exp_string("\\? for help").unwrap();
    p.exp_string(PROMPT).unwrap();
    p
}

#[test]
fn multi_line_input_errors_and_ctrl_d() {
    let home = tempfile::tempdir().unwrap();
    let mut p = start(home.path());
    // A statement over three lines runs at its `;`.
    p.send_line("SELECT client_id,").unwrap();
    p.send_line("  count(*) AS n").unwrap();
    p.send_line("FROM sessions GROUP BY 1 ORDER BY 1;").unwrap();
    p.exp_string("| acme      | 8 |").unwrap();
    p.exp_string("(2 rows)").unwrap();
    p.exp_string(PROMPT).unwrap();
    // A failing query, then a working one.
    p.send_line("SELECT nope FROM sesions;").unwrap();
    p.exp_string("did you mean: sessions?").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("SELECT 40 + 2 AS answer;").unwrap();
    p.exp_string("| 42     |").unwrap();
    p.exp_string(PROMPT).unwrap();
    // Ctrl-D quits with 0, and the history is kept in the data folder, not the current one.
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    let status = p.process_mut().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
    let history = std::fs::read_to_string(home.path().join("data/loopql/history")).unwrap();
    assert!(history.contains("SELECT 40 + 2 AS answer;"), "{history}");
}

#[test]
fn tab_completes_a_table_and_a_column() {
    let home = tempfile::tempdir().unwrap();
    let mut p = start(home.path());
    p.send("SELECT count(*) FROM conversion_pa").unwrap();
    p.flush().unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("conversion_paths").unwrap();
    p.send(";\r").unwrap();
    p.flush().unwrap();
    p.exp_string("(1 row)").unwrap();
    p.exp_string(PROMPT).unwrap();
    // A column of the table the statement names.
    p.send("SELECT count(*) FROM conversion_paths WHERE touc")
        .unwrap();
    p.flush().unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("WHERE touches").unwrap();
    p.send(" = 3;\r").unwrap();
    p.flush().unwrap();
    p.exp_string("(1 row)").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn describe_lists_and_explains() {
    let home = tempfile::tempdir().unwrap();
    let mut p = start(home.path());
    p.send_line("\\d").unwrap();
    p.exp_string("attribution_by_channel").unwrap();
    p.exp_string("shipped view").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\d roi_by_channel").unwrap();
    p.exp_string("| cac ").unwrap();
    p.exp_string("roi_by_channel: closed-loop ROI").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn ctrl_c_cancels_a_slow_query_and_keeps_the_session() {
    let home = tempfile::tempdir().unwrap();
    let mut p = start(home.path());
    p.send_line("SELECT sum(value) FROM range(1, 100000000000);")
        .unwrap();
    // The query shows its progress after a second.
    p.exp_string("rows so far").unwrap();
    let sent = Instant::now();
    p.send_control('c').unwrap();
    p.exp_string("cancelled after").unwrap();
    p.exp_string(PROMPT).unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "{:?}",
        sent.elapsed()
    );
    p.send_line("SELECT 7 AS seven;").unwrap();
    p.exp_string("| 7     |").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}
