//! Finds, checks and loads connector libraries, and wraps their raw tables as DataFusion
//! `TableProvider`s. Together with `connectors/sdk`, the only code that touches raw FFI.
//!
//! Order of checks for each library: it loads as a shared library; it exports
//! `loopql_connector_abi_version`; that reports our ABI version; only then are the other
//! symbols looked up and the manifest read and validated. A library is never unloaded.

mod exec;
pub mod fetched;
mod filters;
mod library;
mod table;
mod validate;

pub use library::ConnectorLibrary;
pub use table::{BoundSource, PluginTable};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("{}: not a loadable shared library: {message}", path.display())]
    NotALibrary { path: PathBuf, message: String },

    #[error("{}: not a loopql connector: it does not export `{symbol}`", path.display())]
    NotAConnector { path: PathBuf, symbol: String },

    #[error("{}: speaks connector ABI v{found}, this loopql speaks v{expected}; rebuild the connector against loopql-connector-sdk with ABI v{expected}", path.display())]
    AbiMismatch {
        path: PathBuf,
        found: u32,
        expected: u32,
    },

    #[error("{}: describe failed: {message}", path.display())]
    Describe { path: PathBuf, message: String },

    #[error("{}: invalid manifest:\n  - {}", path.display(), problems.join("\n  - "))]
    InvalidManifest {
        path: PathBuf,
        problems: Vec<String>,
    },

    #[error("{}: connector `{name}` is already loaded from {}", path.display(), first.display())]
    Duplicate {
        path: PathBuf,
        name: String,
        first: PathBuf,
    },

    #[error(
        "connector `{connector}` failed to {action} `{connector}.{table}` for source `{source_name}`: {message}"
    )]
    Scan {
        connector: String,
        table: String,
        source_name: String,
        action: &'static str,
        message: String,
    },
}

/// A library the host would not load, and why.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub path: PathBuf,
    pub reason: String,
}

/// The connectors of this process: loaded ones by name, refused ones with their reasons.
#[derive(Debug, Default)]
pub struct PluginHost {
    connectors: BTreeMap<String, Arc<ConnectorLibrary>>,
    refused: Vec<Refusal>,
}

impl PluginHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every library in `dirs` (files named `libloopql_*` / `loopql_*` with the platform's
    /// shared-library extension) and every file in `paths`; refusals are kept, not fatal.
    pub fn discover(dirs: &[PathBuf], paths: &[PathBuf]) -> Self {
        let mut host = Self::new();
        let mut seen = std::collections::HashSet::new();
        let mut candidates = Vec::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_connector_file_name(p))
                .collect();
            found.sort();
            candidates.extend(found);
        }
        candidates.extend(paths.iter().cloned());
        for path in candidates {
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.insert(key) {
                continue;
            }
            if let Err(e) = host.load(&path) {
                tracing::warn!(error = %e, "connector library refused");
                host.refused.push(Refusal {
                    path,
                    reason: e.to_string(),
                });
            }
        }
        host
    }

    /// Loads one library by path; on success it is available by its manifest name.
    pub fn load(&mut self, path: &Path) -> Result<Arc<ConnectorLibrary>, PluginError> {
        let library = Arc::new(ConnectorLibrary::load(
            path,
            crate::views::HARMONIZED_VIEWS,
        )?);
        let name = library.manifest().name.clone();
        if let Some(first) = self.connectors.get(&name) {
            if first.path() != library.path() {
                return Err(PluginError::Duplicate {
                    path: path.to_path_buf(),
                    name,
                    first: first.path().to_path_buf(),
                });
            }
            return Ok(first.clone());
        }
        tracing::info!(connector = %name, path = %path.display(), "connector loaded");
        self.connectors.insert(name, library.clone());
        Ok(library)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<ConnectorLibrary>> {
        self.connectors.get(name)
    }

    pub fn connectors(&self) -> impl Iterator<Item = &Arc<ConnectorLibrary>> {
        self.connectors.values()
    }

    pub fn refused(&self) -> &[Refusal] {
        &self.refused
    }

    /// Why a connector name cannot be served: not found at all, or refused.
    pub fn explain_missing(&self, name: &str) -> String {
        let loaded: Vec<&str> = self.connectors.keys().map(String::as_str).collect();
        let mut text = format!(
            "no connector named `{name}` is loaded (loaded: [{}])",
            loaded.join(", ")
        );
        let hint = name.replace('_', "");
        for r in &self.refused {
            let file = r.path.file_name().and_then(|f| f.to_str()).unwrap_or("");
            if file.replace('_', "").contains(&hint) {
                text.push_str(&format!(
                    "; a library that may be it was refused: {}",
                    r.reason
                ));
            }
        }
        text.push_str("; run `loopql connectors list` to see what was found and refused");
        text
    }
}

/// Default plugin folders: the executable's own folder (where cargo puts connector libraries
/// next to `loopql`; for test binaries in `deps/`, its parent), and `$LOOPQL_PLUGIN_PATH`.
pub fn default_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(path) = std::env::var_os("LOOPQL_PLUGIN_PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        if dir.file_name().is_some_and(|n| n == "deps")
            && let Some(parent) = dir.parent()
        {
            dirs.push(parent.to_path_buf());
        }
        dirs.push(dir);
    }
    dirs
}

fn is_connector_file_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let stem = name
        .strip_prefix(std::env::consts::DLL_PREFIX)
        .unwrap_or(name);
    stem.starts_with("loopql_") && name.ends_with(std::env::consts::DLL_SUFFIX)
}
