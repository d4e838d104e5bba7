//! A snapshot's tables are registered with their files as the manifest names them: the
//! list-files cache holds each table's listing (equal to what listing its folder returns), and
//! a query reads the manifest's files only — a file dropped into a table's folder afterwards is
//! not read, which it would be if the query listed the folder. Each file's statistics (its row
//! count) come from the manifest too, so planning a query reads no Parquet footer.

use datafusion::common::stats::Precision;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::cache::TableScopedPath;
use datafusion::physical_plan::{ExecutionPlan, StatisticsArgs, StatisticsContext};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use loopql_core::engine::{CATALOG, DEFAULT_SCHEMA};
use loopql_warehouse::register::{Which, register};
use loopql_warehouse::{Warehouse, listed};
use std::sync::Arc;

/// A bare session with the engine's catalog, over nothing but the registered tables.
pub(super) fn session() -> SessionContext {
    SessionContext::new_with_config(
        datafusion::prelude::SessionConfig::new()
            .with_default_catalog_and_schema(CATALOG, DEFAULT_SCHEMA),
    )
}

/// `sql`'s result as a printed table.
pub(super) async fn count(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
}

/// A synced demo's current snapshot, registered in a bare session.
struct Registered {
    _dir: tempfile::TempDir,
    project: loopql_core::Project,
    warehouse: Warehouse,
    id: u64,
    manifest: loopql_warehouse::manifest::Manifest,
    clients: Vec<String>,
    ctx: SessionContext,
}

async fn registered(seed: u64) -> Registered {
    let (_dir, project) = super::synced_demo(seed, 0.05).await;
    let warehouse = Warehouse::open(&project.warehouse).unwrap();
    let id = warehouse.current_id().await.unwrap().unwrap();
    let manifest = warehouse.manifest(id).await.unwrap();
    let clients: Vec<String> = project.clients.iter().map(|c| c.id.clone()).collect();
    let ctx = session();
    register(&ctx, &warehouse, id, &manifest.tables, &clients, Which::All)
        .await
        .unwrap();
    Registered {
        _dir,
        project,
        warehouse,
        id,
        manifest,
        clients,
        ctx,
    }
}

#[tokio::test]
async fn queries_read_the_files_the_manifest_names_without_listing_folders() {
    let Registered {
        _dir,
        project,
        warehouse,
        id,
        manifest,
        clients,
        ctx,
    } = registered(3).await;
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

/// The file scan under `plan` (the view puts projections and a client filter above it).
fn scan_of(plan: &Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
    if plan.name() == "DataSourceExec" {
        return plan.clone();
    }
    match plan.children().as_slice() {
        [child] => scan_of(child),
        other => panic!("{}: {} children", plan.name(), other.len()),
    }
}

#[tokio::test]
async fn planning_takes_row_counts_from_the_manifest_and_reads_no_footer() {
    let Registered {
        _dir,
        warehouse,
        id,
        manifest,
        ctx,
        ..
    } = registered(4).await;
    let caches = &ctx.runtime_env().cache_manager;
    let statistics = caches.get_file_statistic_cache().unwrap();
    let footers = caches.get_file_metadata_cache();

    // Every file's row count is in the statistics cache, as the manifest has it.
    let mut files = 0;
    for table in manifest.tables.values() {
        let folder = format!("{}/{}", Warehouse::snapshot_dir(id), table.dir);
        let url = ListingTableUrl::parse(warehouse.store().folder_url(&folder)).unwrap();
        for (meta, file) in listed::objects(&url, table).into_iter().zip(&table.files) {
            let key = TableScopedPath {
                table: None,
                path: meta.location.clone(),
            };
            let cached = statistics
                .get(&key)
                .unwrap_or_else(|| panic!("{}: no statistics cached", file.path));
            assert_eq!(
                cached.statistics.num_rows,
                Precision::Exact(file.rows as usize),
                "{}",
                file.path
            );
            files += 1;
        }
    }
    assert!(files > 100, "a demo has many files ({files})");

    // Planning a scan of every client's ad_performance and sessions: the plan knows the exact
    // row counts, and no footer was read to learn them (DataFusion caches each footer it reads).
    for table in ["ad_performance", "sessions"] {
        let rows: u64 = manifest.tables[table].files.iter().map(|f| f.rows).sum();
        let plan = ctx
            .sql(&format!("SELECT * FROM {table}"))
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let scan = scan_of(&plan);
        let statistics = StatisticsContext::new()
            .compute(scan.as_ref(), &StatisticsArgs::new())
            .unwrap();
        assert_eq!(
            statistics.num_rows,
            Precision::Exact(rows as usize),
            "{table}: the manifest's rows"
        );
    }
    assert_eq!(footers.len(), 0, "planning read no Parquet footer");

    // Running a query reads them (so the check above would see one), and counts the rows the
    // manifest says.
    let n = count(
        &ctx,
        "SELECT count(*) AS n, count(clicks) AS c FROM ad_performance",
    )
    .await;
    let rows: u64 = manifest.tables["ad_performance"]
        .files
        .iter()
        .map(|f| f.rows)
        .sum();
    assert!(n.contains(&format!("| {rows} | {rows} |")), "{n} vs {rows}");
    assert!(!footers.is_empty(), "running the query read the footers");
}
