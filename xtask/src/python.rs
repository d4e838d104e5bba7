//! The Python packages the tests use (tests/python/requirements.txt), installed with pip into
//! the machine's Python 3 before the tests run. A missing Python fails the set-up: no test may
//! skip because something is missing.

use anyhow::{Context, Result, bail};
use std::process::Command;
use std::time::Instant;

/// Installs the requirements and returns the interpreter the tests should run.
pub fn install() -> Result<String> {
    let python = std::env::var("LOOPQL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let requirements = crate::root()?.join("tests/python/requirements.txt");
    eprintln!("==> python packages ({})", requirements.display());
    let started = Instant::now();
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("--requirement")
        .arg(&requirements)
        .status()
        .with_context(|| format!("cannot run `{python} -m pip`: install Python 3 with pip"))?;
    if !status.success() {
        bail!(
            "pip could not install {} ({status})",
            requirements.display()
        );
    }
    eprintln!("    (python packages: {:.0?})", started.elapsed());
    Ok(python)
}
