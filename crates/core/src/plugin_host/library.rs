//! One loaded connector library: its symbols, its validated manifest, and the unsafe calls.

use super::{PluginError, validate};
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::ffi::FFI_ArrowSchema;
use datafusion::arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use loopql_connector_sdk::abi::{self, LoopqlBytes, LoopqlOwnedBytes};
use loopql_connector_sdk::diagnostics::Skipped;
use loopql_connector_sdk::{Filter, Manifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;

pub struct ConnectorLibrary {
    path: PathBuf,
    manifest: Manifest,
    open_scan: abi::OpenScanFn,
    free_bytes: abi::FreeBytesFn,
    scan_diagnostics: Option<abi::ScanDiagnosticsFn>,
    scan_progress: Option<abi::ScanProgressFn>,
    /// Rows skipped by the latest complete scan of each (source, table).
    skipped: Mutex<BTreeMap<(String, String), Skipped>>,
}

impl std::fmt::Debug for ConnectorLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorLibrary")
            .field("path", &self.path)
            .field("name", &self.manifest.name)
            .finish()
    }
}

impl ConnectorLibrary {
    /// Loads, checks the ABI version first, then reads and validates the manifest.
    pub fn load(path: &Path, known_views: &[&str]) -> Result<Self, PluginError> {
        // SAFETY: loading runs the library's initializers; that is the trust a plugin system
        // extends to the files an operator puts in its plugin folders. The library is leaked
        // below and never unloaded, so every pointer taken from it stays valid.
        let library =
            unsafe { libloading::Library::new(path) }.map_err(|e| PluginError::NotALibrary {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let library: &'static libloading::Library = Box::leak(Box::new(library));
        let symbol = |name: &[u8]| PluginError::NotAConnector {
            path: path.to_path_buf(),
            symbol: String::from_utf8_lossy(name).into_owned(),
        };

        // SAFETY: the symbol's type is fixed by ABI v1 for every version (it is the one symbol
        // whose name and type never change).
        let version: abi::AbiVersionFn = unsafe {
            *library
                .get::<abi::AbiVersionFn>(abi::SYMBOL_ABI_VERSION)
                .map_err(|_| symbol(abi::SYMBOL_ABI_VERSION))?
        };
        // SAFETY: as above.
        let found = unsafe { version() };
        if found != abi::ABI_VERSION {
            return Err(PluginError::AbiMismatch {
                path: path.to_path_buf(),
                found,
                expected: abi::ABI_VERSION,
            });
        }
        // SAFETY: the library reported ABI v1, whose symbols have these types.
        let (describe, table_schema, open_scan, free_bytes) = unsafe {
            (
                *library
                    .get::<abi::DescribeFn>(abi::SYMBOL_DESCRIBE)
                    .map_err(|_| symbol(abi::SYMBOL_DESCRIBE))?,
                *library
                    .get::<abi::TableSchemaFn>(abi::SYMBOL_TABLE_SCHEMA)
                    .map_err(|_| symbol(abi::SYMBOL_TABLE_SCHEMA))?,
                *library
                    .get::<abi::OpenScanFn>(abi::SYMBOL_OPEN_SCAN)
                    .map_err(|_| symbol(abi::SYMBOL_OPEN_SCAN))?,
                *library
                    .get::<abi::FreeBytesFn>(abi::SYMBOL_FREE_BYTES)
                    .map_err(|_| symbol(abi::SYMBOL_FREE_BYTES))?,
            )
        };
        // SAFETY: optional symbol of ABI v1 with this type; absent in libraries that predate it.
        let scan_diagnostics = unsafe {
            library
                .get::<abi::ScanDiagnosticsFn>(abi::SYMBOL_SCAN_DIAGNOSTICS)
                .ok()
                .map(|f| *f)
        };
        // SAFETY: as above.
        let scan_progress = unsafe {
            library
                .get::<abi::ScanProgressFn>(abi::SYMBOL_SCAN_PROGRESS)
                .ok()
                .map(|f| *f)
        };
        let take = |bytes: LoopqlOwnedBytes| {
            // SAFETY: the bytes were written by this library and are freed once, by it.
            unsafe {
                let s = bytes.to_string_lossy();
                free_bytes(bytes);
                s
            }
        };
        let describe_err = |message: String| PluginError::Describe {
            path: path.to_path_buf(),
            message,
        };

        let mut out = LoopqlOwnedBytes::empty();
        let mut err = LoopqlOwnedBytes::empty();
        // SAFETY: valid out-pointers, per the ABI.
        let status = unsafe { describe(&mut out, &mut err) };
        if status != abi::STATUS_OK {
            return Err(describe_err(take(err)));
        }
        let json = take(out);
        let mut manifest: Manifest =
            serde_json::from_str(&json).map_err(|e| PluginError::InvalidManifest {
                path: path.to_path_buf(),
                problems: vec![format!("manifest JSON: {e}")],
            })?;

        for table in &mut manifest.tables {
            let mut ffi = FFI_ArrowSchema::empty();
            let mut err = LoopqlOwnedBytes::empty();
            // SAFETY: valid pointers; the name outlives the call.
            let status =
                unsafe { table_schema(LoopqlBytes::borrow(&table.name), &mut ffi, &mut err) };
            if status != abi::STATUS_OK {
                return Err(describe_err(format!(
                    "schema of table `{}`: {}",
                    table.name,
                    take(err)
                )));
            }
            let schema = Schema::try_from(&ffi)
                .map_err(|e| describe_err(format!("schema of table `{}`: {e}", table.name)))?;
            table.schema = Arc::new(schema);
        }
        let problems = validate::manifest(&manifest, known_views);
        if !problems.is_empty() {
            return Err(PluginError::InvalidManifest {
                path: path.to_path_buf(),
                problems,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            manifest,
            open_scan,
            free_bytes,
            scan_diagnostics,
            scan_progress,
            skipped: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Opens a scan; blocking (call it off the async workers). Errors are the connector's
    /// message, unprefixed.
    pub fn open_scan(
        &self,
        table: &str,
        options_json: &str,
        projection: Option<&[usize]>,
        filters: &[Filter],
        limit: Option<usize>,
    ) -> Result<ArrowArrayStreamReader, String> {
        let filters_json = serde_json::to_string(filters).map_err(|e| e.to_string())?;
        let indices: Vec<u32> = projection
            .unwrap_or(&[])
            .iter()
            .map(|&i| i as u32)
            .collect();
        let projection_len = projection.map(|p| p.len() as i64).unwrap_or(-1);
        let limit = limit.map(|l| l as i64).unwrap_or(-1);
        let mut stream = FFI_ArrowArrayStream::empty();
        let mut err = LoopqlOwnedBytes::empty();
        // SAFETY: all pointers are valid for the call; the function comes from a library that
        // is never unloaded and reported ABI v1.
        let status = unsafe {
            (self.open_scan)(
                LoopqlBytes::borrow(table),
                LoopqlBytes::borrow(options_json),
                indices.as_ptr(),
                projection_len,
                LoopqlBytes::borrow(&filters_json),
                limit,
                &mut stream,
                &mut err,
            )
        };
        if status != abi::STATUS_OK {
            // SAFETY: written by this library; freed once, by it.
            let message = unsafe {
                let s = err.to_string_lossy();
                (self.free_bytes)(err);
                s
            };
            return Err(message);
        }
        ArrowArrayStreamReader::try_new(stream).map_err(|e| clean_arrow_message(&e.to_string()))
    }
}

impl ConnectorLibrary {
    /// Counts what the scans this thread opens fetch into `source` until the returned value is
    /// dropped (`None` for a library that tells no pages).
    pub fn listen(
        &self,
        source: Arc<super::fetched::Fetched>,
    ) -> Option<super::fetched::Listening> {
        Some(super::fetched::Listening::start(
            self.scan_progress?,
            source,
        ))
    }

    /// After a scan's stream ended, on the thread that read it: what the connector skipped,
    /// remembered for `loopql connectors check`.
    pub fn finish_scan(&self, source: &str, table: &str) -> Option<Skipped> {
        let f = self.scan_diagnostics?;
        let mut out = LoopqlOwnedBytes::empty();
        let mut err = LoopqlOwnedBytes::empty();
        // SAFETY: valid out-pointers; the library reported ABI v1 and is never unloaded.
        let status = unsafe { f(&mut out, &mut err) };
        // SAFETY: written by this library; freed once, by it.
        let (json, _) = unsafe {
            let pair = (out.to_string_lossy(), err.to_string_lossy());
            (self.free_bytes)(out);
            (self.free_bytes)(err);
            pair
        };
        tracing::debug!(status, json = %json, "scan diagnostics");
        if status != abi::STATUS_OK {
            return None;
        }
        let skipped: Skipped = serde_json::from_str(&json).ok()?;
        if let Ok(mut map) = self.skipped.lock() {
            map.insert((source.to_string(), table.to_string()), skipped.clone());
        }
        Some(skipped)
    }

    /// Rows skipped by the latest complete scan of `table` for `source`.
    pub fn skipped(&self, source: &str, table: &str) -> Option<Skipped> {
        self.skipped
            .lock()
            .ok()?
            .get(&(source.to_string(), table.to_string()))
            .cloned()
    }
}

/// Arrow prefixes errors that crossed the C Stream Interface ("C Data interface error: External
/// error: ..."); the analyst wants the connector's own words.
pub fn clean_arrow_message(message: &str) -> String {
    let mut m = message;
    for prefix in ["C Data interface error: ", "External error: "] {
        if let Some(rest) = m.strip_prefix(prefix) {
            m = rest;
        }
    }
    m.to_string()
}
