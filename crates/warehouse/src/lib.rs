//! loopql-warehouse: the Parquet warehouse `loopql sync` fills (a folder or an S3-compatible
//! store), and the read modes over it that queries use once it exists.
//!
//! Layout, under the warehouse root:
//! ```text
//! CURRENT                                  the current snapshot's number (replaced atomically)
//! snapshots/000042/_manifest.json          files, rows, checksums, schemas, source syncs
//! snapshots/000042/ad_performance/client_id=acme/date=2026-01-31/part-000041.parquet
//! snapshots/000042/raw/google_ads/campaign_stats/client_id=acme/date=.../part-000042.parquet
//! snapshots/000042/reference/fx_rates/part-000040.parquet
//! ```
//! A sync writes a whole new snapshot folder: partitions it re-read and found changed are new
//! files; everything else is linked (`object_store`'s copy: a hard link on local disks, a
//! server-side copy on S3) from the previous snapshot, so files are never modified in place.
//! The snapshot becomes visible only when `CURRENT` names it, which is one atomic write after
//! its manifest; a sync killed at any moment leaves `CURRENT` on the old or the new snapshot, and
//! the next sync deletes what the killed one left behind.

mod changes;
pub mod listed;
mod lock;
pub mod manifest;
pub mod memory;
pub mod partition;
pub mod progress;
pub mod register;
pub mod schedule;
mod snapshot_writer;
pub mod source;
pub mod status;
pub mod store;
pub mod sync;

use futures::TryStreamExt;
use loopql_core::error::{self, EngineError, Result};
use loopql_core::project::{self, Location};
use manifest::Manifest;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use store::Store;

pub use lock::{LEASE, SyncLock};
pub use source::Auto;
pub use sync::{SyncOptions, SyncSummary, sync};

/// File naming the current snapshot.
pub const CURRENT: &str = "CURRENT";
/// Folder of the snapshots.
const SNAPSHOTS: &str = "snapshots";
/// A snapshot's manifest file.
const MANIFEST: &str = "_manifest.json";
/// The Hive name of a partition whose day is NULL.
pub const NULL_DAY: &str = "__HIVE_DEFAULT_PARTITION__";
/// Schema of the session holding the warehouse's listing tables (hidden from scoped sessions).
pub const SCHEMA: &str = "_warehouse";

/// An opened warehouse.
#[derive(Debug, Clone)]
pub struct Warehouse {
    location: Location,
    store: Store,
}

impl Warehouse {
    pub fn open(location: &Location) -> Result<Self> {
        Ok(Self {
            location: location.clone(),
            store: Store::open(location)?,
        })
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn fail(&self, message: impl Into<String>) -> EngineError {
        EngineError::Warehouse {
            location: self.location.display(),
            message: message.into(),
        }
    }

    /// Folder of a snapshot, relative to the root.
    pub fn snapshot_dir(snapshot: u64) -> String {
        format!("{SNAPSHOTS}/{snapshot:06}")
    }

    /// The current snapshot's number, if a sync ever completed.
    pub async fn current_id(&self) -> Result<Option<u64>> {
        match self.store.store.get(&self.store.path(CURRENT)).await {
            Ok(got) => {
                let bytes = got.bytes().await.map_err(|e| self.fail(e.to_string()))?;
                let text = String::from_utf8_lossy(&bytes);
                text.trim().parse::<u64>().map(Some).map_err(|_| {
                    self.fail(format!(
                        "{CURRENT} holds `{}`, not a snapshot number; restore it or run `loopql sync --full`",
                        text.trim()
                    ))
                })
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail(format!("cannot read {CURRENT}: {e}"))),
        }
    }

    /// The current snapshot's manifest, if a sync ever completed.
    pub async fn current(&self) -> Result<Option<Manifest>> {
        match self.current_id().await? {
            None => Ok(None),
            Some(id) => self.manifest(id).await.map(Some),
        }
    }

    /// A snapshot's manifest.
    pub async fn manifest(&self, snapshot: u64) -> Result<Manifest> {
        let path = format!("{}/{MANIFEST}", Self::snapshot_dir(snapshot));
        let got = self
            .store
            .store
            .get(&self.store.path(&path))
            .await
            .map_err(|e| self.fail(format!("cannot read {path}: {e}")))?;
        let bytes = got.bytes().await.map_err(|e| self.fail(e.to_string()))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| self.fail(format!("{path}: not a loopql manifest ({e})")))?;
        if manifest.format != manifest::FORMAT {
            return Err(self.fail(format!(
                "{path}: manifest format {} (this loopql reads {}); run `loopql sync --full`",
                manifest.format,
                manifest::FORMAT
            )));
        }
        Ok(manifest)
    }

    /// Writes one file (the store writes to a temporary name and renames into place).
    pub async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .store
            .put(&self.store.path(relative), PutPayload::from(bytes))
            .await
            .map_err(|e| self.fail(format!("cannot write {relative}: {e}")))?;
        Ok(())
    }

    /// Deletes one file (already gone: fine).
    pub async fn remove_file(&self, relative: &str) -> Result<()> {
        match self.store.store.delete(&self.store.path(relative)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(format!("cannot delete {relative}: {e}"))),
        }
    }

    /// Links (or copies) a file from one relative path to another.
    pub async fn link(&self, from: &str, to: &str) -> Result<()> {
        self.store
            .store
            .copy(&self.store.path(from), &self.store.path(to))
            .await
            .map_err(|e| self.fail(format!("cannot link {from} to {to}: {e}")))
    }

    /// Makes a written snapshot current: its manifest first, then `CURRENT` — on an object
    /// store only if `CURRENT` is still the version the sync started from (`If-Match`, or
    /// `If-None-Match` for a first snapshot), so a commit never replaces another's.
    pub async fn commit(&self, manifest: &Manifest, base: &Base) -> Result<()> {
        let dir = Self::snapshot_dir(manifest.snapshot);
        let text = serde_json::to_vec_pretty(manifest).map_err(|e| self.fail(e.to_string()))?;
        self.put(&format!("{dir}/{MANIFEST}"), text).await?;
        let current = format!("{}\n", manifest.snapshot).into_bytes();
        let mode = match base {
            Base::Unchecked => return self.put(CURRENT, current).await,
            Base::Absent => PutMode::Create,
            Base::Version(v) => PutMode::Update(v.clone()),
        };
        match self
            .store
            .store
            .put_opts(
                &self.store.path(CURRENT),
                PutPayload::from(current),
                PutOptions::from(mode),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Err(self.fail(format!(
                "{CURRENT} changed while this sync ran (another sync committed): snapshot {} \
                     was not made current; run `loopql sync` again",
                manifest.snapshot
            ))),
            Err(e) => Err(self.fail(format!("cannot write {CURRENT}: {e}"))),
        }
    }

    /// Snapshot numbers that have a folder.
    async fn snapshot_ids(&self) -> Result<Vec<u64>> {
        let listed = self
            .store
            .store
            .list_with_delimiter(Some(&self.store.path(SNAPSHOTS)))
            .await
            .map_err(|e| self.fail(format!("cannot list {SNAPSHOTS}: {e}")))?;
        let mut ids: Vec<u64> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().and_then(|n| n.parse().ok()))
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Deletes every snapshot folder but `keep`'s.
    pub async fn remove_snapshots_except(&self, keep: &[u64]) -> Result<()> {
        for id in self.snapshot_ids().await? {
            if keep.contains(&id) {
                continue;
            }
            self.remove_dir(&Self::snapshot_dir(id)).await?;
        }
        Ok(())
    }

    /// The number a new snapshot gets: above every folder, committed or left by a killed sync.
    pub async fn next_id(&self) -> Result<u64> {
        let highest = self.snapshot_ids().await?.last().copied().unwrap_or(0);
        let current = self.current_id().await?.unwrap_or(0);
        Ok(highest.max(current) + 1)
    }

    /// Deletes everything under a folder.
    pub async fn remove_dir(&self, relative: &str) -> Result<()> {
        let prefix = self.store.path(relative);
        let paths = self.store.store.list(Some(&prefix)).map_ok(|m| m.location);
        let paths: Vec<_> = paths
            .try_collect()
            .await
            .map_err(|e| self.fail(format!("cannot list {relative}: {e}")))?;
        for p in paths {
            match self.store.store.delete(&p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.fail(format!("cannot delete {p}: {e}"))),
            }
        }
        if let Some(dir) = self.location.local_dir() {
            // Local stores leave empty folders behind.
            let _ = std::fs::remove_dir_all(dir.join(relative));
        }
        Ok(())
    }

    /// Takes the warehouse's sync lock ([`lock`]: a kernel lock on a local folder, a lease
    /// on an object store).
    pub async fn lock(&self) -> Result<SyncLock> {
        match self.location.local_dir() {
            Some(dir) => SyncLock::local(&dir.join(lock::LOCK)),
            None => SyncLock::lease(&self.store).await,
        }
        .map_err(|e| self.fail(e))
    }

    /// The version of `CURRENT` a sync starts from, so that its commit replaces that version
    /// only (object stores; a local folder relies on the kernel lock alone).
    pub async fn current_version(&self) -> Result<Base> {
        if self.location.local_dir().is_some() {
            return Ok(Base::Unchecked);
        }
        match self.store.store.head(&self.store.path(CURRENT)).await {
            Ok(meta) => Ok(Base::Version(UpdateVersion {
                e_tag: meta.e_tag,
                version: meta.version,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(Base::Absent),
            Err(e) => Err(self.fail(format!("cannot read {CURRENT}: {e}"))),
        }
    }
}

/// What a commit expects `CURRENT` to be.
#[derive(Debug, Clone)]
pub enum Base {
    /// Not checked (a local warehouse: its lock is the kernel's).
    Unchecked,
    /// No snapshot was ever committed.
    Absent,
    /// This version of it.
    Version(UpdateVersion),
}
