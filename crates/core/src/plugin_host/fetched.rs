//! Pages and rows each source's scans fetched from a live API, as the connectors tell them
//! (`loopql_connector_scan_progress_v1`): counted per source for the life of the process, so a
//! sync's progress line shows what its reads of a source fetched (the difference from when it
//! started watching) while the fetch is still going.

use loopql_connector_sdk::abi;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// What a source's scans fetched so far.
#[derive(Debug, Default)]
pub struct Fetched {
    pages: AtomicU64,
    rows: AtomicU64,
}

impl Fetched {
    /// `(pages, rows)` fetched so far.
    pub fn now(&self) -> (u64, u64) {
        (
            self.pages.load(Ordering::Relaxed),
            self.rows.load(Ordering::Relaxed),
        )
    }
}

static SOURCES: LazyLock<Mutex<HashMap<String, Arc<Fetched>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The counts of source `name`.
pub fn fetched(name: &str) -> Arc<Fetched> {
    let mut map = SOURCES.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(name.to_string()).or_default().clone()
}

/// One scan's listener: the scan tells its own totals; the source's counts get the increase.
struct Listener {
    source: Arc<Fetched>,
    told: (u64, u64),
}

unsafe extern "C" fn heard(context: *mut c_void, pages: u64, rows: u64) {
    // SAFETY: `context` is the `Listener` a live `Listening` owns; the library calls this on the
    // thread that set it, before `Listening` is dropped (which stops it).
    let listener = unsafe { &mut *(context as *mut Listener) };
    let (p, r) = listener.told;
    listener
        .source
        .pages
        .fetch_add(pages.saturating_sub(p), Ordering::Relaxed);
    listener
        .source
        .rows
        .fetch_add(rows.saturating_sub(r), Ordering::Relaxed);
    listener.told = (pages, rows);
}

/// Listening to a library's scans on this thread until dropped.
pub struct Listening {
    listen: abi::ScanProgressFn,
    _listener: Box<Listener>,
}

impl Listening {
    /// Starts listening with `listen` (the library's `loopql_connector_scan_progress_v1`).
    pub fn start(listen: abi::ScanProgressFn, source: Arc<Fetched>) -> Self {
        let mut listener = Box::new(Listener {
            source,
            told: (0, 0),
        });
        let context = &mut *listener as *mut Listener as *mut c_void;
        // SAFETY: the library never unloads; `context` stays valid (boxed, owned by the returned
        // value) until `drop` stops the listening on this same thread.
        unsafe { listen(Some(heard), context) };
        Self {
            listen,
            _listener: listener,
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        // SAFETY: as in `start`; a null listener stops the telling before the box is freed.
        unsafe { (self.listen)(None, std::ptr::null_mut()) };
    }
}

unsafe extern "C" fn in_process_listen(
    listener: Option<loopql_connector_sdk::progress::Listener>,
    context: *mut c_void,
) {
    loopql_connector_sdk::progress::listen(listener.map(|l| (l, context)));
}

/// The listening entry of the SDK linked into this process (what a library exports as
/// `loopql_connector_scan_progress_v1`), for tests of what listens.
#[doc(hidden)]
pub fn in_process() -> abi::ScanProgressFn {
    in_process_listen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sources_counts_add_up_over_its_scans() {
        let source = fetched("fetched_test_source");
        for _ in 0..2 {
            let listening = Listening::start(in_process(), source.clone());
            loopql_connector_sdk::progress::page(100);
            loopql_connector_sdk::progress::page(20);
            drop(listening);
            loopql_connector_sdk::progress::page(1000); // no longer heard
        }
        assert_eq!(fetched("fetched_test_source").now(), (4, 240));
        assert_eq!(fetched("another_source").now(), (0, 0));
    }
}
