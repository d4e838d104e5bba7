//! The `extern "C"` side of the ABI, written once here and instantiated by
//! [`crate::export_connector!`]. Every entry point runs under `catch_unwind`, and the reader
//! handed to arrow's stream callbacks catches panics too: a panic must never unwind into the
//! host (it would abort the process).

use crate::abi::{
    ABI_VERSION, LoopqlBytes, LoopqlOwnedBytes, STATUS_ERROR, STATUS_OK, STATUS_PANIC,
};
use crate::{BatchReader, Connector, ConnectorError, Filter, Manifest, ScanRequest};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ffi::FFI_ArrowSchema;
use arrow::ffi_stream::FFI_ArrowArrayStream;
use arrow::record_batch::{RecordBatch, RecordBatchReader};
use std::panic::{AssertUnwindSafe, catch_unwind};

pub fn abi_version() -> u32 {
    ABI_VERSION
}

/// Turns a panic payload into its message.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs `f` for an entry point: OK, an error message in `err`, or a caught panic.
///
/// # Safety
/// `err` must be null or point to writable memory for a `LoopqlOwnedBytes`.
unsafe fn guarded(err: *mut LoopqlOwnedBytes, f: impl FnOnce() -> Result<(), String>) -> i32 {
    let (status, message) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return STATUS_OK,
        Ok(Err(message)) => (STATUS_ERROR, message),
        Err(payload) => (
            STATUS_PANIC,
            format!("connector panicked: {}", panic_message(&*payload)),
        ),
    };
    if !err.is_null() {
        // SAFETY: the caller passes a valid out-pointer.
        unsafe { err.write(LoopqlOwnedBytes::from_string(message)) };
    }
    status
}

/// The manifest as the library publishes it: the connector's own, plus the `on_bad_row` option
/// every connector accepts. Built once per library (the macro caches it).
pub fn published_manifest<C: Connector>(connector: &C) -> Manifest {
    let mut manifest = connector.manifest();
    if !manifest
        .options
        .iter()
        .any(|o| o.name == crate::diagnostics::OPTION)
    {
        manifest.options.push(crate::OptionSpec {
            name: crate::diagnostics::OPTION.into(),
            kind: crate::OptionKind::String,
            required: false,
            default: Some("fail".into()),
            description: "fail: a bad row fails the scan; skip: bad rows are skipped and counted (loopql connectors check shows them)".into(),
        });
    }
    let incremental = manifest.tables.iter().any(|t| t.changes.is_some());
    if incremental
        && !manifest
            .options
            .iter()
            .any(|o| o.name == crate::INCREMENTAL_OPTION)
    {
        manifest.options.push(crate::OptionSpec {
            name: crate::INCREMENTAL_OPTION.into(),
            kind: crate::OptionKind::Bool,
            required: false,
            default: Some(false.into()),
            description: "loopql sync reads only the records modified (or deleted) since its previous read, less restatement_days, and merges them by id (api mode)".into(),
        });
    }
    manifest
}

/// # Safety
/// Pointers as documented in [`crate::abi`].
pub unsafe fn describe(
    manifest: impl FnOnce() -> &'static Manifest,
    out: *mut LoopqlOwnedBytes,
    err: *mut LoopqlOwnedBytes,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        guarded(err, || {
            let manifest = manifest();
            let json = serde_json::to_string(manifest).map_err(|e| e.to_string())?;
            if out.is_null() {
                return Err("null output pointer".into());
            }
            out.write(LoopqlOwnedBytes::from_string(json));
            Ok(())
        })
    }
}

/// # Safety
/// Pointers as documented in [`crate::abi`].
pub unsafe fn table_schema(
    manifest: impl FnOnce() -> &'static Manifest,
    table: LoopqlBytes,
    out: *mut FFI_ArrowSchema,
    err: *mut LoopqlOwnedBytes,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        guarded(err, || {
            let name = table.as_str().map_err(|e| e.to_string())?;
            let manifest = manifest();
            let spec = manifest
                .tables
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| format!("unknown table `{name}`"))?;
            let ffi = FFI_ArrowSchema::try_from(spec.schema.as_ref()).map_err(|e| e.to_string())?;
            if out.is_null() {
                return Err("null output pointer".into());
            }
            out.write(ffi);
            Ok(())
        })
    }
}

/// # Safety
/// Pointers as documented in [`crate::abi`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn open_scan<C: Connector>(
    connector: impl FnOnce() -> &'static C,
    manifest: impl FnOnce() -> &'static Manifest,
    table: LoopqlBytes,
    options_json: LoopqlBytes,
    projection: *const u32,
    projection_len: i64,
    filters_json: LoopqlBytes,
    limit: i64,
    out: *mut FFI_ArrowArrayStream,
    err: *mut LoopqlOwnedBytes,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        guarded(err, || {
            let connector = connector();
            let table = table.as_str().map_err(|e| e.to_string())?.to_string();
            let options_text = options_json.as_str().map_err(|e| e.to_string())?;
            let options: serde_json::Map<String, serde_json::Value> = if options_text.is_empty() {
                serde_json::Map::new()
            } else {
                serde_json::from_str(options_text).map_err(|e| format!("options JSON: {e}"))?
            };
            let filters_text = filters_json.as_str().map_err(|e| e.to_string())?;
            let filters: Vec<Filter> = if filters_text.is_empty() {
                Vec::new()
            } else {
                serde_json::from_str(filters_text).map_err(|e| format!("filters JSON: {e}"))?
            };
            let projection = if projection_len < 0 {
                None
            } else if projection_len == 0 {
                Some(Vec::new())
            } else {
                let indices = std::slice::from_raw_parts(projection, projection_len as usize);
                Some(indices.iter().map(|&i| i as usize).collect())
            };
            let request = ScanRequest {
                table: table.clone(),
                options,
                projection,
                filters,
                limit: usize::try_from(limit).ok(),
            };
            trace_request(&request);
            let _ = crate::diagnostics::take();
            let manifest = manifest();
            let spec = manifest
                .tables
                .iter()
                .find(|t| t.name == table)
                .ok_or_else(|| {
                    ConnectorError::UnknownTable {
                        table: table.clone(),
                        available: manifest
                            .tables
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    }
                    .to_string()
                })?;
            let expected = request
                .projected_schema(&spec.schema)
                .map_err(|e| e.to_string())?;
            let reader = connector.scan(request.clone()).map_err(|e| e.to_string())?;
            let guarded = GuardedReader::new(reader, &request, &spec.schema, expected)?;
            if out.is_null() {
                return Err("null output pointer".into());
            }
            out.write(FFI_ArrowArrayStream::new(Box::new(guarded)));
            Ok(())
        })
    }
}

/// # Safety
/// Pointers as documented in [`crate::abi`].
pub unsafe fn scan_diagnostics(out: *mut LoopqlOwnedBytes, err: *mut LoopqlOwnedBytes) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        guarded(err, || {
            let json =
                serde_json::to_string(&crate::diagnostics::take()).map_err(|e| e.to_string())?;
            if out.is_null() {
                return Err("null output pointer".into());
            }
            out.write(LoopqlOwnedBytes::from_string(json));
            Ok(())
        })
    }
}

/// Starts or (no listener) stops telling the host this thread's pages; never unwinds.
pub fn scan_progress(listener: Option<crate::progress::Listener>, context: *mut std::ffi::c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        crate::progress::listen(listener.map(|l| (l, context)));
    }));
}

/// # Safety
/// `bytes` must come from this library and be freed once.
pub unsafe fn free_bytes(bytes: LoopqlOwnedBytes) {
    // A panic here cannot happen (Vec drop), but the rule is: nothing unwinds out.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: forwarded from the caller.
        unsafe { bytes.free() }
    }));
}

/// When `LOOPQL_CONNECTOR_TRACE` names a file, every scan request a connector receives is
/// appended to it as one JSON line: what actually crossed the ABI, for debugging pushdown.
fn trace_request(request: &ScanRequest) {
    let Some(path) = std::env::var_os("LOOPQL_CONNECTOR_TRACE") else {
        return;
    };
    let line = serde_json::json!({
        "table": request.table,
        "projection": request.projection,
        "filters": request.filters,
        "limit": request.limit,
    });
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Wraps a connector's reader for arrow's `extern "C"` stream callbacks: catches panics,
/// narrows full-width batches to the projection, checks every batch's schema, honors `limit`,
/// and stops after the first error.
struct GuardedReader {
    inner: Option<BatchReader>,
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    remaining: Option<usize>,
}

impl GuardedReader {
    fn new(
        reader: BatchReader,
        request: &ScanRequest,
        full: &SchemaRef,
        expected: SchemaRef,
    ) -> Result<Self, String> {
        let got = reader.schema();
        let projection = if fields_match(&got, &expected) {
            None
        } else if request.projection.is_some() && fields_match(&got, full) {
            request.projection.clone()
        } else {
            return Err(format!(
                "connector bug: scan of `{}` returned columns [{}], expected [{}]",
                request.table,
                field_names(&got),
                field_names(&expected)
            ));
        };
        Ok(Self {
            inner: Some(reader),
            schema: expected,
            projection,
            remaining: request.limit,
        })
    }

    fn fail(&mut self, message: String) -> Option<Result<RecordBatch, ArrowError>> {
        self.inner = None;
        Some(Err(ArrowError::ExternalError(Box::new(
            ConnectorError::Other(message),
        ))))
    }
}

fn fields_match(a: &SchemaRef, b: &SchemaRef) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields().iter())
            .all(|(x, y)| x.name() == y.name() && x.data_type() == y.data_type())
}

fn field_names(s: &SchemaRef) -> String {
    s.fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Iterator for GuardedReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == Some(0) {
            self.inner = None;
        }
        let inner = self.inner.as_mut()?;
        let next = match catch_unwind(AssertUnwindSafe(|| inner.next())) {
            Ok(next) => next,
            Err(payload) => {
                return self.fail(format!(
                    "connector panicked while reading: {}",
                    panic_message(&*payload)
                ));
            }
        };
        let batch = match next {
            None => {
                self.inner = None;
                return None;
            }
            Some(Err(e)) => return self.fail(strip_arrow_prefix(&e)),
            Some(Ok(batch)) => batch,
        };
        let batch = match &self.projection {
            None => batch,
            Some(p) => match batch.project(p) {
                Ok(b) => b,
                Err(e) => return self.fail(e.to_string()),
            },
        };
        let batch = match RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec()) {
            Ok(b) => b,
            Err(e) => {
                return self.fail(format!("connector bug: batch does not fit the schema: {e}"));
            }
        };
        let batch = match self.remaining.as_mut() {
            None => batch,
            Some(left) => {
                let take = batch.num_rows().min(*left);
                *left -= take;
                batch.slice(0, take)
            }
        };
        Some(Ok(batch))
    }
}

impl RecordBatchReader for GuardedReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// `ArrowError::ExternalError(e)` displays as "External error: e"; the analyst wants `e`.
fn strip_arrow_prefix(e: &ArrowError) -> String {
    match e {
        ArrowError::ExternalError(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

/// Writes the `extern "C"` symbols of ABI v1 for a [`Connector`].
///
/// ```text
/// loopql_connector_sdk::export_connector!(MyConnector, MyConnector::new());
/// ```
#[macro_export]
macro_rules! export_connector {
    ($ty:ty, $make:expr) => {
        fn __loopql_connector() -> &'static $ty {
            static CONNECTOR: ::std::sync::OnceLock<$ty> = ::std::sync::OnceLock::new();
            CONNECTOR.get_or_init(|| $make)
        }

        fn __loopql_manifest() -> &'static $crate::Manifest {
            static MANIFEST: ::std::sync::OnceLock<$crate::Manifest> = ::std::sync::OnceLock::new();
            MANIFEST.get_or_init(|| $crate::export::published_manifest(__loopql_connector()))
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn loopql_connector_abi_version() -> u32 {
            $crate::export::abi_version()
        }

        /// # Safety
        /// See `loopql_connector_sdk::abi`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn loopql_connector_describe_v1(
            out: *mut $crate::abi::LoopqlOwnedBytes,
            err: *mut $crate::abi::LoopqlOwnedBytes,
        ) -> i32 {
            unsafe { $crate::export::describe(__loopql_manifest, out, err) }
        }

        /// # Safety
        /// See `loopql_connector_sdk::abi`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn loopql_connector_table_schema_v1(
            table: $crate::abi::LoopqlBytes,
            out: *mut $crate::arrow::ffi::FFI_ArrowSchema,
            err: *mut $crate::abi::LoopqlOwnedBytes,
        ) -> i32 {
            unsafe { $crate::export::table_schema(__loopql_manifest, table, out, err) }
        }

        /// # Safety
        /// See `loopql_connector_sdk::abi`.
        #[unsafe(no_mangle)]
        #[allow(clippy::too_many_arguments)]
        pub unsafe extern "C" fn loopql_connector_open_scan_v1(
            table: $crate::abi::LoopqlBytes,
            options_json: $crate::abi::LoopqlBytes,
            projection: *const u32,
            projection_len: i64,
            filters_json: $crate::abi::LoopqlBytes,
            limit: i64,
            out: *mut $crate::arrow::ffi_stream::FFI_ArrowArrayStream,
            err: *mut $crate::abi::LoopqlOwnedBytes,
        ) -> i32 {
            unsafe {
                $crate::export::open_scan(
                    __loopql_connector,
                    __loopql_manifest,
                    table,
                    options_json,
                    projection,
                    projection_len,
                    filters_json,
                    limit,
                    out,
                    err,
                )
            }
        }

        /// # Safety
        /// See `loopql_connector_sdk::abi`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn loopql_connector_scan_diagnostics_v1(
            out: *mut $crate::abi::LoopqlOwnedBytes,
            err: *mut $crate::abi::LoopqlOwnedBytes,
        ) -> i32 {
            unsafe { $crate::export::scan_diagnostics(out, err) }
        }

        /// See `loopql_connector_sdk::abi`.
        #[unsafe(no_mangle)]
        pub extern "C" fn loopql_connector_scan_progress_v1(
            listener: Option<$crate::progress::Listener>,
            context: *mut ::std::ffi::c_void,
        ) {
            $crate::export::scan_progress(listener, context)
        }

        /// # Safety
        /// See `loopql_connector_sdk::abi`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn loopql_connector_free_bytes_v1(
            bytes: $crate::abi::LoopqlOwnedBytes,
        ) {
            unsafe { $crate::export::free_bytes(bytes) }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanRequest;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatchIterator;
    use std::sync::Arc;

    fn full() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, false),
        ]))
    }

    fn batch(ids: &[i64]) -> RecordBatch {
        let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(names)),
        ];
        RecordBatch::try_new(full(), columns).unwrap()
    }

    fn request(projection: Option<Vec<usize>>, limit: Option<usize>) -> ScanRequest {
        ScanRequest {
            table: "t".into(),
            options: Default::default(),
            projection,
            filters: vec![],
            limit,
        }
    }

    fn guard(reader: BatchReader, req: &ScanRequest) -> Result<GuardedReader, String> {
        let expected = req.projected_schema(&full()).unwrap();
        GuardedReader::new(reader, req, &full(), expected)
    }

    #[test]
    fn full_width_batches_are_narrowed_and_limited() {
        let req = request(Some(vec![1]), Some(3));
        let parts = vec![Ok(batch(&[1, 2])), Ok(batch(&[3, 4])), Ok(batch(&[5]))];
        let reader = Box::new(RecordBatchIterator::new(parts, full()));
        let out: Vec<RecordBatch> = guard(reader, &req).unwrap().map(Result::unwrap).collect();
        let rows: usize = out.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 3);
        assert_eq!(out[0].schema().field(0).name(), "name");
        assert_eq!(out[0].num_columns(), 1);
    }

    #[test]
    fn a_panic_inside_next_becomes_an_error_then_the_end() {
        let req = request(None, None);
        let mut first = Some(Ok(batch(&[1])));
        let iter = std::iter::from_fn(move || match first.take() {
            Some(b) => Some(b),
            None => panic!("boom"),
        });
        let reader = Box::new(RecordBatchIterator::new(iter, full()));
        let mut g = guard(reader, &req).unwrap();
        assert!(g.next().unwrap().is_ok());
        let err = g.next().unwrap().unwrap_err().to_string();
        assert!(
            err.contains("connector panicked while reading: boom"),
            "{err}"
        );
        assert!(g.next().is_none());
    }

    #[test]
    fn a_reader_with_other_columns_is_a_connector_bug() {
        let req = request(None, None);
        let other = Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, true)]));
        let reader = Box::new(RecordBatchIterator::new(Vec::new(), other));
        let err = guard(reader, &req).err().unwrap();
        assert!(
            err.contains("returned columns [x Utf8], expected [id Int64, name Utf8]"),
            "{err}"
        );
    }

    #[test]
    fn owned_bytes_round_trip() {
        let b = LoopqlOwnedBytes::from_string("héllo".into());
        // SAFETY: made just above, freed once.
        unsafe {
            assert_eq!(b.to_string_lossy(), "héllo");
            b.free();
        }
    }
}
