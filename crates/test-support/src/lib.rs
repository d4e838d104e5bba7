//! Shared helpers for loopql's integration tests (a dev-dependency of each crate's test
//! binary): where the workspace's built connector libraries are, the repository's fixtures, a
//! project over the probe connector, a Flight SQL client, and loopback processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod flight;
pub mod postgres;
pub mod processes;

use std::path::{Path, PathBuf};

/// The cargo target folder holding the connector libraries (`target/debug`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps folder");
    deps.parent().expect("target folder").to_path_buf()
}

/// A connector library built by this workspace, by its crate's lib name; fails loudly when it
/// was not built (the tests never skip).
pub fn library(lib_name: &str) -> PathBuf {
    let file = format!(
        "{}{lib_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let path = target_dir().join(file);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`; `cargo xtask test` does it)",
        path.display()
    );
    path
}

/// The repository's root (fixtures, SQL, Python scripts): the first folder above the running
/// test's package (cargo sets `CARGO_MANIFEST_DIR` when it runs a test) that holds `Cargo.lock`.
/// Read at run time, not compile time: a shared target folder reuses this crate's build across
/// clones, and a path baked in by `env!` would point into whichever clone built it first.
pub fn repo_root() -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    package
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| package.join("../.."))
}

/// Writes a project file whose only plugin is the probe connector (default folders off).
pub fn probe_project(dir: &Path) -> PathBuf {
    let text = format!(
        "[plugins]\nsearch_default_dirs = false\npaths = [{:?}]\n\n[[clients]]\nid = \"acme\"\n\n[[clients]]\nid = \"globex\"\n\n[[sources]]\nconnector = \"probe\"\nclient_id = \"acme\"\noptions = {{ rows = 40 }}\n\n[[sources]]\nconnector = \"probe\"\nclient_id = \"globex\"\noptions = {{ rows = 10 }}\n",
        library("loopqltest_probe")
    );
    let path = dir.join("loopql.toml");
    std::fs::write(&path, text).expect("write project");
    path
}
