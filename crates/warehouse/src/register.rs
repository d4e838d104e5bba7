//! A snapshot's tables in a session: each table's Parquet folder is a listing table in the
//! hidden `_warehouse` schema (Hive partitions `client_id` and the day), and the name queries use
//! is a view over it that restores the table's own columns, types and order and keeps the
//! project's clients only (a partition filter: other clients' files are never opened; no filter
//! when the table has no other client's files).
//! Built-in listing tables and views are what a Ballista cluster can run.

use super::manifest::{TableEntry, TableKind};
use super::{NULL_DAY, SCHEMA, Warehouse};
use crate::error::{EngineError, Result};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;
use loopql_core::engine::CATALOG;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Column every partitioned table carries in its paths.
pub const CLIENT: &str = "client_id";

/// Which of a snapshot's tables to register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Connector tables only (what harmonized views are computed from during a sync).
    Raw,
    /// Connector tables and harmonized tables (reference tables come from the project).
    Data,
    /// Everything, reference tables included (a cluster has no project files).
    All,
}

/// Registers `tables` of snapshot `snapshot` in `ctx`, showing `clients`' rows only.
pub async fn register(
    ctx: &SessionContext,
    warehouse: &Warehouse,
    snapshot: u64,
    tables: &BTreeMap<String, TableEntry>,
    clients: &[String],
    which: Which,
) -> Result<()> {
    warehouse.store().register(ctx);
    let catalog = ctx.catalog(CATALOG).ok_or_else(|| EngineError::View {
        view: CATALOG.into(),
        message: "default catalog missing".into(),
    })?;
    let hidden: Arc<dyn SchemaProvider> = match catalog.schema(SCHEMA) {
        Some(s) => s,
        None => {
            let s: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
            catalog.register_schema(SCHEMA, s.clone())?;
            s
        }
    };
    let root = Warehouse::snapshot_dir(snapshot);
    let mut listed = Vec::new();
    for (name, table) in tables {
        let wanted = match table.kind {
            TableKind::Raw => true,
            TableKind::Harmonized => which != Which::Raw,
            TableKind::Reference => which == Which::All,
        };
        if !wanted {
            continue;
        }
        let (schema_name, table_name) = match (table.kind, name.split_once('.')) {
            (TableKind::Raw, Some((connector, t))) => (Some(connector), t),
            _ => (None, name.as_str()),
        };
        if let Some(s) = schema_name
            && catalog.schema(s).is_none()
        {
            catalog.register_schema(s, Arc::new(MemorySchemaProvider::new()))?;
        }
        let target = match schema_name {
            Some(s) => format!("{}.{}", quote(s), quote(table_name)),
            None => quote(table_name),
        };
        let schema = Arc::new(table.schema.clone());
        if table.files.is_empty() {
            let empty = Arc::new(EmptyTable::new(schema));
            match schema_name {
                Some(s) => {
                    if let Some(p) = catalog.schema(s) {
                        p.register_table(table_name.to_string(), empty)?;
                    }
                }
                None => {
                    ctx.register_table(table_name, empty)?;
                }
            }
            continue;
        }
        let layout = Layout::of(table);
        let url = ListingTableUrl::parse(
            warehouse
                .store()
                .folder_url(&format!("{root}/{}", table.dir)),
        )?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(layout.partition_columns());
        let file_schema = layout.file_schema(&schema);
        listed.push(crate::listed::Listed {
            url: url.clone(),
            table,
            file_schema: file_schema.clone(),
        });
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(file_schema);
        // No dot in the hidden name: a Ballista plan carries a column's qualifier as text, and
        // `_warehouse.google_ads.campaign_stats` would come back as three parts.
        let hidden_name = name.replace('.', "__");
        hidden.register_table(
            hidden_name.clone(),
            Arc::new(
                ListingTable::try_new(config)?
                    .with_cache(ctx.runtime_env().cache_manager.get_file_statistic_cache()),
            ),
        )?;
        let sql = format!(
            "CREATE VIEW {target} AS SELECT {} FROM {}.{}{}",
            layout.select_list(&schema).join(", "),
            quote(SCHEMA),
            quote(&hidden_name),
            layout.client_filter(table, clients),
        );
        ctx.sql(&sql).await.map_err(|e| EngineError::View {
            view: name.clone(),
            message: e.to_string(),
        })?;
    }
    crate::listed::remember(ctx, &listed);
    Ok(())
}

/// How a table sits on disk.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Partitioned by client (raw and harmonized tables).
    pub by_client: bool,
    /// The day column and the name of its path level.
    pub day: Option<(String, String)>,
}

impl Layout {
    pub fn of(table: &TableEntry) -> Self {
        Self {
            by_client: table.kind != TableKind::Reference,
            day: table.day_column.clone().zip(table.day_partition.clone()),
        }
    }

    /// Where a table of this schema, partitioned by day on `day_column`, puts its days.
    pub fn day_partition(schema: &Schema, day_column: &str) -> String {
        let taken = |n: &str| schema.field_with_name(n).is_ok();
        let date_is_the_day = day_column == "date"
            && schema
                .field_with_name("date")
                .is_ok_and(|f| f.data_type() == &DataType::Date32);
        if !taken("date") || date_is_the_day {
            "date".into()
        } else if !taken("day") {
            "day".into()
        } else {
            "activity_day".into()
        }
    }

    /// Columns the path carries, so the file leaves them out.
    pub fn path_columns(&self, schema: &Schema) -> Vec<String> {
        let mut out = Vec::new();
        if self.by_client {
            out.push(CLIENT.to_string());
        }
        if let Some((_, level)) = &self.day
            && schema.field_with_name(level).is_ok()
        {
            out.push(level.clone());
        }
        out
    }

    fn partition_columns(&self) -> Vec<(String, DataType)> {
        let mut out = Vec::new();
        if self.by_client {
            out.push((CLIENT.to_string(), DataType::Utf8));
        }
        if let Some((_, level)) = &self.day {
            out.push((level.clone(), DataType::Utf8));
        }
        out
    }

    fn file_schema(&self, schema: &SchemaRef) -> SchemaRef {
        let drop = self.path_columns(schema);
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .filter(|f| !drop.contains(f.name()))
            .map(|f| f.as_ref().clone())
            .collect();
        Arc::new(Schema::new(fields))
    }

    fn select_list(&self, schema: &SchemaRef) -> Vec<String> {
        let from_path = self.path_columns(schema);
        schema
            .fields()
            .iter()
            .map(|f| {
                let name = f.name();
                if !from_path.contains(name) {
                    return quote(name);
                }
                let text = if name == CLIENT {
                    quote(name)
                } else {
                    format!("NULLIF({}, '{NULL_DAY}')", quote(name))
                };
                if f.data_type() == &DataType::Utf8 {
                    format!("{text} AS {}", quote(name))
                } else {
                    format!("arrow_cast({text}, '{}') AS {}", f.data_type(), quote(name))
                }
            })
            .collect()
    }

    /// The view's filter keeping `clients`' rows of `table`. None for a partitioned table whose
    /// files are all of those clients (the usual case: a project reading its own warehouse, a
    /// sync): the filter would keep every row, and DataFusion evaluates a view's partition
    /// filter once per file — with one literal per client, a cost that grew with the number
    /// of clients at every scan.
    fn client_filter(&self, table: &TableEntry, clients: &[String]) -> String {
        let schema = &table.schema;
        let list = || {
            clients
                .iter()
                .map(|c| format!("'{}'", c.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.by_client {
            if clients.is_empty() {
                return " WHERE false".into();
            }
            let kept: std::collections::HashSet<&str> =
                clients.iter().map(String::as_str).collect();
            let all_kept = table
                .files
                .iter()
                .all(|f| f.client_id.as_deref().is_some_and(|c| kept.contains(c)));
            if all_kept {
                return String::new();
            }
            return format!(" WHERE {} IN ({})", quote(CLIENT), list());
        }
        // Reference tables: rows of the project's clients and rows every client shares.
        if schema.field_with_name(CLIENT).is_ok() {
            let c = quote(CLIENT);
            if clients.is_empty() {
                return format!(" WHERE {c} IS NULL OR {c} = ''");
            }
            return format!(" WHERE {c} IS NULL OR {c} = '' OR {c} IN ({})", list());
        }
        String::new()
    }
}

/// A quoted SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
