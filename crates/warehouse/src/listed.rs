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

use super::manifest::TableEntry;
use chrono::DateTime;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::cache::cache_manager::CachedFileList;
use datafusion::execution::cache::{CacheKey, CacheValue, TableScopedPath};
use datafusion::prelude::SessionContext;
use object_store::ObjectMeta;
use object_store::path::{Path, PathPart};

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

/// Puts the listings of `tables` (each table's folder and the table) in `ctx`'s list-files
/// cache, raising its limit so that they all fit with room for the previous snapshot's.
pub fn remember(ctx: &SessionContext, tables: &[(ListingTableUrl, &TableEntry)]) {
    let Some(cache) = ctx.runtime_env().cache_manager.get_list_files_cache() else {
        return;
    };
    let listings: Vec<(TableScopedPath, CachedFileList)> = tables
        .iter()
        .map(|(url, table)| {
            let key = TableScopedPath {
                table: url.get_table_ref().clone(),
                path: url.prefix().clone(),
            };
            (key, CachedFileList::new(objects(url, table)))
        })
        .collect();
    let bytes: usize = listings
        .iter()
        .map(|(key, files)| CacheKey::size(key) + CacheValue::size(files))
        .sum();
    if cache.cache_limit() < 2 * bytes {
        cache.update_cache_limit(2 * bytes);
    }
    for (key, files) in listings {
        cache.put(&key, files);
    }
}
