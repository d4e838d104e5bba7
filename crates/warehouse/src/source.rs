//! The warehouse as a read mode ([`TableSource`]): what `loopql query`, the shell, reports and
//! the server read by default ([`Auto`]: the current snapshot when a sync ever completed, else
//! the connectors), the raw tables a sync computes the harmonized ones from ([`RawTables`]),
//! and a sync's new raw and harmonized tables it computes the materialized derived ones from
//! ([`NewTables`]).

use super::manifest::{Manifest, TableEntry};
use super::register::{self, Which};
use super::{CURRENT, Warehouse};
use async_trait::async_trait;
use datafusion::prelude::SessionContext;
use loopql_core::Project;
use loopql_core::engine::{Harmonized, Live, Registered, TableSource};
use loopql_core::error::{EngineError, Result};
use std::collections::BTreeMap;

/// The project's warehouse and its current manifest, or `None` before the first sync (a local
/// warehouse folder is not created just to find that out).
pub async fn current(project: &Project) -> Result<Option<(Warehouse, Manifest)>> {
    if let Some(dir) = project.warehouse.local_dir()
        && !dir.join(CURRENT).exists()
    {
        return Ok(None);
    }
    let warehouse = Warehouse::open(&project.warehouse)?;
    Ok(warehouse.current().await?.map(|m| (warehouse, m)))
}

/// Registers `tables` of snapshot `snapshot` (`which` of them) for the project's clients.
async fn register_tables(
    ctx: &SessionContext,
    project: &Project,
    warehouse: &Warehouse,
    snapshot: u64,
    tables: &BTreeMap<String, TableEntry>,
    which: Which,
) -> Result<()> {
    let clients: Vec<String> = project.clients.iter().map(|c| c.id.clone()).collect();
    register::register(ctx, warehouse, snapshot, tables, &clients, which).await
}

/// Registers `manifest`'s tables (`which` of them) for the project's clients.
pub async fn register_snapshot(
    ctx: &SessionContext,
    project: &Project,
    warehouse: &Warehouse,
    manifest: &Manifest,
    which: Which,
) -> Result<Registered> {
    register_tables(
        ctx,
        project,
        warehouse,
        manifest.snapshot,
        &manifest.tables,
        which,
    )
    .await?;
    Ok(Registered {
        harmonized: Harmonized::Tables(manifest.tables.keys().cloned().collect()),
        reference_tables: which == Which::All,
        snapshot: Some(manifest.snapshot),
        plugins: None,
    })
}

/// The current snapshot when there is one, else the connectors: what queries read unless told.
#[derive(Debug, Default)]
pub struct Auto;

#[async_trait]
impl TableSource for Auto {
    async fn register(&self, ctx: &SessionContext, project: &Project) -> Result<Registered> {
        match current(project).await? {
            Some((warehouse, manifest)) => {
                register_snapshot(ctx, project, &warehouse, &manifest, Which::Data).await
            }
            None => Live::default().register(ctx, project).await,
        }
    }
}

/// The error for a warehouse without a snapshot.
pub fn no_snapshot(project: &Project) -> EngineError {
    EngineError::Mode(format!(
        "{} has no snapshot yet; run `loopql sync` first",
        project.warehouse.display()
    ))
}

/// A sync's new raw tables (snapshot `id`, not committed yet), with the harmonized views over
/// them from the connectors' mappings: what the sync computes the harmonized tables from.
#[derive(Debug)]
pub struct RawTables {
    pub warehouse: Warehouse,
    pub snapshot: u64,
    pub tables: BTreeMap<String, TableEntry>,
    pub mappings: Vec<(String, String)>,
}

#[async_trait]
impl TableSource for RawTables {
    async fn register(&self, ctx: &SessionContext, project: &Project) -> Result<Registered> {
        register_tables(
            ctx,
            project,
            &self.warehouse,
            self.snapshot,
            &self.tables,
            Which::Raw,
        )
        .await?;
        Ok(Registered {
            harmonized: Harmonized::Mappings(self.mappings.clone()),
            reference_tables: false,
            snapshot: None,
            plugins: None,
        })
    }
}

/// A sync's new raw and harmonized tables (snapshot `id`, not committed yet): what it computes
/// the materialized derived tables (`views::MATERIALIZED`) from.
#[derive(Debug)]
pub struct NewTables {
    pub warehouse: Warehouse,
    pub snapshot: u64,
    pub tables: BTreeMap<String, TableEntry>,
}

#[async_trait]
impl TableSource for NewTables {
    async fn register(&self, ctx: &SessionContext, project: &Project) -> Result<Registered> {
        register_tables(
            ctx,
            project,
            &self.warehouse,
            self.snapshot,
            &self.tables,
            Which::Data,
        )
        .await?;
        Ok(Registered {
            harmonized: Harmonized::Tables(self.tables.keys().cloned().collect()),
            reference_tables: false,
            snapshot: None,
            plugins: None,
        })
    }
}
