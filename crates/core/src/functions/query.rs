//! What a table function asks of the session while it runs: a query's batches (as they come,
//! or in the files' order) and which values of a column the query's filters keep (models,
//! clients), so that filters reach the functions' inputs.

use crate::attribution::Model;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::Result;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use std::sync::Arc;

/// Runs `sql` in `state` and collects the result.
pub async fn collect(state: &SessionState, sql: &str) -> Result<Vec<RecordBatch>> {
    let plan = state.create_logical_plan(sql).await?;
    let physical = state.create_physical_plan(&plan).await?;
    datafusion::physical_plan::collect(physical, state.task_ctx()).await
}

/// Runs `sql` in `state` and collects the result in the order the files hold it: the output
/// partitions one after the other (each read concurrently). A file split into byte ranges
/// over several partitions has its ranges in consecutive partitions, so rows stored grouped
/// and sorted (a client's persons in the warehouse) come back as one ascending run — where
/// [`collect`] would interleave the partitions' batches as they arrive.
pub async fn collect_in_order(state: &SessionState, sql: &str) -> Result<Vec<RecordBatch>> {
    let plan = state.create_logical_plan(sql).await?;
    let physical = state.create_physical_plan(&plan).await?;
    let parts = datafusion::physical_plan::collect_partitioned(physical, state.task_ctx()).await?;
    Ok(parts.into_iter().flatten().collect())
}

/// Which rows of `batch` every filter over its columns accepts (filters naming other columns
/// are left to DataFusion, which applies them again on the result).
pub fn filter_mask(
    state: &SessionState,
    filters: &[Expr],
    batch: &RecordBatch,
) -> Result<BooleanArray> {
    let schema = datafusion::common::DFSchema::try_from(batch.schema().as_ref().clone())?;
    let mut mask = BooleanArray::from(vec![true; batch.num_rows()]);
    for f in filters {
        let covered = f
            .column_refs()
            .iter()
            .all(|c| batch.schema().column_with_name(&c.name).is_some());
        if !covered {
            continue;
        }
        let expr = state.create_physical_expr(f.clone(), &schema)?;
        let kept = expr.evaluate(batch)?.into_array(batch.num_rows())?;
        if let Some(kept) = kept.as_boolean_opt() {
            // NULL (unknown) does not pass a filter.
            mask = if kept.null_count() > 0 {
                let kept = datafusion::arrow::compute::prep_null_mask_filter(kept);
                datafusion::arrow::compute::and(&mask, &kept)?
            } else {
                datafusion::arrow::compute::and(&mask, kept)?
            };
        }
    }
    Ok(mask)
}

/// Keeps the rows of `batch` that every filter over its columns accepts.
pub fn apply_filters(
    state: &SessionState,
    filters: &[Expr],
    batch: RecordBatch,
) -> Result<RecordBatch> {
    let mask = filter_mask(state, filters, &batch)?;
    Ok(datafusion::arrow::compute::filter_record_batch(
        &batch, &mask,
    )?)
}

pub fn strings(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    let c = batch.column_by_name(name).ok_or_else(|| {
        datafusion::error::DataFusionError::Plan(format!("missing column {name}"))
    })?;
    Ok(datafusion::arrow::compute::cast(c, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

pub fn opt(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

/// The models of `models` that the query's filters on `model` keep.
pub fn kept_models(state: &SessionState, filters: &[Expr], models: &[Model]) -> Result<Vec<Model>> {
    let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
    let kept = kept_values(state, filters, "model", &names)?;
    Ok(models
        .iter()
        .copied()
        .filter(|m| kept.contains(&m.name()))
        .collect())
}

/// The `values` of text column `column` that the query's filters on it keep (all of them when
/// no filter names the column).
pub fn kept_values<'v>(
    state: &SessionState,
    filters: &[Expr],
    column: &str,
    values: &[&'v str],
) -> Result<Vec<&'v str>> {
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(column, DataType::Utf8, false)])),
        vec![Arc::new(StringArray::from_iter_values(
            values.iter().copied(),
        ))],
    )?;
    let kept = strings(&apply_filters(state, filters, batch)?, column)?;
    Ok(values
        .iter()
        .copied()
        .filter(|v| kept.iter().any(|k| k == Some(*v)))
        .collect())
}

/// `client_id IN (...)` for these clients.
pub fn client_list(clients: &[String]) -> String {
    let quoted: Vec<String> = clients
        .iter()
        .map(|c| format!("'{}'", c.replace('\'', "''")))
        .collect();
    format!("client_id IN ({})", quoted.join(", "))
}

/// The project's clients (the `clients` table) that the query's filters on `client_id` keep.
pub async fn kept_clients(state: &SessionState, filters: &[Expr]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for b in collect(state, "SELECT client_id FROM clients").await? {
        let c = strings(&b, "client_id")?;
        ids.extend((0..c.len()).filter_map(|i| opt(&c, i).map(str::to_string)));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    Ok(kept_values(state, filters, "client_id", &refs)?
        .into_iter()
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_read_in_byte_ranges_comes_back_in_file_order() {
        use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
        // One client's file, persons in ascending key order, in many small row groups.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        let keys: Vec<String> = (0..20_000).map(|i| format!("p{i:06}")).collect();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "person_key",
            DataType::Utf8,
            false,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(keys.clone()))],
        )
        .unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(1_000))
            .build();
        let file = std::fs::File::create(&path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        // Split over four partitions, as DataFusion does with a large file.
        let mut config = SessionConfig::new().with_target_partitions(4);
        config.options_mut().optimizer.repartition_file_min_size = 0;
        let ctx = SessionContext::new_with_config(config);
        ctx.register_parquet("t", path.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
        let sql = "SELECT person_key FROM t WHERE person_key IS NOT NULL";
        let state = ctx.state();
        let plan = state
            .create_physical_plan(&state.create_logical_plan(sql).await.unwrap())
            .await
            .unwrap();
        assert!(
            plan.properties().output_partitioning().partition_count() > 1,
            "the file is read in several byte ranges"
        );
        let read: Vec<String> = collect_in_order(&state, sql)
            .await
            .unwrap()
            .iter()
            .flat_map(|b| {
                let a = strings(b, "person_key").unwrap();
                (0..a.len())
                    .map(|i| a.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(read, keys, "every row once, in the file's order");
    }
}
