//! Rows a scan skipped, never silently: a connector whose source sets `on_bad_row = "skip"`
//! records each bad row here instead of failing, and the host collects the count and the first
//! examples through `loopql_connector_scan_diagnostics_v1` when the stream ends (a scan is opened
//! and read on one host thread, so the record is per thread).

use crate::{ConnectorError, ScanRequest};
use std::cell::RefCell;

/// The option every connector accepts (added to each manifest by the SDK).
pub const OPTION: &str = "on_bad_row";
const EXAMPLES: usize = 5;

#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Skipped {
    pub skipped_rows: u64,
    pub examples: Vec<String>,
}

thread_local! {
    static CURRENT: RefCell<Skipped> = RefCell::new(Skipped::default());
}

/// Whether the source asked to skip bad rows (else they fail the scan).
pub fn skip_bad_rows(request: &ScanRequest) -> bool {
    request.option_str(OPTION) == Some("skip")
}

/// Records one skipped row.
pub fn skipped(error: &ConnectorError) {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        c.skipped_rows += 1;
        if c.examples.len() < EXAMPLES {
            c.examples.push(error.to_string());
        }
    });
}

/// Adds a record taken on another thread (a worker that decoded part of this scan) to this
/// thread's.
pub fn merge(other: Skipped) {
    if other.skipped_rows == 0 {
        return;
    }
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        c.skipped_rows += other.skipped_rows;
        let room = EXAMPLES.saturating_sub(c.examples.len());
        c.examples.extend(other.examples.into_iter().take(room));
    });
}

/// Takes (and resets) this thread's record.
pub fn take() -> Skipped {
    CURRENT.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_everything_keeps_the_first_examples() {
        let _ = take();
        for i in 0..7 {
            skipped(&ConnectorError::Other(format!("row {i}")));
        }
        let s = take();
        assert_eq!(s.skipped_rows, 7);
        assert_eq!(s.examples.len(), 5);
        assert_eq!(s.examples[0], "row 0");
        assert_eq!(take(), Skipped::default());
    }
}
