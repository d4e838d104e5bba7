//! What the discovery meta-commands show: `\d` (tables and views with kind and source), `\d NAME`
//! (columns and a shipped view's description), `\df` (functions), `\dc` (connectors), and the
//! catalog snapshot completion uses.

use super::complete::{Catalog, TableInfo};
use crate::Engine;
use crate::views::{DERIVED, HARMONIZED};
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::Result;
use std::sync::Arc;

/// Rows of a query, every column as text.
pub async fn text_rows(engine: &Engine, sql: &str) -> Result<Vec<Vec<String>>> {
    let mut out = Vec::new();
    for b in engine.sql(sql).await.map_err(to_df)?.collect().await? {
        let cols: Vec<_> = b
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8))
            .collect::<std::result::Result<_, _>>()?;
        for r in 0..b.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| {
                        let c = c.as_string::<i32>();
                        if c.is_null(r) {
                            String::new()
                        } else {
                            c.value(r).to_string()
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

fn to_df(e: crate::EngineError) -> datafusion::error::DataFusionError {
    match e {
        crate::EngineError::DataFusion(e) => e,
        other => datafusion::error::DataFusionError::External(Box::new(other)),
    }
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

fn source_of(schema: &str, name: &str, kind: &str) -> String {
    if schema != "public" {
        return format!("connector {schema}");
    }
    if HARMONIZED.iter().any(|v| v.name == name) {
        return "harmonized view (sql/harmonized)".into();
    }
    if DERIVED.iter().any(|v| v.name == name) {
        return "shipped view".into();
    }
    match (kind, name) {
        (_, "clients" | "fx_rates" | "source_categories" | "budgets" | "loopql_functions") => {
            "reference (project)".into()
        }
        _ => "this session".into(),
    }
}

/// `\d`: schema, name, kind, source.
pub async fn list_tables(engine: &Engine) -> Result<(SchemaRef, RecordBatch)> {
    let rows = text_rows(
        engine,
        "SELECT table_schema, table_name, table_type FROM information_schema.tables \
         WHERE table_schema <> 'information_schema' ORDER BY table_schema <> 'public', table_schema, table_name",
    )
    .await?;
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            let kind = if r[2] == "VIEW" { "view" } else { "table" }.to_string();
            let source = source_of(&r[0], &r[1], &kind);
            vec![r[0].clone(), r[1].clone(), kind, source]
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
    let quote = |s: &str| s.replace('\'', "''");
    let schema_filter = schema
        .as_deref()
        .map(|s| format!("AND table_schema = '{}'", quote(s)))
        .unwrap_or_else(|| "AND table_schema = 'public'".to_string());
    let rows = text_rows(
        engine,
        &format!(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
             WHERE table_name = '{}' {schema_filter} ORDER BY ordinal_position",
            quote(&table_name)
        ),
    )
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r[0].clone(),
                r[1].clone(),
                if r[2] == "YES" { "yes" } else { "no" }.into(),
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

/// `\df [pattern]`: loopql's functions (all, or those matching), then DataFusion's matching.
pub async fn functions(engine: &Engine, pattern: Option<&str>) -> Result<(SchemaRef, RecordBatch)> {
    let like = pattern.map(|p| format!("%{}%", p.replace('\'', "''").replace('*', "%")));
    let mut rows = text_rows(
        engine,
        &format!(
            "SELECT name, kind, syntax, description FROM loopql_functions {} ORDER BY name",
            like.as_deref()
                .map(|l| format!("WHERE name ILIKE '{l}'"))
                .unwrap_or_default()
        ),
    )
    .await?;
    for r in &mut rows {
        r[1] = format!("loopql {}", r[1]);
    }
    if let Some(like) = &like {
        let builtin = text_rows(
            engine,
            &format!(
                "SELECT DISTINCT routine_name, lower(function_type) FROM information_schema.routines \
                 WHERE routine_name ILIKE '{like}' ORDER BY 1"
            ),
        )
        .await?;
        for r in builtin {
            if !rows.iter().any(|o| o[0] == r[0]) {
                rows.push(vec![
                    r[0].clone(),
                    format!("datafusion {}", r[1]),
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
    let rows = text_rows(
        engine,
        "SELECT table_schema, table_name, column_name FROM information_schema.columns \
         WHERE table_schema <> 'information_schema' ORDER BY table_schema, table_name, ordinal_position",
    )
    .await?;
    let mut tables: Vec<TableInfo> = Vec::new();
    for r in rows {
        match tables.last_mut() {
            Some(t) if t.schema == r[0] && t.name == r[1] => t.columns.push(r[2].clone()),
            _ => tables.push(TableInfo {
                schema: r[0].clone(),
                name: r[1].clone(),
                columns: vec![r[2].clone()],
            }),
        }
    }
    let state = engine.context().state();
    let mut functions: Vec<String> = state
        .scalar_functions()
        .keys()
        .chain(state.aggregate_functions().keys())
        .chain(state.window_functions().keys())
        .cloned()
        .collect();
    functions.extend(
        crate::functions::table_functions()
            .iter()
            .map(|f| f.name.to_string()),
    );
    functions.sort();
    functions.dedup();
    Ok(Catalog { tables, functions })
}
