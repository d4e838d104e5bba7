//! A source's files decoded ahead of the reader, several at once: the host pulls one stream per
//! source on one thread, so without this a scan would decode on one core however many files it
//! has. A pool of worker threads (one per core) takes the files in order; each file's batches go
//! through a small bounded queue of its own, which the reader drains in file order while the
//! workers go on. A worker that finishes a file takes the next one at once (it does not wait for
//! the reader to reach the file it finished), so the cores stay busy while the reader hands a
//! batch on; workers run at most a few files ahead of the reader, and memory holds a few batches
//! per file in flight, never a whole file. Rows a worker skipped (`on_bad_row = "skip"`) are
//! added to the reading thread's record when its file is done, so the host's count after the
//! stream ends is the same as if it had decoded them itself.

use crate::ConnectorError;
use crate::diagnostics::{self, Skipped};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// Batches a file's worker may have made before the reader takes them: enough that the next
/// files' workers keep decoding while the reader is still on an earlier file (a few MB each).
const QUEUE: usize = 8;

/// Files the workers may have started beyond the one the reader is on, per worker.
const FILES_AHEAD: usize = 2;

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

/// What a file's queue carries: its batches, then how its decoding ended.
enum Message {
    Batch(RecordBatch),
    Done(Result<(), ConnectorError>, Skipped),
}

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
    ahead(paths, width, decode)
}

fn ahead<F>(paths: Vec<PathBuf>, width: usize, decode: F) -> Ahead<F> {
    let width = width.max(1);
    let senders = paths.iter().map(|_| Mutex::new(None)).collect();
    Ahead {
        shared: Arc::new(Shared {
            decode,
            paths,
            senders,
            window: width * FILES_AHEAD,
            progress: Mutex::new(Progress::default()),
            moved: Condvar::new(),
        }),
        receivers: VecDeque::new(),
        opened: 0,
        finished: 0,
        width,
        started: false,
        failed: false,
    }
}

/// One worker per core, the default width.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `items` made on a thread of their own, at most `depth` ahead of the caller: a file whose
/// decoding and whatever the caller does with each batch are both heavy (one big Parquet file
/// decoded, then flattened) keeps two cores busy instead of one. The thread stops when the
/// caller stops taking items.
pub fn on_own_thread<T, E>(
    items: impl Iterator<Item = Result<T, E>> + Send + 'static,
    depth: usize,
) -> impl Iterator<Item = Result<T, E>>
where
    T: Send + 'static,
    E: From<String> + Send + 'static,
{
    let (tx, rx) = sync_channel(depth.max(1));
    let spawned = std::thread::Builder::new()
        .name("loopql-decode-ahead".into())
        .spawn(move || {
            for item in items {
                if tx.send(item).is_err() {
                    return;
                }
            }
        });
    let failed = spawned
        .err()
        .map(|e| Err(E::from(format!("no thread to decode on: {e}"))));
    failed.into_iter().chain(rx)
}

/// What the reader and the workers share.
struct Shared<F> {
    decode: F,
    paths: Vec<PathBuf>,
    /// File i's queue, made by the reader before any worker may take file i (so a source of
    /// many files holds queues for the window only), taken by the worker that decodes it.
    senders: Vec<Mutex<Option<SyncSender<Message>>>>,
    /// How many files past the last one the reader finished may be started.
    window: usize,
    progress: Mutex<Progress>,
    /// Signalled when the reader finishes a file or goes away.
    moved: Condvar,
}

#[derive(Default)]
struct Progress {
    /// The next file a worker takes.
    next: usize,
    /// Files the reader has finished.
    finished: usize,
    /// The reader went away or failed: workers take no more files.
    stopped: bool,
}

impl<F> Shared<F> {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next file for a worker, once the reader is close enough to it; `None` when there
    /// is nothing more to do.
    fn take(&self) -> Option<usize> {
        let mut progress = self.progress();
        loop {
            if progress.stopped || progress.next >= self.paths.len() {
                return None;
            }
            if progress.next < progress.finished + self.window {
                progress.next += 1;
                return Some(progress.next - 1);
            }
            progress = self
                .moved
                .wait(progress)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn update(&self, change: impl FnOnce(&mut Progress)) {
        change(&mut self.progress());
        self.moved.notify_all();
    }
}

fn work<F>(shared: &Shared<F>)
where
    F: Fn(&Path, &mut Sink<'_>) -> Result<(), ConnectorError>,
{
    while let Some(i) = shared.take() {
        let sender = shared.senders[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(tx) = sender else { continue };
        let _ = diagnostics::take();
        let mut push = |b: RecordBatch| tx.send(Message::Batch(b)).is_ok();
        let decode = || (shared.decode)(&shared.paths[i], &mut Sink::new(&mut push));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(
            |panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                Err(ConnectorError::Other(format!(
                    "decoding a file failed: {what}"
                )))
            },
        );
        let _ = tx.send(Message::Done(result, diagnostics::take()));
    }
}

struct Ahead<F> {
    shared: Arc<Shared<F>>,
    /// The queues of the files the reader has not finished, in file order.
    receivers: VecDeque<Receiver<Message>>,
    /// Files whose queues are made.
    opened: usize,
    /// Files the reader has finished.
    finished: usize,
    width: usize,
    started: bool,
    failed: bool,
}

impl<F> Ahead<F>
where
    F: Fn(&Path, &mut Sink<'_>) -> Result<(), ConnectorError> + Send + Sync + 'static,
{
    /// Makes the queues of the files the workers may take once the reader has finished
    /// `finished` files.
    fn open(&mut self) {
        let until = (self.finished + self.shared.window).min(self.shared.paths.len());
        while self.opened < until {
            let (tx, rx) = sync_channel(QUEUE);
            *self.shared.senders[self.opened]
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(tx);
            self.receivers.push_back(rx);
            self.opened += 1;
        }
    }

    fn start(&mut self) {
        self.started = true;
        self.open();
        let mut spawned = 0;
        for _ in 0..self.width.min(self.shared.paths.len()) {
            let shared = self.shared.clone();
            let worker = std::thread::Builder::new()
                .name("loopql-decode".into())
                .spawn(move || work(&shared));
            spawned += usize::from(worker.is_ok());
        }
        if spawned == 0 {
            // Close every queue: the reader then fails instead of waiting for nobody.
            for sender in &self.shared.senders {
                sender.lock().unwrap_or_else(PoisonError::into_inner).take();
            }
        }
    }

    /// The reader is done with the front file: the workers may go one file further.
    fn finish_front(&mut self) {
        self.receivers.pop_front();
        self.finished += 1;
        self.open();
        let finished = self.finished;
        self.shared.update(|p| p.finished = finished);
    }

    fn fail(&mut self, error: ConnectorError) -> Option<Result<RecordBatch, ArrowError>> {
        self.failed = true;
        self.shared.update(|p| p.stopped = true);
        // Later files' workers stop at their next batch: their queues close here.
        self.receivers.clear();
        Some(Err(ArrowError::ExternalError(Box::new(error))))
    }
}

impl<F> Iterator for Ahead<F>
where
    F: Fn(&Path, &mut Sink<'_>) -> Result<(), ConnectorError> + Send + Sync + 'static,
{
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.start();
        }
        loop {
            if self.failed {
                return None;
            }
            let message = self.receivers.front()?.recv();
            match message {
                Ok(Message::Batch(batch)) => return Some(Ok(batch)),
                Ok(Message::Done(result, skipped)) => {
                    diagnostics::merge(skipped);
                    if let Err(e) = result {
                        return self.fail(e);
                    }
                    self.finish_front();
                }
                Err(_) => {
                    // The queue closed without an end: no worker thread could be started.
                    let error = ConnectorError::Other("no thread could decode the file".into());
                    return self.fail(error);
                }
            }
        }
    }
}

impl<F> Drop for Ahead<F> {
    fn drop(&mut self) {
        // Workers blocked on a full queue see it closed; idle ones see `stopped`.
        self.receivers.clear();
        self.shared.update(|p| p.stopped = true);
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
    fn a_worker_that_finished_a_file_goes_on_while_the_reader_holds_its_batch() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let started = Arc::new(AtomicUsize::new(0));
        let counter = started.clone();
        let mut stream = decoded(paths(10), 1, move |p, sink| {
            counter.fetch_add(1, SeqCst);
            sink.push(batch(number(p)));
            Ok(())
        });
        assert_eq!(values(vec![stream.next().unwrap()]), [Ok(0)]);
        // The reader has file 0's batch and has not asked again; the one worker took file 1
        // (a slot per file would have kept it waiting for the reader) and no further.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while started.load(SeqCst) < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(started.load(SeqCst), FILES_AHEAD, "files started ahead");
        let rest = values(stream.collect());
        assert_eq!(rest, (1..10).map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn queues_are_made_for_the_files_workers_may_take_only() {
        let mut stream = ahead(paths(10_000), 2, |p: &Path, sink: &mut Sink<'_>| {
            sink.push(batch(number(p)));
            Ok(())
        });
        assert_eq!(stream.opened, 0, "nothing before the first read");
        assert_eq!(
            values(stream.by_ref().take(3).collect()),
            [Ok(0), Ok(1), Ok(2)]
        );
        assert!(stream.opened <= 3 + 2 * FILES_AHEAD, "{}", stream.opened);
        assert_eq!(stream.count(), 10_000 - 3);
    }

    #[test]
    fn a_reader_that_goes_away_stops_the_workers() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let made = Arc::new(AtomicUsize::new(0));
        let counter = made.clone();
        let out: Vec<_> = decoded(paths(100), 2, move |p, sink| {
            for i in 0..20 {
                counter.fetch_add(1, SeqCst);
                if !sink.push(batch(number(p) * 100 + i)) {
                    return Ok(());
                }
            }
            Ok(())
        })
        .take(3)
        .collect();
        assert_eq!(values(out), [Ok(0), Ok(1), Ok(2)]);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let after_drop = made.load(SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(made.load(SeqCst), after_drop, "workers stopped");
        // At most the window's files were started, each at most a queue ahead.
        assert!(after_drop <= 2 * FILES_AHEAD * (QUEUE + 2), "{after_drop}");
    }

    #[test]
    fn items_made_on_their_own_thread_come_in_order_and_stop_with_the_caller() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let made = Arc::new(AtomicUsize::new(0));
        let counter = made.clone();
        let items = (0..1000).map(move |i| {
            counter.fetch_add(1, SeqCst);
            Ok::<i32, String>(i)
        });
        let first: Vec<i32> = on_own_thread(items, 2)
            .take(5)
            .map(Result::unwrap)
            .collect();
        assert_eq!(first, [0, 1, 2, 3, 4]);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let made = made.load(SeqCst);
        assert!(made <= 5 + 2 + 2, "{made} made for 5 taken");
        let all: Vec<i32> = on_own_thread((0..100).map(Ok::<i32, String>), 3)
            .map(Result::unwrap)
            .collect();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
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
