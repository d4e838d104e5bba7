//! A snapshot of what an engine's SQL can name: every catalog, schema and table with its kind
//! and columns, and every function. The shell completes from it and shows `\d` / `\df` from it;
//! the Flight SQL server answers its metadata calls from it.

use super::Engine;
use crate::error::Result;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::TableType;

/// What a table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Table,
    View,
    Temporary,
}

/// One table or view.
#[derive(Debug, Clone)]
pub struct TableEntry {
    pub catalog: String,
    pub schema: String,
    pub name: String,
    pub kind: TableKind,
    pub columns: SchemaRef,
}

/// What a function is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FunctionKind {
    Scalar,
    Aggregate,
    Window,
    Table,
}

impl FunctionKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            Self::Aggregate => "aggregate",
            Self::Window => "window",
            Self::Table => "table",
        }
    }
}

/// One function a query can call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionEntry {
    pub name: String,
    pub kind: FunctionKind,
    /// One of loopql's own (documented in `loopql_functions`), not one of DataFusion's.
    pub loopql: bool,
}

/// Everything an engine's SQL can name, at one moment.
#[derive(Debug, Clone, Default)]
pub struct CatalogSnapshot {
    /// Catalog names.
    pub catalogs: Vec<String>,
    /// `(catalog, schema)` pairs, sorted.
    pub schemas: Vec<(String, String)>,
    /// Sorted by catalog, schema and name.
    pub tables: Vec<TableEntry>,
    /// Sorted by name.
    pub functions: Vec<FunctionEntry>,
}

impl Engine {
    /// What this engine's SQL can name now (views created with DDL included).
    pub async fn catalog(&self) -> Result<CatalogSnapshot> {
        let mut snapshot = CatalogSnapshot::default();
        let mut catalogs = self.ctx.catalog_names();
        catalogs.sort();
        for c in catalogs {
            let Some(catalog) = self.ctx.catalog(&c) else {
                continue;
            };
            let mut schemas = catalog.schema_names();
            schemas.sort();
            for s in schemas {
                let Some(schema) = catalog.schema(&s) else {
                    continue;
                };
                let mut names = schema.table_names();
                names.sort();
                for t in names {
                    let Ok(Some(table)) = schema.table(&t).await else {
                        continue;
                    };
                    snapshot.tables.push(TableEntry {
                        catalog: c.clone(),
                        schema: s.clone(),
                        name: t,
                        kind: match table.table_type() {
                            TableType::Base => TableKind::Table,
                            TableType::View => TableKind::View,
                            TableType::Temporary => TableKind::Temporary,
                        },
                        columns: table.schema(),
                    });
                }
                snapshot.schemas.push((c.clone(), s));
            }
            snapshot.catalogs.push(c);
        }
        let state = self.ctx.state();
        let ours: Vec<String> = crate::functions::scalar_functions()
            .iter()
            .map(|f| f.name().to_string())
            .chain(
                crate::functions::aggregate_functions()
                    .iter()
                    .map(|f| f.name().to_string()),
            )
            .chain(
                crate::functions::table_functions()
                    .iter()
                    .map(|f| f.name.to_string()),
            )
            .collect();
        let mut add = |name: &String, kind| {
            snapshot.functions.push(FunctionEntry {
                name: name.clone(),
                kind,
                loopql: ours.contains(name),
            })
        };
        for name in state.scalar_functions().keys() {
            add(name, FunctionKind::Scalar);
        }
        for name in state.aggregate_functions().keys() {
            add(name, FunctionKind::Aggregate);
        }
        for name in state.window_functions().keys() {
            add(name, FunctionKind::Window);
        }
        for name in state.table_functions().keys() {
            add(name, FunctionKind::Table);
        }
        snapshot
            .functions
            .sort_by(|a, b| (&a.name, a.kind).cmp(&(&b.name, b.kind)));
        snapshot.functions.dedup();
        Ok(snapshot)
    }
}
