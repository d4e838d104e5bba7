//! The safe trait a connector implements.

use crate::{ConnectorError, Manifest, ScanRequest};
use arrow::record_batch::RecordBatchReader;

/// A stream of record batches a scan returns.
pub type BatchReader = Box<dyn RecordBatchReader + Send>;

/// A source of raw tables. One instance lives for the whole process; `scan` may be called from
/// several threads at once. A connector that needs async I/O owns its runtime.
pub trait Connector: Send + Sync + 'static {
    /// What this connector is and exposes. Called once when the library is loaded.
    fn manifest(&self) -> Manifest;

    /// Opens a scan. The returned reader's schema must be the table schema narrowed to
    /// `request.projection` (a reader returning every column is narrowed for you). Filters the
    /// manifest declares `exact` must be applied; `limit` is a hint that may be honored.
    fn scan(&self, request: ScanRequest) -> Result<BatchReader, ConnectorError>;
}
