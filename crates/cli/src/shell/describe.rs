//! What the discovery meta-commands show: `\d` (tables and views with kind and source), `\d NAME`
//! (columns and a shipped view's description), `\df` (functions), `\dc` (connectors), and the
//! catalog completion uses — all from the engine's catalog snapshot.

use super::complete::{Catalog, TableInfo};
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::Result;
use loopql_core::engine::{CatalogSnapshot, TableEntry, TableKind};
use loopql_core::views::{DERIVED, HARMONIZED};
use loopql_core::{Engine, EngineError};
use std::sync::Arc;

/// Schemas the shell does not list (DataFusion's own metadata views).
const HIDDEN_SCHEMA: &str = "information_schema";

async fn snapshot(engine: &Engine) -> Result<CatalogSnapshot> {
    engine.catalog().await.map_err(to_df)
}

fn to_df(e: EngineError) -> datafusion::error::DataFusionError {
    match e {
        EngineError::DataFusion(e) => e,
        other => datafusion::error::DataFusionError::External(Box::new(other)),
    }
}

/// The tables the shell shows: the default catalog's, without `information_schema`.
fn visible(snapshot: &CatalogSnapshot) -> impl Iterator<Item = &TableEntry> {
    snapshot
        .tables
        .iter()
        .filter(|t| t.catalog == loopql_core::engine::CATALOG && t.schema != HIDDEN_SCHEMA)
}

/// A table of text columns.
pub fn table(names: &[&str], rows: &[Vec<String>]) -> Result<(SchemaRef, RecordBatch)> {
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let columns = (0..names.len())
        .map(|k| {
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r[k].as_str()),
            )) as Arc<dyn Array>
        })
        .collect();
    Ok((schema.clone(), RecordBatch::try_new(schema, columns)?))
}

fn source_of(schema: &str, name: &str) -> String {
    if schema != "public" {
        return format!("connector {schema}");
    }
    if HARMONIZED.iter().any(|v| v.name == name) {
        return "harmonized view (sql/harmonized)".into();
    }
    if DERIVED.iter().any(|v| v.name == name) {
        return "shipped view".into();
    }
    match name {
        "clients" | "fx_rates" | "source_categories" | "budgets" | "costs" | "loopql_functions" => {
            "reference (project)".into()
        }
        _ => "this session".into(),
    }
}

/// `\d`: schema, name, kind, source (`public` first).
pub async fn list_tables(engine: &Engine) -> Result<(SchemaRef, RecordBatch)> {
    let snapshot = snapshot(engine).await?;
    let mut tables: Vec<&TableEntry> = visible(&snapshot).collect();
    tables.sort_by(|a, b| {
        (a.schema != "public", &a.schema, &a.name).cmp(&(b.schema != "public", &b.schema, &b.name))
    });
    let rows: Vec<Vec<String>> = tables
        .iter()
        .map(|t| {
            let kind = if t.kind == TableKind::View {
                "view"
            } else {
                "table"
            };
            vec![
                t.schema.clone(),
                t.name.clone(),
                kind.to_string(),
                source_of(&t.schema, &t.name),
            ]
        })
        .collect();
    table(&["schema", "name", "kind", "source"], &rows)
}

/// `\d NAME`: its columns, and the header of a shipped view's SQL file. None when unknown.
pub async fn describe(
    engine: &Engine,
    name: &str,
) -> Result<Option<(SchemaRef, RecordBatch, String)>> {
    let (schema, table_name) = match name.rsplit_once('.') {
        Some((s, t)) => (Some(s.to_string()), t.to_string()),
        None => (None, name.to_string()),
    };
    let snapshot = snapshot(engine).await?;
    let wanted = schema.as_deref().unwrap_or("public");
    let Some(found) = snapshot.tables.iter().find(|t| {
        t.catalog == loopql_core::engine::CATALOG && t.schema == wanted && t.name == table_name
    }) else {
        return Ok(None);
    };
    if found.columns.fields().is_empty() {
        return Ok(None);
    }
    let rows: Vec<Vec<String>> = found
        .columns
        .fields()
        .iter()
        .map(|f| {
            vec![
                f.name().clone(),
                f.data_type().to_string(),
                if f.is_nullable() { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    let description = HARMONIZED
        .iter()
        .chain(DERIVED)
        .find(|v| v.name == table_name && schema.as_deref().is_none_or(|s| s == "public"))
        .map(|v| v.description())
        .unwrap_or_default();
    let (s, b) = table(&["column", "type", "nullable"], &rows)?;
    Ok(Some((s, b, description)))
}

/// Whether `name` matches a `\df` pattern: case-insensitive, `*` and `%` any text, `_` any one
/// character, and the pattern may stand anywhere in the name.
fn matches(name: &str, pattern: &str) -> bool {
    fn here(n: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('%' | '*', rest)) => (0..=n.len()).any(|i| here(&n[i..], rest)),
            Some(('_', rest)) => !n.is_empty() && here(&n[1..], rest),
            Some((c, rest)) => n.first() == Some(c) && here(&n[1..], rest),
        }
    }
    let n: Vec<char> = name.to_lowercase().chars().collect();
    let p: Vec<char> = format!("%{}%", pattern.to_lowercase()).chars().collect();
    here(&n, &p)
}

/// `\df [pattern]`: loopql's functions (all, or those matching), then DataFusion's matching.
pub async fn functions(engine: &Engine, pattern: Option<&str>) -> Result<(SchemaRef, RecordBatch)> {
    let ours = loopql_core::functions::catalog()?;
    let text = |i: usize| ours.column(i).as_string::<i32>().clone();
    let (names, kinds, syntax, descriptions) = (text(0), text(1), text(2), text(3));
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in 0..ours.num_rows() {
        if pattern.is_some_and(|p| !matches(names.value(r), p)) {
            continue;
        }
        rows.push(vec![
            names.value(r).to_string(),
            format!("loopql {}", kinds.value(r)),
            syntax.value(r).to_string(),
            descriptions.value(r).to_string(),
        ]);
    }
    if let Some(pattern) = pattern {
        let snapshot = snapshot(engine).await?;
        let mut builtin: Vec<(String, &str)> = snapshot
            .functions
            .iter()
            .filter(|f| !f.loopql && matches(&f.name, pattern))
            .map(|f| (f.name.clone(), f.kind.name()))
            .collect();
        builtin.sort();
        builtin.dedup_by(|a, b| a.0 == b.0);
        for (name, kind) in builtin {
            if !rows.iter().any(|o| o[0] == name) {
                rows.push(vec![
                    name,
                    format!("datafusion {kind}"),
                    String::new(),
                    String::new(),
                ]);
            }
        }
    }
    table(&["name", "kind", "syntax", "description"], &rows)
}

/// `\dc`: loaded connectors with the sources using them, and refused libraries.
pub fn connectors(engine: &Engine) -> Result<(SchemaRef, RecordBatch)> {
    let host = engine.plugins();
    let mut rows = Vec::new();
    for c in host.connectors() {
        let m = c.manifest();
        let sources: Vec<String> = engine
            .project()
            .sources
            .iter()
            .filter(|s| s.connector == m.name)
            .map(|s| s.name.clone())
            .collect();
        rows.push(vec![
            m.name.clone(),
            format!("loaded {}", m.version),
            if sources.is_empty() {
                "(no source)".into()
            } else {
                sources.join(", ")
            },
            c.path().display().to_string(),
        ]);
    }
    for r in host.refused() {
        rows.push(vec![
            r.path
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default(),
            "refused".into(),
            r.reason.lines().next().unwrap_or_default().to_string(),
            r.path.display().to_string(),
        ]);
    }
    table(&["connector", "status", "sources", "library"], &rows)
}

/// The catalog snapshot for completion.
pub async fn catalog(engine: &Engine) -> Result<Catalog> {
    let snapshot = snapshot(engine).await?;
    let tables = visible(&snapshot)
        .map(|t| TableInfo {
            schema: t.schema.clone(),
            name: t.name.clone(),
            columns: t
                .columns
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
        })
        .filter(|t| !t.columns.is_empty())
        .collect();
    let mut functions: Vec<String> = snapshot.functions.iter().map(|f| f.name.clone()).collect();
    functions.dedup();
    Ok(Catalog { tables, functions })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn function_patterns_match_anywhere_with_wildcards() {
        assert!(matches("local_date", "date"));
        assert!(matches("LOCAL_DATE", "local*"));
        assert!(matches("url_param", "url_p_ram"));
        assert!(matches("date_trunc", "d%trunc"));
        assert!(!matches("channel_group", "date"));
        assert!(!matches("abs", "abs_"));
    }
}
