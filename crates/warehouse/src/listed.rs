//! A snapshot's files as its manifest records them, handed to DataFusion's list-files cache when
//! the tables are registered, so that no query lists a table's folder.
//!
//! DataFusion's `ListingTable` lists the table's folder to find its files; with a list-files
//! cache (the default, 1 MiB) a miss lists the *whole* table — every client's partitions —
//! even for a query that prunes to one client, and a 50-client warehouse's tables outgrow the
//! cache, so each query listed tens of thousands of files again (on S3, as many LIST pages).
//! A snapshot never changes once committed and its manifest names every file with its size,
//! so the list is known: each table's entry is put in the cache here, and the cache's limit is
//! raised to hold them. Files in the folder that the manifest does not name are not read.
//!
//! Planning also wants each file's statistics (row counts for join order), which DataFusion
//! reads from the file's Parquet footer — one read per file per query, tens of thousands at
//! fifty clients, since the footers outgrow the metadata cache. The manifest has each file's
//! row count, so each file's statistics are put in the file-statistics cache here too: the
//! exact row count, the in-memory size of fixed-width columns, and no column minimum / maximum
//! (the reader still prunes row groups by the footer's statistics once it opens a file).

use super::manifest::TableEntry;
use chrono::DateTime;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, Statistics};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::cache::cache_manager::{CachedFileList, CachedFileMetadata};
use datafusion::execution::cache::{CacheKey, CacheValue, SchemaFingerprint, TableScopedPath};
use datafusion::prelude::SessionContext;
use object_store::ObjectMeta;
use object_store::path::{Path, PathPart};
use std::collections::HashMap;
use std::sync::Arc;

/// A registered table: its folder, its manifest entry, and the schema of its files (without
/// the partition columns), as its `ListingTable` was given it.
pub struct Listed<'a> {
    pub url: ListingTableUrl,
    pub table: &'a TableEntry,
    pub file_schema: SchemaRef,
}

/// The objects of `table`, whose folder is `url`, as a store's listing would return them.
pub fn objects(url: &ListingTableUrl, table: &TableEntry) -> Vec<ObjectMeta> {
    let folder = format!("{}/", table.dir);
    table
        .files
        .iter()
        .map(|file| {
            let inside = file.path.strip_prefix(&folder).unwrap_or(&file.path);
            ObjectMeta {
                location: url
                    .prefix()
                    .parts()
                    .chain(inside.split('/').map(PathPart::from))
                    .collect::<Path>(),
                // A snapshot's files are written once: their path and size name them.
                last_modified: DateTime::UNIX_EPOCH,
                size: file.bytes,
                e_tag: None,
                version: None,
            }
        })
        .collect()
}

/// A file's statistics as the manifest knows them: `rows` exactly, the in-memory size of the
/// fixed-width columns, the file's size standing in for the others' (an estimate, as
/// DataFusion's own is), and nothing per column beyond that.
pub fn statistics(file_schema: &SchemaRef, rows: u64, bytes: u64) -> Statistics {
    let rows = usize::try_from(rows).unwrap_or(usize::MAX);
    let mut fixed = 0usize;
    let column_statistics = file_schema
        .fields()
        .iter()
        .map(|field| match field.data_type().primitive_width() {
            Some(width) => {
                fixed = fixed.saturating_add(width.saturating_mul(rows));
                ColumnStatistics::new_unknown().with_byte_size(Precision::Exact(width * rows))
            }
            None => ColumnStatistics::new_unknown(),
        })
        .collect();
    Statistics {
        num_rows: Precision::Exact(rows),
        total_byte_size: Precision::Inexact(
            fixed.saturating_add(usize::try_from(bytes).unwrap_or(usize::MAX)),
        ),
        column_statistics,
    }
}

/// Puts the listings of `tables` in `ctx`'s list-files cache and their files' statistics in
/// its file-statistics cache, raising both limits so that everything fits with room for the
/// previous snapshot's.
pub fn remember(ctx: &SessionContext, tables: &[Listed<'_>]) {
    let caches = &ctx.runtime_env().cache_manager;
    // Each table's objects, built once for both caches (their paths are most of the work).
    let listed: Vec<Vec<ObjectMeta>> = tables.iter().map(|t| objects(&t.url, t.table)).collect();
    if let Some(cache) = caches.get_list_files_cache() {
        let listings: Vec<(TableScopedPath, CachedFileList)> = tables
            .iter()
            .zip(&listed)
            .map(|(t, objects)| {
                let key = TableScopedPath {
                    table: t.url.get_table_ref().clone(),
                    path: t.url.prefix().clone(),
                };
                (key, CachedFileList::new(objects.clone()))
            })
            .collect();
        put_all(cache.as_ref(), listings);
    }
    if let Some(cache) = caches.get_file_statistic_cache() {
        let mut entries = Vec::new();
        for (t, objects) in tables.iter().zip(listed) {
            let fingerprint = Arc::new(SchemaFingerprint::from_schema(&t.file_schema));
            // Files with as many rows and bytes share one `Statistics`.
            let mut shared: HashMap<(u64, u64), Arc<Statistics>> = HashMap::new();
            for (meta, file) in objects.into_iter().zip(&t.table.files) {
                let stats = shared
                    .entry((file.rows, file.bytes))
                    .or_insert_with(|| Arc::new(statistics(&t.file_schema, file.rows, file.bytes)))
                    .clone();
                let key = TableScopedPath {
                    table: t.url.get_table_ref().clone(),
                    path: meta.location.clone(),
                };
                let value = CachedFileMetadata::new(meta, fingerprint.clone(), stats, None);
                entries.push((key, value));
            }
        }
        put_all(cache.as_ref(), entries);
    }
}

/// Puts `entries` in `cache`, first raising its limit to twice their size if it is lower.
fn put_all<V: CacheValue>(
    cache: &dyn datafusion::execution::cache::Cache<TableScopedPath, V>,
    entries: Vec<(TableScopedPath, V)>,
) {
    let bytes: usize = entries
        .iter()
        .map(|(key, value)| CacheKey::size(key) + CacheValue::size(value))
        .sum();
    if cache.cache_limit() < 2 * bytes {
        cache.update_cache_limit(2 * bytes);
    }
    for (key, value) in entries {
        cache.put(&key, value);
    }
}
