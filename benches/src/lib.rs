//! What the benches share: the Python peers they run and the demo scale they read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Runs `benches/<script>` with `args` under the Python `cargo xtask bench` installed the
/// packages into (`LOOPQL_TEST_PYTHON`, else `python3`) and parses the JSON object it prints.
pub fn python_json(script: &str, args: &[&str]) -> serde_json::Value {
    let python = std::env::var("LOOPQL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    // Run time first: a shared target folder may hold a build made in another clone.
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    let path = format!("{dir}/{script}");
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

/// A number a bench reads from the environment variable `name`; `None` when it is not set (a
/// value that is not a number is an error, never silently the default).
pub fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{name}={text}: expected a number")),
    )
}

/// The demo scale the bench reads: `LOOPQL_BENCH_SCALE`, else `default`.
pub fn scale(default: f64) -> f64 {
    env_number("LOOPQL_BENCH_SCALE").unwrap_or(default)
}

/// The demo at `scale` under `tmp` (the bench's `CARGO_TARGET_TMPDIR`), generated once and kept
/// for later runs.
pub fn demo(tmp: &Path, scale: f64) -> PathBuf {
    demo_with(tmp, scale, false)
}

/// [`demo`], or with `restated` the same demo as the ad platforms' later export (the last 3
/// days' conversions final), in a folder of its own.
pub fn demo_with(tmp: &Path, scale: f64, restated: bool) -> PathBuf {
    let suffix = if restated { "-restated" } else { "" };
    let dir = tmp.join(format!("bench-demo-scale-{scale}{suffix}"));
    let done = dir.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let started = Instant::now();
        let options = loopql_demo::Options {
            restated,
            ..loopql_demo::Options::new(7, scale)
        };
        loopql_demo::write(&dir, &options).unwrap();
        std::fs::write(&done, b"").unwrap();
        println!(
            "generated the demo{suffix} at scale {scale} in {:.0?}",
            started.elapsed()
        );
    }
    dir
}

/// Starts measuring this process's peak resident memory afresh (Linux: writing 5 to
/// `/proc/self/clear_refs` resets `VmHWM`), so that what an in-process step holds is measured
/// without what came before it (a generated demo, say).
pub fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", b"5").expect("reset the peak RSS (Linux only)");
}

/// This process's peak resident memory since the last [`reset_peak_rss`], in KiB.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// The release `loopql` binary beside the running bench (`cargo xtask bench` builds both).
pub fn loopql_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let release = exe.parent().and_then(Path::parent).unwrap();
    let bin = release.join("loopql");
    assert!(
        bin.exists(),
        "{} missing: run the bench with `cargo xtask bench`",
        bin.display()
    );
    bin
}
