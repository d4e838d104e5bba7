//! A snapshot's tables are registered with their files as the manifest names them: the
//! list-files cache holds each table's listing (equal to what listing its folder returns), and
//! a query reads the manifest's files only — a file dropped into a table's folder afterwards is
//! not read, which it would be if the query listed the folder.

use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::cache::TableScopedPath;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use loopql_core::engine::{CATALOG, DEFAULT_SCHEMA};
use loopql_warehouse::register::{Which, register};
use loopql_warehouse::{Warehouse, listed};

/// A bare session with the engine's catalog, over nothing but the registered tables.
fn session() -> SessionContext {
    SessionContext::new_with_config(
        datafusion::prelude::SessionConfig::new()
            .with_default_catalog_and_schema(CATALOG, DEFAULT_SCHEMA),
    )
}

async fn count(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn queries_read_the_files_the_manifest_names_without_listing_folders() {
    let (_dir, project) = super::synced_demo(3, 0.05).await;
    let warehouse = Warehouse::open(&project.warehouse).unwrap();
    let id = warehouse.current_id().await.unwrap().unwrap();
    let manifest = warehouse.manifest(id).await.unwrap();
    let clients: Vec<String> = project.clients.iter().map(|c| c.id.clone()).collect();

    let ctx = session();
    register(&ctx, &warehouse, id, &manifest.tables, &clients, Which::All)
        .await
        .unwrap();
    let cache = ctx
        .runtime_env()
        .cache_manager
        .get_list_files_cache()
        .unwrap();
    let mut checked = 0;
    for table in manifest.tables.values().filter(|t| !t.files.is_empty()) {
        let folder = format!("{}/{}", Warehouse::snapshot_dir(id), table.dir);
        let url = ListingTableUrl::parse(warehouse.store().folder_url(&folder)).unwrap();
        let mut ours: Vec<(String, u64)> = listed::objects(&url, table)
            .into_iter()
            .map(|o| (o.location.to_string(), o.size))
            .collect();
        let store = ctx.runtime_env().object_store(&url).unwrap();
        let mut listing: Vec<(String, u64)> = store
            .list(Some(url.prefix()))
            .map_ok(|o| (o.location.to_string(), o.size))
            .try_collect()
            .await
            .unwrap();
        ours.sort();
        listing.sort();
        assert_eq!(
            ours, listing,
            "{}: the manifest's files are the folder's",
            table.dir
        );
        let key = TableScopedPath {
            table: None,
            path: url.prefix().clone(),
        };
        let cached = cache.get(&key).unwrap_or_else(|| {
            panic!(
                "{}: not in the cache ({} entries, limit {}, {key:?})",
                table.dir,
                cache.len(),
                cache.cache_limit()
            )
        });
        assert_eq!(cached.files.len(), table.files.len(), "{}", table.dir);
        checked += 1;
    }
    assert!(checked >= 10, "every stored table checked ({checked})");

    // A file the manifest does not name, dropped into acme's first ad_performance partition:
    // the same rows as before, since nothing lists the folder.
    let sql =
        "SELECT count(*) AS n, sum(clicks) AS clicks FROM ad_performance WHERE client_id = 'acme'";
    let before = count(&ctx, sql).await;
    let first = &manifest.tables["ad_performance"].files[0];
    assert_eq!(first.client_id.as_deref(), Some("acme"));
    let Some(root) = project.warehouse.local_dir() else {
        panic!("the demo's warehouse is a local folder");
    };
    let original = root.join(Warehouse::snapshot_dir(id)).join(&first.path);
    std::fs::copy(&original, original.with_file_name("part-999999.parquet")).unwrap();
    let fresh = session();
    register(
        &fresh,
        &warehouse,
        id,
        &manifest.tables,
        &clients,
        Which::All,
    )
    .await
    .unwrap();
    assert_eq!(
        count(&fresh, sql).await,
        before,
        "the stray file is not read"
    );
    assert!(before.contains("| n "), "{before}");
}
