//! A source's files decoded ahead of the reader, several at once: the host pulls one stream per
//! source on one thread, so without this a scan would decode on one core however many files it
//! has. Each file is decoded on a worker thread (at most `width` files at once) that hands its
//! batches over as it makes them, through a small bounded queue: the reader takes them in file
//! order while the workers go on, and memory holds a few batches per file in flight, never a
//! whole file. Rows a worker skipped (`on_bad_row = "skip"`) are added to the reading thread's
//! record when its file is done, so the host's count after the stream ends is the same as if
//! it had decoded them itself.

use crate::ConnectorError;
use crate::diagnostics::{self, Skipped};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Batches a file's worker may have made before the reader takes them: enough that the next
/// files' workers keep decoding while the reader is still on an earlier file (a few MB each).
const QUEUE: usize = 8;

/// Where a decoder puts a file's batches, in order.
pub struct Sink<'a> {
    push: &'a mut dyn FnMut(RecordBatch) -> bool,
    rows: usize,
}

impl<'a> Sink<'a> {
    pub fn new(push: &'a mut dyn FnMut(RecordBatch) -> bool) -> Self {
        Self { push, rows: 0 }
    }

    /// Hands a batch on; false when nobody reads any more (the decoder should stop).
    pub fn push(&mut self, batch: RecordBatch) -> bool {
        self.rows += batch.num_rows();
        (self.push)(batch)
    }

    /// Rows handed on so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Hands on what a second reading of the file gave, but for its first `done` rows (the
    /// ones a first reading already handed on before it gave up).
    pub fn push_after(&mut self, batches: Vec<RecordBatch>, done: usize) -> bool {
        let mut skip = done;
        for batch in batches {
            let n = batch.num_rows();
            if skip >= n {
                skip -= n;
                continue;
            }
            let rest = batch.slice(skip, n - skip);
            skip = 0;
            if !self.push(rest) {
                return false;
            }
        }
        true
    }
}

/// A whole file's batches, collected (for callers that want them all).
pub fn collect<F, E>(decode: F) -> Result<Vec<RecordBatch>, E>
where
    F: FnOnce(&mut Sink<'_>) -> Result<(), E>,
{
    let mut out = Vec::new();
    let mut push = |b: RecordBatch| {
        out.push(b);
        true
    };
    decode(&mut Sink::new(&mut push))?;
    Ok(out)
}

type Worker = (
    Receiver<RecordBatch>,
    JoinHandle<(Result<(), ConnectorError>, Skipped)>,
);

/// The batches of `paths`, each file decoded by `decode` on a worker thread, in file order; the
/// first error (in file order) ends the stream.
pub fn decoded<F>(
    paths: Vec<PathBuf>,
    width: usize,
    decode: F,
) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + 'static
where
    F: Fn(&Path, &mut Sink<'_>) -> Result<(), ConnectorError> + Send + Sync + 'static,
{
    Ahead {
        decode: Arc::new(decode),
        paths: paths.into_iter(),
        running: VecDeque::new(),
        width: width.max(1),
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
    running: VecDeque<Worker>,
    width: usize,
    failed: bool,
}

impl<F> Ahead<F>
where
    F: Fn(&Path, &mut Sink<'_>) -> Result<(), ConnectorError> + Send + Sync + 'static,
{
    fn fill(&mut self) {
        while self.running.len() < self.width {
            let Some(path) = self.paths.next() else {
                return;
            };
            let decode = self.decode.clone();
            let (tx, rx): (SyncSender<RecordBatch>, _) = sync_channel(QUEUE);
            let worker = std::thread::spawn(move || {
                let _ = diagnostics::take();
                let mut push = |b: RecordBatch| tx.send(b).is_ok();
                let result = decode(&path, &mut Sink::new(&mut push));
                (result, diagnostics::take())
            });
            self.running.push_back((rx, worker));
        }
    }
}

impl<F> Iterator for Ahead<F>
where
    F: Fn(&Path, &mut Sink<'_>) -> Result<(), ConnectorError> + Send + Sync + 'static,
{
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            self.fill();
            let (batches, _) = self.running.front()?;
            if let Ok(batch) = batches.recv() {
                return Some(Ok(batch));
            }
            // The file is done: its worker's result says how.
            let (_, worker) = self.running.pop_front()?;
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
            if let Err(e) = result {
                self.failed = true;
                // Later files' workers stop at their next batch: their queues close here.
                self.running.clear();
                return Some(Err(ArrowError::ExternalError(Box::new(e))));
            }
        }
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

    fn paths(n: i64) -> Vec<PathBuf> {
        (0..n).map(|i| PathBuf::from(i.to_string())).collect()
    }

    #[test]
    fn batches_come_out_in_file_order_whatever_finishes_first() {
        let out = decoded(paths(12), 4, |p, sink| {
            let n = number(p);
            // Early files take longest, so workers finish out of order.
            std::thread::sleep(std::time::Duration::from_millis(((12 - n) * 3) as u64));
            for i in 0..5 {
                sink.push(batch(n * 10 + i));
            }
            Ok(())
        })
        .collect();
        let want: Vec<Result<i64, String>> = (0..12)
            .flat_map(|n| (0..5).map(move |i| Ok(n * 10 + i)))
            .collect();
        assert_eq!(values(out), want);
    }

    #[test]
    fn a_file_is_handed_over_while_it_is_decoded_not_held_whole() {
        // The worker can only be QUEUE batches ahead: it waits for the reader.
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = made.clone();
        let mut stream = decoded(paths(1), 1, move |_, sink| {
            for i in 0..100 {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if !sink.push(batch(i)) {
                    return Ok(());
                }
            }
            Ok(())
        });
        assert!(stream.next().unwrap().is_ok());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let ahead = made.load(std::sync::atomic::Ordering::SeqCst);
        assert!(ahead <= QUEUE + 2, "{ahead} batches made for one taken");
        assert_eq!(stream.count(), 99);
    }

    #[test]
    fn the_first_error_in_file_order_ends_the_stream() {
        let out = decoded(paths(6), 3, |p, sink| match number(p) {
            2 | 4 => Err(ConnectorError::Other(format!("file {} is bad", number(p)))),
            n => {
                sink.push(batch(n));
                Ok(())
            }
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
        let out: Vec<_> = decoded(paths(5), 2, |p, sink| {
            diagnostics::skipped(&ConnectorError::Other(format!("bad row in {}", number(p))));
            sink.push(batch(number(p)));
            Ok(())
        })
        .collect();
        assert_eq!(out.len(), 5);
        let skipped = diagnostics::take();
        assert_eq!(skipped.skipped_rows, 5);
        assert_eq!(skipped.examples[0], "bad row in 0");
    }

    #[test]
    fn a_panicking_decoder_is_an_error_not_a_crash() {
        let out = decoded(paths(1), 2, |_, _| -> Result<(), _> { panic!("boom") }).collect();
        let got = values(out);
        assert!(got[0].as_ref().unwrap_err().contains("boom"), "{got:?}");
    }

    #[test]
    fn a_second_reading_is_handed_on_after_what_the_first_gave() {
        let out = collect(|sink| {
            sink.push(batch(0));
            sink.push(batch(1));
            let again: Vec<RecordBatch> = (0..4).map(batch).collect();
            let done = sink.rows();
            sink.push_after(again, done);
            Ok::<(), ConnectorError>(())
        })
        .unwrap();
        let got = values(out.into_iter().map(Ok).collect());
        assert_eq!(got, [Ok(0), Ok(1), Ok(2), Ok(3)]);

        // Skipping into the middle of a batch.
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let four = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![0, 1, 2, 3]))])
            .unwrap();
        let out = collect(|sink| {
            sink.push_after(vec![four.clone()], 3);
            Ok::<(), ConnectorError>(())
        })
        .unwrap();
        assert_eq!(out, [four.slice(3, 1)]);
    }
}
