//! The C-level contract between the loopql host and a connector library (ABI v1).
//!
//! Symbols a library exports (all `extern "C"`, written by [`crate::export_connector!`]):
//!
//! ```c
//! uint32_t loopql_connector_abi_version(void);           // name never changes; returns 1
//! int32_t  loopql_connector_describe_v1(LoopqlOwnedBytes *manifest_json, LoopqlOwnedBytes *err);
//! int32_t  loopql_connector_table_schema_v1(LoopqlBytes table, FFI_ArrowSchema *out,
//!                                           LoopqlOwnedBytes *err);
//! int32_t  loopql_connector_open_scan_v1(LoopqlBytes table, LoopqlBytes options_json,
//!                                        const uint32_t *projection, int64_t projection_len,
//!                                        LoopqlBytes filters_json, int64_t limit,
//!                                        FFI_ArrowArrayStream *out, LoopqlOwnedBytes *err);
//! void     loopql_connector_free_bytes_v1(LoopqlOwnedBytes bytes);
//! // optional: rows the last scan on this thread skipped ({"skipped_rows": n, "examples": [..]})
//! int32_t  loopql_connector_scan_diagnostics_v1(LoopqlOwnedBytes *json, LoopqlOwnedBytes *err);
//! // optional: listen (or, with a null listener, stop listening) to the pages and rows the scans
//! // on this thread fetch from a live API; the listener is called on this thread, and `context`
//! // must stay valid until the host stops listening
//! void     loopql_connector_scan_progress_v1(void (*listener)(void *context, uint64_t pages,
//!                                                              uint64_t rows), void *context);
//! ```
//!
//! Return codes are [`STATUS_OK`], [`STATUS_ERROR`] and [`STATUS_PANIC`]; on anything but OK the
//! library has written a UTF-8 message into `err`. Bytes a library hands out are freed by
//! handing them back to `loopql_connector_free_bytes_v1`: each side frees what it allocated.
//! `projection_len < 0` means "all columns"; `limit < 0` means "no limit".

use arrow::ffi::FFI_ArrowSchema;
use arrow::ffi_stream::FFI_ArrowArrayStream;

/// The ABI version this SDK speaks. The host refuses a library reporting any other.
pub const ABI_VERSION: u32 = 1;

pub const SYMBOL_ABI_VERSION: &[u8] = b"loopql_connector_abi_version";
pub const SYMBOL_DESCRIBE: &[u8] = b"loopql_connector_describe_v1";
pub const SYMBOL_TABLE_SCHEMA: &[u8] = b"loopql_connector_table_schema_v1";
pub const SYMBOL_OPEN_SCAN: &[u8] = b"loopql_connector_open_scan_v1";
pub const SYMBOL_FREE_BYTES: &[u8] = b"loopql_connector_free_bytes_v1";
/// Optional: libraries without it simply report no skipped rows.
pub const SYMBOL_SCAN_DIAGNOSTICS: &[u8] = b"loopql_connector_scan_diagnostics_v1";
/// Optional: libraries without it tell no pages.
pub const SYMBOL_SCAN_PROGRESS: &[u8] = b"loopql_connector_scan_progress_v1";

pub const STATUS_OK: i32 = 0;
pub const STATUS_ERROR: i32 = 1;
pub const STATUS_PANIC: i32 = 2;

/// Borrowed UTF-8 bytes passed into a library; valid only for the duration of the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LoopqlBytes {
    pub ptr: *const u8,
    pub len: usize,
}

impl LoopqlBytes {
    pub fn borrow(s: &str) -> Self {
        Self {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// # Safety
    /// `ptr` must point to `len` readable bytes for the lifetime `'a`.
    pub unsafe fn as_str<'a>(&self) -> Result<&'a str, std::str::Utf8Error> {
        if self.len == 0 {
            return Ok("");
        }
        // SAFETY: guaranteed by the caller.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr, self.len) };
        std::str::from_utf8(bytes)
    }
}

/// Bytes allocated by a library (a `Vec<u8>` taken apart); give them back to
/// `loopql_connector_free_bytes_v1` of the same library.
#[repr(C)]
#[derive(Debug)]
pub struct LoopqlOwnedBytes {
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
}

impl LoopqlOwnedBytes {
    pub const fn empty() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }

    pub fn from_string(s: String) -> Self {
        let mut v = std::mem::ManuallyDrop::new(s.into_bytes());
        Self {
            ptr: v.as_mut_ptr(),
            len: v.len(),
            cap: v.capacity(),
        }
    }

    /// Copies the bytes out as (lossy) UTF-8; does not free them.
    ///
    /// # Safety
    /// The bytes must have been produced by [`LoopqlOwnedBytes::from_string`] and not yet freed.
    pub unsafe fn to_string_lossy(&self) -> String {
        if self.ptr.is_null() || self.len == 0 {
            return String::new();
        }
        // SAFETY: guaranteed by the caller.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr, self.len) };
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// Frees bytes made by [`LoopqlOwnedBytes::from_string`] in this same library.
    ///
    /// # Safety
    /// Must be called at most once, in the library that allocated the bytes.
    pub unsafe fn free(self) {
        if !self.ptr.is_null() {
            // SAFETY: the triple came from a Vec<u8> of this allocator.
            drop(unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) });
        }
    }
}

pub type AbiVersionFn = unsafe extern "C" fn() -> u32;
pub type DescribeFn =
    unsafe extern "C" fn(manifest_json: *mut LoopqlOwnedBytes, err: *mut LoopqlOwnedBytes) -> i32;
pub type TableSchemaFn = unsafe extern "C" fn(
    table: LoopqlBytes,
    out: *mut FFI_ArrowSchema,
    err: *mut LoopqlOwnedBytes,
) -> i32;
#[allow(clippy::too_many_arguments)]
pub type OpenScanFn = unsafe extern "C" fn(
    table: LoopqlBytes,
    options_json: LoopqlBytes,
    projection: *const u32,
    projection_len: i64,
    filters_json: LoopqlBytes,
    limit: i64,
    out: *mut FFI_ArrowArrayStream,
    err: *mut LoopqlOwnedBytes,
) -> i32;
pub type FreeBytesFn = unsafe extern "C" fn(bytes: LoopqlOwnedBytes);
pub type ScanDiagnosticsFn =
    unsafe extern "C" fn(json: *mut LoopqlOwnedBytes, err: *mut LoopqlOwnedBytes) -> i32;
pub type ScanProgressFn = unsafe extern "C" fn(
    listener: Option<crate::progress::Listener>,
    context: *mut std::ffi::c_void,
);
