//! One sync at a time per warehouse.
//!
//! A local warehouse: an advisory lock on `.sync.lock` that the kernel drops when the process
//! dies, even by SIGKILL.
//!
//! An object store has no such lock, so the lock is a lease: the object `.sync.lock`, created
//! only when absent (`If-None-Match: *`) and rewritten by its holder every quarter of
//! [`LEASE`] (each rewrite has new content, so a new ETag). A sync that finds the lock held
//! watches it: a lock rewritten while it watches belongs to a running sync (refused, naming
//! it); one left unchanged for a whole lease was left by a killed sync and is taken over,
//! conditionally on the ETag seen (`If-Match`), so of two syncs waiting for it one wins. No
//! clock is compared across machines. A holder that cannot renew its lease for a whole lease
//! counts it as lost and commits nothing ([`SyncLock::check`]).

use super::store::Store;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an object-store lock may go unrenewed before another sync takes it over.
pub const LEASE: Duration = Duration::from_secs(10);

/// The lock file, under the warehouse root.
pub const LOCK: &str = ".sync.lock";

/// Held while a sync runs.
#[derive(Debug)]
pub enum SyncLock {
    Local(std::fs::File),
    Lease(Lease),
}

/// A held object-store lease and the task renewing it.
#[derive(Debug)]
pub struct Lease {
    store: Store,
    version: Arc<Mutex<UpdateVersion>>,
    lost: Arc<AtomicBool>,
    /// Tells the renewing task to stop between rewrites (never mid-rewrite: an aborted rewrite
    /// could change the lease without `version` knowing, and the lease would not be given back).
    stop: Arc<tokio::sync::Notify>,
    renewing: tokio::task::JoinHandle<()>,
}

impl SyncLock {
    /// Takes a local warehouse's lock.
    pub fn local(path: &std::path::Path) -> std::result::Result<Self, String> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self::Local(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(
                "another `loopql sync` is running on this warehouse; wait for it to finish".into(),
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(format!("cannot lock {}: {e}", path.display()))
            }
        }
    }

    /// Takes an object store's lease, waiting up to one lease when a killed sync left it.
    pub async fn lease(store: &Store) -> std::result::Result<Self, String> {
        let path = store.path(LOCK);
        let holder = holder();
        loop {
            let created = store
                .store
                .put_opts(&path, body(&holder, 0), PutOptions::from(PutMode::Create))
                .await;
            match created {
                Ok(r) => return Ok(Self::Lease(Lease::start(store, holder, version(r)))),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(format!("cannot create the sync lock {LOCK}: {e}")),
            }
            // Held: watch it for a lease.
            let seen = match store.store.get(&path).await {
                Ok(found) => {
                    let version = UpdateVersion {
                        e_tag: found.meta.e_tag.clone(),
                        version: found.meta.version.clone(),
                    };
                    let text = found.bytes().await.map_err(|e| e.to_string())?;
                    (version, String::from_utf8_lossy(&text).into_owned())
                }
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(format!("cannot read the sync lock {LOCK}: {e}")),
            };
            let watched = Instant::now();
            let released = loop {
                tokio::time::sleep(LEASE / 10).await;
                match store.store.head(&path).await {
                    Err(object_store::Error::NotFound { .. }) => break true,
                    Err(e) => return Err(format!("cannot read the sync lock {LOCK}: {e}")),
                    Ok(meta) if meta.e_tag != seen.0.e_tag => {
                        return Err(format!(
                            "another `loopql sync` is running on this warehouse ({}); wait for it to finish",
                            describe(&seen.1)
                        ));
                    }
                    Ok(_) if watched.elapsed() >= LEASE => break false,
                    Ok(_) => {}
                }
            };
            if released {
                continue;
            }
            // Unrenewed for a whole lease: a killed sync's. Taken over only if still unchanged.
            let taken = store
                .store
                .put_opts(
                    &path,
                    body(&holder, 0),
                    PutOptions::from(PutMode::Update(seen.0.clone())),
                )
                .await;
            return match taken {
                Ok(r) => Ok(Self::Lease(Lease::start(store, holder, version(r)))),
                Err(object_store::Error::Precondition { .. }) => Err(
                    "another `loopql sync` took over this warehouse's lock first; wait for it to finish"
                        .into(),
                ),
                Err(e) => Err(format!("cannot take over the sync lock {LOCK}: {e}")),
            };
        }
    }

    /// Fails when the lease was lost (not renewed for a whole lease): another sync may hold
    /// the warehouse now, so this one must not commit.
    pub fn check(&self) -> std::result::Result<(), String> {
        match self {
            Self::Lease(lease) if lease.lost.load(Ordering::SeqCst) => Err(format!(
                "this sync lost its lock on the warehouse (not renewed for {} s: the object store \
                 did not answer); nothing was committed",
                LEASE.as_secs()
            )),
            _ => Ok(()),
        }
    }

    /// Gives the lock back (a lease is deleted when it is still this sync's; a local lock is
    /// released when its file closes).
    pub async fn release(self) {
        if let Self::Lease(lease) = self {
            lease.stop.notify_one();
            let _ = lease.renewing.await;
            let path = lease.store.path(LOCK);
            let ours = lease.version.lock().map(|v| v.e_tag.clone()).ok();
            let current = lease.store.store.head(&path).await.ok().map(|m| m.e_tag);
            if !lease.lost.load(Ordering::SeqCst) && ours.is_some() && current == ours {
                let _ = lease.store.store.delete(&path).await;
            }
        }
    }
}

impl Lease {
    fn start(store: &Store, holder: String, version: UpdateVersion) -> Self {
        let version = Arc::new(Mutex::new(version));
        let lost = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(tokio::sync::Notify::new());
        let renewing = tokio::spawn(renew(
            store.clone(),
            holder,
            version.clone(),
            lost.clone(),
            stop.clone(),
        ));
        Self {
            store: store.clone(),
            version,
            lost,
            stop,
            renewing,
        }
    }
}

/// Rewrites the lease every quarter lease until told to stop, or until it is lost: another
/// sync replaced it, or no rewrite succeeded for a whole lease.
async fn renew(
    store: Store,
    holder: String,
    version: Arc<Mutex<UpdateVersion>>,
    lost: Arc<AtomicBool>,
    stop: Arc<tokio::sync::Notify>,
) {
    let path = store.path(LOCK);
    let mut renewed = Instant::now();
    for n in 1.. {
        tokio::select! {
            _ = tokio::time::sleep(LEASE / 4) => {}
            _ = stop.notified() => return,
        }
        let Ok(expected) = version.lock().map(|v| v.clone()) else {
            break;
        };
        let put = store
            .store
            .put_opts(
                &path,
                body(&holder, n),
                PutOptions::from(PutMode::Update(expected)),
            )
            .await;
        match put {
            Ok(r) => {
                renewed = Instant::now();
                if let Ok(mut v) = version.lock() {
                    *v = self::version(r);
                }
            }
            Err(object_store::Error::Precondition { .. }) => break,
            Err(_) if renewed.elapsed() >= LEASE => break,
            Err(_) => {}
        }
    }
    lost.store(true, Ordering::SeqCst);
}

fn version(r: object_store::PutResult) -> UpdateVersion {
    UpdateVersion {
        e_tag: r.e_tag,
        version: r.version,
    }
}

/// Who holds the lock, for the message another sync prints.
fn holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this machine".into());
    format!(
        "{{\"host\": {:?}, \"pid\": {}, \"since\": {:?}",
        host,
        std::process::id(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// The lock's content: the holder and a renewal count (each rewrite differs, so its ETag
/// changes whatever the store's ETag is made of).
fn body(holder: &str, renewal: u64) -> PutPayload {
    PutPayload::from(format!("{holder}, \"renewal\": {renewal}}}\n"))
}

/// "process 123 on host h, since t" from a lock's content.
fn describe(text: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    match (v["pid"].as_u64(), v["host"].as_str(), v["since"].as_str()) {
        (Some(pid), Some(host), Some(since)) => {
            format!("process {pid} on {host}, since {since}")
        }
        _ => "its lock is held".into(),
    }
}
