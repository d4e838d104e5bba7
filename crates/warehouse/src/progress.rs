//! What a sync tells as it goes: one line per source (and one for the harmonized tables) with
//! the table being read, rows read and bytes written, and for a live API the pages and records
//! fetched while the fetch is going (the connectors tell them; a watcher thread passes them on).
//! The sync only counts; whoever runs it decides how to show it (the `loopql` binary draws the
//! lines on a terminal).

use loopql_core::plugin_host::fetched::{Fetched, fetched};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shows a sync's progress.
pub trait Progress: Send + Sync {
    /// A line for one source or step, labelled `label`.
    fn line(&self, label: &str) -> Box<dyn ProgressLine>;
}

/// One line of a [`Progress`].
pub trait ProgressLine: Send {
    /// The line's numbers changed.
    fn show(&mut self, table: &str, rows: u64, bytes: u64);
    /// The pages and records fetched from a live API so far changed.
    fn fetched(&mut self, _pages: u64, _records: u64) {}
    /// The step ended with `message`.
    fn finish(&mut self, message: &str);
}

/// A sync's progress lines (shown or not) and their counts.
#[derive(Clone, Default)]
pub struct Lines {
    shown: Option<Arc<dyn Progress>>,
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines")
            .field("shown", &self.shown.is_some())
            .finish()
    }
}

impl Lines {
    /// `None` shows nothing (tests, `--quiet`).
    pub fn new(shown: Option<Arc<dyn Progress>>) -> Self {
        Self { shown }
    }

    pub fn line(&self, label: &str) -> Line {
        Line {
            shown: self
                .shown
                .as_ref()
                .map(|p| Arc::new(Mutex::new(p.line(label)))),
            table: String::new(),
            rows: 0,
            bytes: 0,
            watched: Arc::new(Vec::new()),
            watcher: None,
        }
    }
}

type Shown = Arc<Mutex<Box<dyn ProgressLine>>>;

/// Sources watched: each one's counts and where they stood when watching began.
type Watched = Arc<Vec<(Arc<Fetched>, (u64, u64))>>;

/// One step's counts, shown as they change.
pub struct Line {
    shown: Option<Shown>,
    table: String,
    pub rows: u64,
    pub bytes: u64,
    watched: Watched,
    watcher: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

fn since_start(watched: &Watched) -> (u64, u64) {
    watched.iter().fold((0, 0), |(p, r), (f, (p0, r0))| {
        let (pn, rn) = f.now();
        (p + pn.saturating_sub(*p0), r + rn.saturating_sub(*r0))
    })
}

impl Line {
    /// Counts what `sources`' scans fetch from here on; a shown line shows it as it grows.
    pub fn watch(&mut self, sources: &[&str]) {
        self.watched = Arc::new(
            sources
                .iter()
                .map(|s| {
                    let f = fetched(s);
                    let start = f.now();
                    (f, start)
                })
                .collect(),
        );
        let Some(shown) = self.shown.clone() else {
            return;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (watched, stopped) = (self.watched.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("loopql-sync-fetched".into())
            .spawn(move || {
                let mut told = (0, 0);
                while !stopped.load(Ordering::Relaxed) {
                    let now = since_start(&watched);
                    if now != told {
                        told = now;
                        if let Ok(mut line) = shown.lock() {
                            line.fetched(now.0, now.1);
                        }
                    }
                    std::thread::park_timeout(Duration::from_millis(150));
                }
            });
        if let Ok(thread) = thread {
            self.watcher = Some((stop, thread));
        }
    }

    /// `(pages, records)` the watched sources fetched since [`Line::watch`].
    pub fn fetched(&self) -> (u64, u64) {
        since_start(&self.watched)
    }

    pub fn table(&mut self, name: &str) {
        self.table = name.to_string();
        self.show();
    }

    pub fn rows(&mut self, n: u64) {
        self.rows += n;
        self.show();
    }

    pub fn bytes(&mut self, n: u64) {
        self.bytes += n;
        self.show();
    }

    fn show(&mut self) {
        if let Some(line) = &self.shown
            && let Ok(mut line) = line.lock()
        {
            line.show(&self.table, self.rows, self.bytes);
        }
    }

    fn stop_watching(&mut self) {
        if let Some((stop, thread)) = self.watcher.take() {
            stop.store(true, Ordering::Relaxed);
            thread.thread().unpark();
            let _ = thread.join();
        }
    }

    pub fn finish(&mut self, message: &str) {
        self.stop_watching();
        if let Some(line) = &self.shown
            && let Ok(mut line) = line.lock()
        {
            let (pages, records) = self.fetched();
            if pages > 0 {
                line.fetched(pages, records);
            }
            line.finish(message);
        }
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.stop_watching();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_core::plugin_host::fetched::{Listening, in_process};

    #[derive(Default)]
    struct Heard(Arc<Mutex<Vec<(u64, u64)>>>);

    struct HeardLine(Arc<Mutex<Vec<(u64, u64)>>>);

    impl Progress for Heard {
        fn line(&self, _label: &str) -> Box<dyn ProgressLine> {
            Box::new(HeardLine(self.0.clone()))
        }
    }

    impl ProgressLine for HeardLine {
        fn show(&mut self, _table: &str, _rows: u64, _bytes: u64) {}
        fn fetched(&mut self, pages: u64, records: u64) {
            self.0.lock().unwrap().push((pages, records));
        }
        fn finish(&mut self, _message: &str) {}
    }

    #[test]
    fn a_watched_sources_pages_reach_its_line_while_it_fetches() {
        // Fetched before the watch began: not this sync's.
        let source = fetched("progress_test_source");
        let early = Listening::start(in_process(), source.clone());
        loopql_connector_sdk::progress::page(5);
        drop(early);

        let heard = Heard::default();
        let said = heard.0.clone();
        let lines = Lines::new(Some(Arc::new(heard)));
        let mut line = lines.line("acme_hubspot");
        line.watch(&["progress_test_source", "progress_test_other"]);
        let listening = Listening::start(in_process(), source);
        loopql_connector_sdk::progress::page(100);
        // The watcher passes it on while the scan is still fetching.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !said.lock().unwrap().contains(&(1, 100)) {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}",
                said.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        loopql_connector_sdk::progress::page(40);
        drop(listening);
        assert_eq!(line.fetched(), (2, 140));
        line.finish("done");
        assert_eq!(said.lock().unwrap().last(), Some(&(2, 140)));
    }
}
