//! What the benches share: the Python peers they run and the demo scale they read.
// Each bench uses part of this module.
#![allow(dead_code)]

use std::process::Command;

/// Runs `benches/<script>` with `args` under the Python `cargo xtask bench` installed the
/// packages into (`LOOPQL_TEST_PYTHON`, else `python3`) and parses the JSON object it prints.
pub fn python_json(script: &str, args: &[&str]) -> serde_json::Value {
    let python = std::env::var("LOOPQL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let path = format!("{}/../benches/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&python)
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{python} {path}: {e} (cargo xtask bench installs Python)"));
    assert!(
        out.status.success(),
        "{script} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{script} printed no JSON object: {e}"))
}

/// The demo scale the bench reads: `LOOPQL_BENCH_SCALE`, else `default`.
pub fn scale(default: f64) -> f64 {
    match std::env::var("LOOPQL_BENCH_SCALE") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("LOOPQL_BENCH_SCALE={text}: expected a number")),
        Err(_) => default,
    }
}
