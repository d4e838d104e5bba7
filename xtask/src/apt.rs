//! Installing a Debian package the tests need (CI runs as root on a fresh Debian machine).

use anyhow::{Result, bail};
use std::process::Command;

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

/// `apt-get install` of `packages`; `what` names what they provide for the error message.
pub fn install(packages: &[&str], what: &str) -> Result<()> {
    if !is_root() {
        bail!(
            "{what} is not installed; install Debian's {} package(s)",
            packages.join(", ")
        );
    }
    eprintln!("==> installing {what} from Debian's packages");
    let ok = Command::new("apt-get").arg("update").status()?.success()
        && Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()?
            .success();
    if !ok {
        bail!("apt-get install {} failed", packages.join(" "));
    }
    Ok(())
}
