//! `loopql shell` without a terminal: `-c` (repeatable), `-f FILE` and statements piped on
//! standard input — their output, and exit code 1 at the first error (the rest is not run).

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn project() -> String {
    loopql_test_support::repo_root()
        .join("tests/fixtures/attribution/loopql.toml")
        .display()
        .to_string()
}

fn shell(args: &[&str], stdin: Option<&str>) -> (Output, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_loopql"))
        .arg("shell")
        .args(["-p", &project()])
        .args(args)
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    (out, stdout, stderr)
}

#[test]
fn dash_c_runs_statements_and_meta_commands_in_order() {
    let (out, stdout, stderr) = shell(
        &[
            "-c",
            "\\pset format csv",
            "-c",
            "SELECT client_id, count(*) AS n FROM sessions GROUP BY 1 ORDER BY 1",
            "-c",
            "SELECT 2 AS two; SELECT 3 AS three",
        ],
        None,
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("client_id,n\nacme,8\nsolo,1\n"), "{stdout}");
    assert!(stdout.contains("two\n2\nthree\n3\n"), "{stdout}");
}

#[test]
fn the_first_error_stops_with_exit_code_1() {
    let (out, stdout, stderr) = shell(
        &[
            "-c",
            "SELECT 1 AS one",
            "-c",
            "SELECT nope FROM sesions",
            "-c",
            "SELECT 3 AS three",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("| one |"), "{stdout}");
    assert!(!stdout.contains("three"), "{stdout}");
    assert!(
        stderr.contains("table 'loopql.public.sesions' not found"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean: sessions?"), "{stderr}");
}

#[test]
fn a_syntax_error_is_shown_with_its_position_before_anything_runs() {
    let (out, _, stderr) = shell(&["-c", "SELECT a\nFROM sessions WHERE AND b"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("syntax error: "), "{stderr}");
    assert!(stderr.contains("(line 2, column"), "{stderr}");
    assert!(stderr.contains("  FROM sessions WHERE AND b\n"), "{stderr}");
}

#[test]
fn dash_f_runs_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(
        &file,
        "-- a report\n\\pset format markdown\nSELECT channel, count(*) AS n\nFROM sessions\nWHERE client_id = 'acme'\nGROUP BY 1 ORDER BY 1;\n",
    )
    .unwrap();
    let (out, stdout, stderr) = shell(&["-f", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("| channel | n |\n|---|---|\n| Direct | 3 |\n| Email | 1 |\n| Organic Search | 2 |\n| Paid Search | 2 |"),
        "{stdout}"
    );
    let (out, _, stderr) = shell(&["-f", "/nonexistent/q.sql"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("/nonexistent/q.sql"), "{stderr}");
}

#[test]
fn statements_piped_on_stdin() {
    let (out, stdout, stderr) = shell(
        &[],
        Some("\\x on\nSELECT 'acme' AS client,\n  42 AS answer;\n\\x off\n\\d conversion_paths\n"),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("-[ RECORD 1 ]"), "{stdout}");
    assert!(stdout.contains("answer | 42"), "{stdout}");
    // \d NAME shows the columns and the shipped view's description.
    assert!(stdout.contains("| path            | Utf8View "), "{stdout}");
    assert!(
        stdout.contains("conversion_paths: every conversion with the path"),
        "{stdout}"
    );
    let (out, _, stderr) = shell(&[], Some("SELECT 1;\nSELEC 2;\nSELECT 3;\n"));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}

#[test]
fn client_scope_hides_other_clients() {
    let (out, stdout, stderr) = shell(
        &[
            "--client",
            "solo",
            "-c",
            "\\pset format csv",
            "-c",
            "SELECT DISTINCT client_id FROM sessions",
        ],
        None,
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.ends_with("client_id\nsolo\n"), "{stdout}");
    let (out, _, stderr) = shell(&["--client", "nobody", "-c", "SELECT 1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("no client `nobody` in the project; clients: acme, solo"),
        "{stderr}"
    );
}

#[test]
fn output_include_functions_connectors_and_timing() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.csv");
    let include = dir.path().join("inc.sql");
    std::fs::write(&include, "SELECT 'from the file' AS origin;\n").unwrap();
    let (out, stdout, stderr) = shell(
        &[
            "-c",
            "\\pset format csv",
            "-c",
            &format!("\\o {}", out_file.display()),
            "-c",
            "SELECT 1 AS one",
            "-c",
            "\\o",
            "-c",
            &format!("\\i {}", include.display()),
            "-c",
            "\\df attribut",
            "-c",
            "\\dc",
            "-c",
            "\\timing on",
            "-c",
            "SELECT 2 AS two",
        ],
        None,
    );
    assert!(out.status.success(), "{stderr}");
    // \o sent the result to the file, and \o alone brought output back.
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "one\n1\n");
    assert!(!stdout.contains("one\n1"), "{stdout}");
    assert!(stdout.contains("origin\nfrom the file\n"), "{stdout}");
    // \df lists loopql's functions with their syntax; \dc the connectors and their sources.
    assert!(
        stdout.contains("attribute_paths,loopql table,\"attribute_paths(model, table)\""),
        "{stdout}"
    );
    assert!(stdout.contains("attribution,loopql table,"), "{stdout}");
    assert!(stdout.contains("ga4,loaded "), "{stdout}");
    assert!(stdout.contains("acme_ga4"), "{stdout}");
    assert!(stdout.contains("Timing is on.\ntwo\n2\nTime: "), "{stdout}");
}
