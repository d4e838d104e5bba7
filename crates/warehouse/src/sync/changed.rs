//! Incremental reads of records that change at any time (CRM objects): when a connector's table
//! declares `changes` (a modification time and a key) and the source sets `incremental = true`,
//! a sync with a previous snapshot asks only for the records modified since the newest
//! modification it holds, less the source's `restatement_days` (late-indexed records, clocks),
//! and writes the previous rows whose key did not come again plus the new ones. Records the
//! source reports deleted (the table's `changes.deleted` column true: Salesforce's `IsDeleted`
//! from `queryAll`, HubSpot's archived view) remove their previous rows and are not written.

use crate::Warehouse;
use crate::manifest::TableEntry;
use crate::progress::Line;
use crate::register::{Which, quote, register};
use crate::snapshot_writer::{DayOrder, Run};
use datafusion::arrow::array::{Array, TimestampMicrosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use loopql_core::error::{EngineError, Result};
use loopql_core::{Engine, FrontEnd, QueryOptions};
use std::collections::BTreeMap;
use std::sync::Arc;

const NEW: &str = "__loopql_changed";

/// The previous snapshot's rows of one client's table, in a session of their own.
pub(super) struct Previous {
    ctx: SessionContext,
    table: String,
}

impl Previous {
    /// `client`'s rows of `name` (`connector.table`) in snapshot `snapshot`.
    pub(super) async fn open(
        warehouse: &Warehouse,
        snapshot: u64,
        name: &str,
        entry: &TableEntry,
        client: &str,
    ) -> Result<Self> {
        // The catalog the snapshot's views are registered in (as an engine's).
        let ctx = SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new()
                .with_default_catalog_and_schema(loopql_core::engine::CATALOG, "public"),
        );
        let tables = BTreeMap::from([(name.to_string(), entry.clone())]);
        register(
            &ctx,
            warehouse,
            snapshot,
            &tables,
            &[client.to_string()],
            Which::Raw,
        )
        .await?;
        let table = match name.split_once('.') {
            Some((c, t)) => format!("{}.{}", quote(c), quote(t)),
            None => quote(name),
        };
        Ok(Self { ctx, table })
    }

    /// The newest modification time the rows hold (µs since the epoch, UTC); `None` when no
    /// row has one.
    pub(super) async fn newest(&self, modified: &str) -> Result<Option<i64>> {
        let sql = format!("SELECT max({}) FROM {}", quote(modified), self.table);
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let Some(column) = batches.first().map(|b| b.column(0).clone()) else {
            return Ok(None);
        };
        let micros = cast(&column, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        let micros = micros
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .ok_or_else(|| EngineError::Mode(format!("{modified}: not a timestamp")))?;
        Ok((micros.len() == 1 && micros.is_valid(0)).then(|| micros.value(0)))
    }

    /// The changed records `changed` (all of the table's columns) but those marked `deleted`,
    /// followed by the previous rows whose key is not among them.
    pub(super) async fn merged(
        self,
        key: &[String],
        deleted: Option<&str>,
        changed: SendableRecordBatchStream,
    ) -> Result<(u64, SendableRecordBatchStream)> {
        let schema = changed.schema();
        let batches: Vec<_> = changed.try_collect().await?;
        let count = batches.iter().map(|b| b.num_rows() as u64).sum();
        self.ctx
            .register_table(NEW, Arc::new(MemTable::try_new(schema, vec![batches])?))?;
        let same_key = key
            .iter()
            .map(|k| format!("n.{0} = o.{0}", quote(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let kept = match deleted {
            Some(d) => format!(" WHERE NOT COALESCE({}, false)", quote(d)),
            None => String::new(),
        };
        let sql = format!(
            "SELECT * FROM {NEW}{kept} UNION ALL \
             SELECT o.* FROM {} o WHERE NOT EXISTS (SELECT 1 FROM {NEW} n WHERE {same_key})",
            self.table
        );
        Ok((count, self.ctx.sql(&sql).await?.execute_stream().await?))
    }
}

/// What an incremental read did.
pub(super) struct ChangedRead {
    /// The first day whose modifications were asked for.
    pub(super) since: i32,
    /// Records the source sent.
    pub(super) changed: u64,
}

/// `client`'s table `name` (`connector.table`) read incrementally into the new snapshot: the
/// records the connector has modified since the previous rows' newest modification less
/// `restatement_days`, then the previous rows whose key did not come again. `None` when that
/// does not apply (no previous rows with a modification time): the caller reads the whole
/// table. Records the source says it deleted remove their previous rows and are not written.
#[allow(clippy::too_many_arguments)]
pub(super) async fn read(
    run: &mut Run<'_>,
    old: &TableEntry,
    live: &Engine,
    name: &str,
    (modified, key, deleted): (&str, &[String], Option<&str>),
    entry: &mut TableEntry,
    client: &str,
    restatement_days: u32,
    line: &mut Line,
) -> Result<Option<ChangedRead>> {
    let Some(manifest) = run.old else {
        return Ok(None);
    };
    let previous = Previous::open(run.warehouse, manifest.snapshot, name, old, client).await?;
    let Some(newest) = previous.newest(modified).await? else {
        return Ok(None);
    };
    let from = newest - i64::from(restatement_days) * 86_400_000_000;
    let at = chrono::DateTime::from_timestamp_micros(from).unwrap_or_default();
    let table = match name.split_once('.') {
        Some((c, t)) => format!("{}.{}", quote(c), quote(t)),
        None => quote(name),
    };
    let sql = format!(
        "SELECT * FROM {table} WHERE client_id = '{}' AND {} >= TIMESTAMP '{}'",
        client.replace('\'', "''"),
        quote(modified),
        at.format("%Y-%m-%dT%H:%M:%S%.6fZ")
    );
    let changed = live
        .plan(&sql, &QueryOptions::new(FrontEnd::Sync))
        .await?
        .stream()
        .await?;
    let (count, merged) = previous.merged(key, deleted, changed.boxed()).await?;
    let before = line.rows;
    run.replace(
        entry,
        Some(old),
        client,
        None,
        merged,
        line,
        DayOrder::Sorted,
    )
    .await?;
    // Rows read are what the source sent, not the previous rows written again with them.
    line.rows = before + count;
    Ok(Some(ChangedRead {
        since: from.div_euclid(86_400_000_000) as i32,
        changed: count,
    }))
}
