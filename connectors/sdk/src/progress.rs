//! Pages and rows a scan fetched from a live API, told to the host as they come so a sync can
//! show them on a terminal. The host listens on the thread that opens and reads a scan (through
//! `loopql_connector_scan_progress_v1`, before it opens the scan, and again with no listener when
//! the stream ended); a connector calls [`page`] after each page it fetched. Without a listener
//! (an older host, a test) [`page`] does nothing.

use std::cell::Cell;
use std::ffi::c_void;

/// The host's listener: called on the scan's thread with the pages and rows fetched so far.
pub type Listener = unsafe extern "C" fn(context: *mut c_void, pages: u64, rows: u64);

thread_local! {
    static LISTENER: Cell<Option<(Listener, *mut c_void)>> = const { Cell::new(None) };
    static FETCHED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// Starts (a listener) or stops (`None`) telling the host on this thread; either way the counts
/// start again from zero.
pub fn listen(listener: Option<(Listener, *mut c_void)>) {
    LISTENER.with(|l| l.set(listener));
    FETCHED.with(|f| f.set((0, 0)));
}

/// One page fetched, holding `rows` records.
pub fn page(rows: u64) {
    let (pages, total) = FETCHED.with(|f| {
        let (p, r) = f.get();
        let now = (p + 1, r + rows);
        f.set(now);
        now
    });
    if let Some((listener, context)) = LISTENER.with(Cell::get) {
        // SAFETY: the host keeps `context` valid until it stops listening on this thread.
        unsafe { listener(context, pages, total) };
    }
}

/// What this thread's scan fetched so far, `(pages, rows)`.
pub fn fetched() -> (u64, u64) {
    FETCHED.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    unsafe extern "C" fn heard(context: *mut c_void, pages: u64, rows: u64) {
        // SAFETY: the test passes a pointer to two live counters.
        let counts = unsafe { &*(context as *const [AtomicU64; 2]) };
        counts[0].store(pages, Ordering::Relaxed);
        counts[1].store(rows, Ordering::Relaxed);
    }

    #[test]
    fn the_host_hears_each_page_until_it_stops_listening() {
        let counts = [AtomicU64::new(0), AtomicU64::new(0)];
        listen(Some((heard, &counts as *const _ as *mut c_void)));
        page(100);
        page(100);
        page(7);
        assert_eq!(counts[0].load(Ordering::Relaxed), 3);
        assert_eq!(counts[1].load(Ordering::Relaxed), 207);
        assert_eq!(fetched(), (3, 207));
        listen(None);
        page(5);
        assert_eq!(counts[0].load(Ordering::Relaxed), 3, "no longer told");
        assert_eq!(fetched(), (1, 5));
    }
}
