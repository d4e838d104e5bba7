//! `loopql serve` as a process, driven by real Flight SQL clients from Python (ADBC, pyarrow,
//! Polars; tests/python/test_flight.py, packages installed by `cargo xtask test`), including the
//! 32-client load test.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn python() -> String {
    std::env::var("LOOPQL_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn python_clients_and_the_load_test() {
    let dir = tempfile::tempdir().unwrap();
    let project = crate::support::demo_project(dir.path(), "max_concurrent_queries = 64");
    let mut server = Command::new(env!("CARGO_BIN_EXE_loopql"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "-p",
            project.to_str().unwrap(),
        ])
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let uri = line
        .split_whitespace()
        .find(|w| w.starts_with("grpc://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    // Keep reading the server's log so it never blocks on a full pipe.
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    let out = Command::new(python())
        .args(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"])
        .arg(loopql_test_support::repo_root().join("tests/python/test_flight.py"))
        .env("LOOPQL_FLIGHT_URI", &uri)
        .env("LOOPQL_SERVER_PID", server.id().to_string())
        .output()
        .expect("python3 -m pytest runs (cargo xtask test installs pytest)");
    let alive = server.try_wait().unwrap().is_none();
    server.kill().unwrap();
    let _ = server.wait();
    let server_log = log.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "pytest failed:\n{stdout}\n{}\nserver log:\n{server_log}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("8 passed"), "{stdout}");
    assert!(alive, "the server stayed up");
}
