//! loopql's project tasks, so the README needs only two commands:
//!
//! - `cargo xtask demo [-- ARGS]`: build the binary and the connector libraries, then run
//!   `loopql demo ARGS`.
//! - `cargo xtask test`: check the architecture's rules (`tidy`), set up what the tests need,
//!   build everything (the tests load the connector libraries from disk), check formatting and
//!   lints, and run the whole suite.
//! - `cargo xtask tidy`: the architecture's rules alone.
//! - `cargo xtask bench [-- --bench NAME]`: the side-by-side benchmarks (release).

mod apt;
mod chromium;
mod postgres;
mod python;
mod s3;
mod tidy;

use anyhow::{Context, Result, bail};
use std::process::Command;
use std::time::Instant;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.skip_while(|a| a == "--").collect();
    match task.as_str() {
        "demo" => demo(&rest),
        "test" => test(&rest),
        "bench" => bench(&rest),
        "tidy" => tidy::run(&root()?),
        _ => bail!(
            "usage: cargo xtask demo [-- loopql demo flags] | cargo xtask test [-- cargo test filters] | cargo xtask tidy | cargo xtask bench [-- --bench NAME]"
        ),
    }
}

/// Cargo, in the environment a plain `cargo` command would have. `cargo run` (which `cargo xtask`
/// is) adds the package's own variables (`CARGO_PKG_NAME=xtask`, `CARGO_MANIFEST_DIR`, ...) to
/// ours; build scripts that watch them (ring's does) would then rerun and rebuild half the
/// dependency graph, so `cargo xtask test` and a plain `cargo test` would keep rebuilding each
/// other's artifacts.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_PKG_")
            || matches!(
                key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn step(name: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("==> {name}");
    let started = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("cannot start: {name}"))?;
    eprintln!("    ({name}: {:.0?})", started.elapsed());
    if !status.success() {
        bail!("failed: {name} ({status})");
    }
    Ok(())
}

fn demo(args: &[String]) -> Result<()> {
    // The same build as `cargo xtask test` (all targets, so dev-dependency features unify the
    // same way): running one after the other compiles DataFusion once.
    step(
        "build loopql and its connector libraries",
        cargo().args(["build", "--workspace", "--all-targets"]),
    )?;
    let exe = target_dir()?
        .join("debug")
        .join(format!("loopql{}", std::env::consts::EXE_SUFFIX));
    step("loopql demo", Command::new(exe).arg("demo").args(args))
}

/// The cargo target folder (honors `CARGO_TARGET_DIR` and config), from `cargo metadata`.
fn target_dir() -> Result<std::path::PathBuf> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let key = "\"target_directory\":\"";
    let start = text
        .find(key)
        .context("cargo metadata: no target_directory")?
        + key.len();
    let end = text[start..]
        .find('"')
        .context("cargo metadata: bad target_directory")?;
    Ok(text[start..start + end].replace("\\\\", "\\").into())
}

/// Side-by-side benchmarks. One release build makes the binary, the connector libraries and the
/// bench executables together (`cargo bench -p loopql-benches` would resolve features for one
/// package, not the workspace, and build the whole dependency graph a second time), then each
/// bench runs. `-- --bench NAME` picks one.
fn bench(args: &[String]) -> Result<()> {
    let wanted = match args {
        [] => "*".to_string(),
        [flag, name] if flag == "--bench" => name.clone(),
        _ => bail!("usage: cargo xtask bench [-- --bench NAME]"),
    };
    let started = Instant::now();
    eprintln!("==> build workspace and benches (release)");
    let out = cargo()
        .args([
            "build",
            "--workspace",
            "--release",
            "--lib",
            "--bins",
            "--bench",
            &wanted,
        ])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !out.status.success() {
        bail!(
            "build workspace and benches (release) failed ({})",
            out.status
        );
    }
    eprintln!("    done in {:.0?}", started.elapsed());
    let benches = bench_executables(&String::from_utf8_lossy(&out.stdout))?;
    if benches.is_empty() {
        bail!("no bench named `{wanted}` in benches/Cargo.toml");
    }
    // The peers and clients the benchmarks run (pyarrow, DuckDB).
    let python = python::install().context("installing the benchmarks' Python packages")?;
    for (name, exe) in benches {
        step(
            &format!("bench {name}"),
            Command::new(exe)
                .current_dir(root()?.join("benches"))
                .env("CARGO_MANIFEST_DIR", root()?.join("benches"))
                .env("LOOPQL_TEST_PYTHON", &python),
        )?;
    }
    Ok(())
}

/// (name, executable) of every bench target in cargo's JSON build messages.
fn bench_executables(messages: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for line in messages.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_bench = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "bench"));
        if let (true, Some(name), Some(exe)) = (
            is_bench,
            msg["target"]["name"].as_str(),
            msg["executable"].as_str(),
        ) {
            out.push((name.to_string(), exe.to_string()));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The workspace root (xtask's parent folder). `cargo run` sets `CARGO_MANIFEST_DIR` at run
/// time; the compile-time value could name another clone that shares the target folder.
pub fn root() -> Result<std::path::PathBuf> {
    let xtask = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    xtask
        .parent()
        .map(std::path::Path::to_path_buf)
        .context("xtask has no parent folder")
}

fn test(filters: &[String]) -> Result<()> {
    eprintln!("==> tidy");
    tidy::run(&root()?)?;
    // Everything the suite needs is built here; nothing is skipped when something is missing.
    step(
        "build workspace (binary, connector and test libraries)",
        cargo().args(["build", "--workspace", "--all-targets"]),
    )?;
    step("rustfmt", cargo().args(["fmt", "--all", "--", "--check"]))?;
    step(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // Python packages the tests use (tests/python/requirements.txt).
    let python = python::install().context("installing the tests' Python packages")?;
    // The browser the HTML report test opens pages in.
    let chromium = chromium::ensure().context("installing Chromium for the HTML report test")?;
    // Services the tests use, started here and stopped when this function returns.
    let pg = postgres::Server::start().context("starting the test PostgreSQL server")?;
    let s3 = s3::Server::start(&python).context("starting the test S3 server")?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--no-fail-fast"])
        .args(filters)
        .envs(pg.env())
        .envs(s3.env())
        .env("LOOPQL_TEST_PYTHON", python)
        .env("LOOPQL_TEST_CHROMIUM", chromium);
    tests(&mut cmd)
}

/// Runs the test command, echoing its output, and closes with one total over every test binary
/// (cargo prints one `test result:` line per binary, the last often a doc-test run of zero).
fn tests(cmd: &mut Command) -> Result<()> {
    use std::io::{BufRead, BufReader};
    eprintln!("==> tests");
    let started = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot start cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            let counts = line
                .strip_prefix("test result: ")
                .and_then(|r| r.split_once(". "))
                .map(|(_, r)| r)
                .or_else(|| line.strip_prefix("slt: "));
            for part in counts.into_iter().flat_map(|c| c.split([';', ','])) {
                let mut words = part.split_whitespace();
                if let (Some(n), Some(what)) = (words.next(), words.next()) {
                    let n: u64 = n.parse().unwrap_or(0);
                    match what {
                        "passed" => passed += n,
                        "failed" => failed += n,
                        _ => {}
                    }
                }
            }
        }
    }
    let status = child.wait()?;
    eprintln!("    (tests: {:.0?})", started.elapsed());
    println!("all: {passed} passed, {failed} failed");
    if !status.success() || failed > 0 {
        bail!("failed: tests ({status})");
    }
    if passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}
