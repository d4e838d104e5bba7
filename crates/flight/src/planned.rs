//! Statements planned at GetFlightInfo and kept for the DoGet of their ticket, so a statement is
//! planned once, not once per call. A ticket names its plan by a random handle and is good for
//! one DoGet by the principal that asked for it, within [`KEEP`]; plans nobody fetched are
//! dropped after that (and the oldest first beyond [`MAX`]).

use loopql_core::Query;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tonic::Status;

/// What a planned ticket's handle starts with (any other ticket is a statement's SQL).
const PREFIX: &str = "loopql-planned:";
/// How long a plan waits for its DoGet.
pub const KEEP: Duration = Duration::from_secs(600);
/// Plans kept at most (a client that never fetches cannot grow the server without bound).
pub const MAX: usize = 4096;

struct Entry {
    query: Query,
    owner: String,
    at: Instant,
}

#[derive(Default)]
pub struct Planned {
    entries: Mutex<HashMap<String, Entry>>,
    /// Statements planned so far (every GetFlightInfo and DoGet that planned one).
    count: AtomicU64,
}

impl Planned {
    /// Counts one planned statement.
    pub fn counted(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Statements planned so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Keeps `query`, planned for `owner`; returns the ticket's statement handle.
    pub fn put(&self, owner: &str, query: Query) -> Result<Vec<u8>, Status> {
        let handle = format!("{PREFIX}{}", super::auth::random_hex(16)?);
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| Status::internal("plan cache poisoned"))?;
        entries.retain(|_, e| e.at.elapsed() < KEEP);
        while entries.len() >= MAX {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            entries.remove(&oldest);
        }
        entries.insert(
            handle.clone(),
            Entry {
                query,
                owner: owner.to_string(),
                at: Instant::now(),
            },
        );
        Ok(handle.into_bytes())
    }

    /// The plan a ticket's handle names, taken for `caller` (`None`: the handle is a statement's
    /// SQL, not a planned ticket).
    pub fn take(&self, handle: &[u8], caller: &str) -> Result<Option<Query>, Status> {
        let Some(key) = std::str::from_utf8(handle)
            .ok()
            .filter(|h| h.starts_with(PREFIX))
        else {
            return Ok(None);
        };
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| Status::internal("plan cache poisoned"))?;
        match entries.get(key) {
            Some(e) if e.owner == caller && e.at.elapsed() < KEEP => {
                Ok(entries.remove(key).map(|e| e.query))
            }
            _ => Err(Status::not_found(format!(
                "ticket {key} is unknown, already used or older than {} s: run the statement again (GetFlightInfo)",
                KEEP.as_secs()
            ))),
        }
    }
}
