//! A source that fails alone: the raw phase's state before a connector × client read
//! ([`Sync::checkpoint`]), and what a failed read leaves ([`Sync::source_failed`]): nothing it
//! wrote (its files deleted — a table's folder is read whole, so a forgotten file would still be
//! read), its client's previous partitions of the connector's tables, and a record of why.

use super::phases::Sync;
use super::{now, table_schema};
use crate::manifest::{SourceFailure, SourceSync, TableEntry};
use loopql_core::Engine;
use loopql_core::error::Result;
use std::collections::{BTreeMap, BTreeSet};

/// Where the raw phase stood before one connector × client read (see [`Sync::checkpoint`]).
pub(super) struct Checkpoint {
    /// The connector's tables.
    keys: Vec<String>,
    /// Files of each table of the new snapshot so far.
    files: BTreeMap<String, usize>,
    written: u64,
    kept: u64,
    dropped: u64,
    bytes: u64,
    rows_read: u64,
    changes: usize,
    source_runs: usize,
}

/// Whether a sync must stop for `error` rather than carry on without one source: the warehouse
/// itself failing, or the sync's memory limit (the hint to raise it must reach the user).
pub(super) fn fatal(error: &loopql_core::EngineError) -> bool {
    matches!(error, loopql_core::EngineError::Warehouse { .. }) || crate::memory::exhausted(error)
}

impl Sync<'_> {
    /// Where the raw phase stood before a connector's tables for one client were read.
    pub(super) fn checkpoint(&self, live: &Engine, connector: &str) -> Checkpoint {
        let keys = live
            .plugins()
            .get(connector)
            .map(|l| {
                l.manifest()
                    .tables
                    .iter()
                    .map(|t| format!("{connector}.{}", t.name))
                    .collect()
            })
            .unwrap_or_default();
        let files = self
            .tables
            .iter()
            .map(|(k, t)| (k.clone(), t.files.len()))
            .collect();
        Checkpoint {
            keys,
            files,
            written: self.run.written,
            kept: self.run.kept,
            dropped: self.run.dropped,
            bytes: self.run.bytes,
            rows_read: self.run.rows_read,
            changes: self.run.changes.len(),
            source_runs: self.source_runs.len(),
        }
    }

    /// A source that could not be read (its platform down, a refused token, a bad export): what
    /// its read wrote is forgotten, its client keeps the previous snapshot's partitions of the
    /// connector's tables, and its record says why and when — the rest of the sync goes on.
    pub(super) async fn source_failed(
        &mut self,
        live: &Engine,
        connector: &str,
        client: &str,
        chosen: &BTreeSet<String>,
        before: Checkpoint,
        error: loopql_core::EngineError,
    ) -> Result<()> {
        let reason = error.to_string();
        tracing::warn!(connector, client, %reason, "a source failed; it keeps its previous data");
        self.run.written = before.written;
        self.run.kept = before.kept;
        self.run.dropped = before.dropped;
        self.run.bytes = before.bytes;
        self.run.rows_read = before.rows_read;
        self.run.changes.truncate(before.changes);
        self.source_runs.truncate(before.source_runs);
        for key in &before.keys {
            // What the failed read wrote goes, files too: a table's folder is read whole.
            let written = match before.files.get(key) {
                Some(&n) => self
                    .tables
                    .get_mut(key)
                    .map(|entry| entry.files.split_off(n.min(entry.files.len())))
                    .unwrap_or_default(),
                None => self
                    .tables
                    .remove(key)
                    .map(|entry| entry.files)
                    .unwrap_or_default(),
            };
            self.run.remove(&written).await?;
            let Some(old_entry) = self.old.and_then(|m| m.tables.get(key)) else {
                continue;
            };
            let schema = table_schema(live, key).await.ok();
            if schema.as_ref() != Some(&old_entry.schema) {
                // The connector's table changed shape: the old partitions cannot join it.
                continue;
            }
            let entry = self
                .tables
                .entry(key.clone())
                .or_insert_with(|| TableEntry {
                    files: Vec::new(),
                    ..old_entry.clone()
                });
            self.run.carry(entry, Some(old_entry), client, None).await?;
        }
        let mut line = self.lines.line(&format!("{connector} ({client})"));
        line.finish(&format!("FAILED, previous data kept: {reason}"));
        let at = now();
        for s in self.project.sources.iter().filter(|s| {
            s.connector == connector && s.client_id == client && chosen.contains(&s.name)
        }) {
            let last = self
                .old
                .and_then(|m| m.sources.iter().find(|r| r.source == s.name));
            self.source_runs.push(SourceSync {
                failure: Some(SourceFailure {
                    at: at.clone(),
                    reason: reason.clone(),
                }),
                ..last.cloned().unwrap_or_else(|| SourceSync {
                    source: s.name.clone(),
                    connector: connector.to_string(),
                    client_id: client.to_string(),
                    synced_at: "never".into(),
                    since: None,
                    rows_read: 0,
                    partitions_changed: 0,
                    failure: None,
                })
            });
        }
        Ok(())
    }
}
