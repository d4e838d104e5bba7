//! A source's files decoded ahead of the reader, several at once: the host pulls one stream per
//! source on one thread, so without this a scan would decode on one core however many files it
//! has. Files are decoded on worker threads (at most one per core in flight) and their batches
//! come out in file order; rows a worker skipped (`on_bad_row = "skip"`) are added to the
//! reading thread's record as their file's batches are handed over, so the host's count after
//! the stream ends is the same as if it had decoded them itself.

use crate::ConnectorError;
use crate::diagnostics::{self, Skipped};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

type Decoded = (Result<Vec<RecordBatch>, ConnectorError>, Skipped);

/// The batches of `paths`, each file decoded by `decode` on a worker thread, in file order; the
/// first error (in file order) ends the stream. At most `width` files are decoded or waiting at
/// once (their batches are the memory this holds).
pub fn decoded<F>(
    paths: Vec<PathBuf>,
    width: usize,
    decode: F,
) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + 'static
where
    F: Fn(&Path) -> Result<Vec<RecordBatch>, ConnectorError> + Send + Sync + 'static,
{
    Ahead {
        decode: Arc::new(decode),
        paths: paths.into_iter(),
        running: VecDeque::new(),
        ready: Vec::new().into_iter(),
        width: width.max(1),
        stop: Arc::new(AtomicBool::new(false)),
        failed: false,
    }
}

/// One worker per core, the default width.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

struct Ahead<F> {
    decode: Arc<F>,
    paths: std::vec::IntoIter<PathBuf>,
    running: VecDeque<JoinHandle<Decoded>>,
    ready: std::vec::IntoIter<RecordBatch>,
    width: usize,
    /// Set when the reader goes away: workers not yet started skip their file.
    stop: Arc<AtomicBool>,
    failed: bool,
}

impl<F> Ahead<F>
where
    F: Fn(&Path) -> Result<Vec<RecordBatch>, ConnectorError> + Send + Sync + 'static,
{
    fn fill(&mut self) {
        while self.running.len() < self.width {
            let Some(path) = self.paths.next() else {
                return;
            };
            let decode = self.decode.clone();
            let stop = self.stop.clone();
            self.running.push_back(std::thread::spawn(move || {
                if stop.load(Ordering::Relaxed) {
                    return (Ok(Vec::new()), Skipped::default());
                }
                let _ = diagnostics::take();
                let result = decode(&path);
                (result, diagnostics::take())
            }));
        }
    }
}

impl<F> Iterator for Ahead<F>
where
    F: Fn(&Path) -> Result<Vec<RecordBatch>, ConnectorError> + Send + Sync + 'static,
{
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(batch) = self.ready.next() {
                return Some(Ok(batch));
            }
            self.fill();
            let worker = self.running.pop_front()?;
            let (result, skipped) = worker.join().unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                let error = ConnectorError::Other(format!("decoding a file failed: {what}"));
                (Err(error), Skipped::default())
            });
            diagnostics::merge(skipped);
            match result {
                Ok(batches) => {
                    self.ready = batches.into_iter();
                    self.fill();
                }
                Err(e) => {
                    self.failed = true;
                    self.stop.store(true, Ordering::Relaxed);
                    return Some(Err(ArrowError::ExternalError(Box::new(e))));
                }
            }
        }
    }
}

impl<F> Drop for Ahead<F> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![n]))]).unwrap()
    }

    fn number(path: &Path) -> i64 {
        path.to_str().unwrap().parse().unwrap()
    }

    fn values(out: Vec<Result<RecordBatch, ArrowError>>) -> Vec<Result<i64, String>> {
        out.into_iter()
            .map(|b| {
                b.map(|b| {
                    let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                    assert_eq!(a.len(), 1);
                    a.value(0)
                })
                .map_err(|e| e.to_string())
            })
            .collect()
    }

    #[test]
    fn batches_come_out_in_file_order_whatever_finishes_first() {
        let paths: Vec<PathBuf> = (0..12).map(|i| PathBuf::from(i.to_string())).collect();
        let out = decoded(paths, 4, |p| {
            let n = number(p);
            // Early files take longest, so workers finish out of order.
            std::thread::sleep(std::time::Duration::from_millis(((12 - n) * 3) as u64));
            Ok(vec![batch(n * 10), batch(n * 10 + 1)])
        })
        .collect();
        let want: Vec<Result<i64, String>> =
            (0..12).flat_map(|n| [Ok(n * 10), Ok(n * 10 + 1)]).collect();
        assert_eq!(values(out), want);
    }

    #[test]
    fn the_first_error_in_file_order_ends_the_stream() {
        let paths: Vec<PathBuf> = (0..6).map(|i| PathBuf::from(i.to_string())).collect();
        let out = decoded(paths, 3, |p| match number(p) {
            2 | 4 => Err(ConnectorError::Other(format!("file {} is bad", number(p)))),
            n => Ok(vec![batch(n)]),
        })
        .collect();
        let got = values(out);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[..2], [Ok(0), Ok(1)]);
        assert!(
            got[2].as_ref().unwrap_err().contains("file 2 is bad"),
            "{got:?}"
        );
    }

    #[test]
    fn rows_skipped_on_workers_are_counted_on_the_reading_thread() {
        let _ = diagnostics::take();
        let paths: Vec<PathBuf> = (0..5).map(|i| PathBuf::from(i.to_string())).collect();
        let out: Vec<_> = decoded(paths, 2, |p| {
            diagnostics::skipped(&ConnectorError::Other(format!("bad row in {}", number(p))));
            Ok(vec![batch(number(p))])
        })
        .collect();
        assert_eq!(out.len(), 5);
        let skipped = diagnostics::take();
        assert_eq!(skipped.skipped_rows, 5);
        assert_eq!(skipped.examples[0], "bad row in 0");
    }

    #[test]
    fn a_panicking_decoder_is_an_error_not_a_crash() {
        let out = decoded(
            vec![PathBuf::from("0")],
            2,
            |_| -> Result<Vec<RecordBatch>, _> { panic!("boom") },
        )
        .collect();
        let got = values(out);
        assert!(got[0].as_ref().unwrap_err().contains("boom"), "{got:?}");
    }
}
