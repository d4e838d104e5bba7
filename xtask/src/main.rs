//! loopql's project tasks, so the README needs only two commands:
//!
//! - `cargo xtask demo [-- ARGS]`: build the binary and the connector libraries, then run
//!   `loopql demo ARGS`.
//! - `cargo xtask test`: set up what the tests need, build everything (the tests load the
//!   connector libraries from disk), check formatting and lints, and run the whole suite.

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
        _ => bail!(
            "usage: cargo xtask demo [-- loopql demo flags] | cargo xtask test [-- cargo test filters]"
        ),
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
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
    step(
        "build loopql and its connector libraries",
        cargo().args(["build", "--workspace"]),
    )?;
    step(
        "loopql demo",
        cargo()
            .args([
                "run",
                "--quiet",
                "--package",
                "loopql-engine",
                "--bin",
                "loopql",
                "--",
                "demo",
            ])
            .args(args),
    )
}

fn test(filters: &[String]) -> Result<()> {
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
    step(
        "tests",
        cargo()
            .args(["test", "--workspace", "--no-fail-fast"])
            .args(filters),
    )
}
