//! The comparison with the previous period: current rows matched to the previous period's rows on
//! their text columns; each number followed by its previous value and its relative change.

use super::run::Table;
use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

pub fn is_number(t: &DataType) -> bool {
    t.is_numeric()
}

/// Columns rows are matched on: text columns (dates differ between periods).
fn is_key(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean
    ) || matches!(t, DataType::Dictionary(_, v) if v.as_ref() == &DataType::Utf8)
}

fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `current` with `<col>_prev` and `<col>_change` (current / previous − 1) after each number.
pub async fn join(current: &Table, previous: &Table) -> Result<Table> {
    let ctx = SessionContext::new();
    ctx.register_table(
        "cur",
        Arc::new(MemTable::try_new(
            current.schema.clone(),
            vec![current.batches.clone()],
        )?),
    )?;
    ctx.register_table(
        "prev",
        Arc::new(MemTable::try_new(
            previous.schema.clone(),
            vec![previous.batches.clone()],
        )?),
    )?;
    let mut select = Vec::new();
    let mut on = Vec::new();
    for f in current.schema.fields() {
        let c = q(f.name());
        select.push(format!("c.{c}"));
        if is_key(f.data_type()) {
            on.push(format!("(c.{c} IS NOT DISTINCT FROM p.{c})"));
        } else if is_number(f.data_type()) {
            let prev_name = q(&format!("{}_prev", f.name()));
            let change_name = q(&format!("{}_change", f.name()));
            select.push(format!("p.{c} AS {prev_name}"));
            select.push(format!(
                "CAST(c.{c} AS DOUBLE) / NULLIF(CAST(p.{c} AS DOUBLE), 0) - 1 AS {change_name}"
            ));
        }
    }
    let on = if on.is_empty() {
        "TRUE".to_string()
    } else {
        on.join(" AND ")
    };
    let sql = format!(
        "WITH c AS (SELECT *, row_number() OVER () AS __loopql_row FROM cur) \
         SELECT {} FROM c LEFT JOIN prev p ON {on} ORDER BY c.__loopql_row",
        select.join(", ")
    );
    let df = ctx.sql(&sql).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows != current.rows() {
        return Err(DataFusionError::Plan(
            "comparing with the previous period needs one row per combination of the text columns; \
             the previous period has several rows for some of them (group the query by its text columns)"
                .into(),
        ));
    }
    Ok(Table { schema, batches })
}
