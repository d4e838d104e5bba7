//! The comparison with the previous period: current rows matched to the previous period's rows on
//! their text columns (NULL matching NULL); each number followed by its previous value and its
//! relative change (current / previous − 1, NULL when the previous value is 0 or missing).

use super::run::Table;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{cast, concat_batches, take};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use datafusion::error::{DataFusionError, Result};
use std::collections::HashMap;
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

/// Each row's key: its text columns' values.
fn keys(batch: &RecordBatch, columns: &[usize]) -> Result<Vec<Vec<Option<String>>>> {
    let texts = columns
        .iter()
        .map(|&i| cast(batch.column(i), &DataType::Utf8))
        .collect::<std::result::Result<Vec<ArrayRef>, _>>()?;
    Ok((0..batch.num_rows())
        .map(|r| {
            texts
                .iter()
                .map(|t| {
                    let t = t.as_string::<i32>();
                    (!t.is_null(r)).then(|| t.value(r).to_string())
                })
                .collect()
        })
        .collect())
}

/// `current` with `<col>_prev` and `<col>_change` after each number.
pub fn join(current: &Table, previous: &Table) -> Result<Table> {
    let cur = concat_batches(&current.schema, &current.batches)?;
    let prev = concat_batches(&previous.schema, &previous.batches)?;
    let key_columns: Vec<usize> = (0..cur.num_columns())
        .filter(|&i| is_key(current.schema.field(i).data_type()))
        .collect();
    let prev_keys: Vec<usize> = key_columns
        .iter()
        .map(|&i| previous.schema.index_of(current.schema.field(i).name()))
        .collect::<std::result::Result<_, _>>()?;
    let mut index: HashMap<Vec<Option<String>>, Vec<u32>> = HashMap::new();
    for (r, k) in keys(&prev, &prev_keys)?.into_iter().enumerate() {
        index.entry(k).or_default().push(r as u32);
    }
    let mut matched: Vec<Option<u32>> = Vec::with_capacity(cur.num_rows());
    for k in keys(&cur, &key_columns)? {
        match index.get(&k).map(Vec::as_slice) {
            None | Some([]) => matched.push(None),
            Some([one]) => matched.push(Some(*one)),
            Some(_) => {
                return Err(DataFusionError::Plan(
                    "comparing with the previous period needs one row per combination of the text columns; \
                     the previous period has several rows for some of them (group the query by its text columns)"
                        .into(),
                ));
            }
        }
    }
    let rows = UInt32Array::from(matched);
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, f) in current.schema.fields().iter().enumerate() {
        fields.push(f.as_ref().clone());
        columns.push(cur.column(i).clone());
        if is_key(f.data_type()) || !is_number(f.data_type()) {
            continue;
        }
        let before = take(
            prev.column(previous.schema.index_of(f.name())?).as_ref(),
            &rows,
            None,
        )?;
        let now = cast(cur.column(i), &DataType::Float64)?;
        let then = cast(&before, &DataType::Float64)?;
        let (now, then) = (
            now.as_primitive::<Float64Type>(),
            then.as_primitive::<Float64Type>(),
        );
        let change: Float64Array = now
            .iter()
            .zip(then.iter())
            .map(|(c, p)| match (c, p) {
                (Some(c), Some(p)) if p != 0.0 => Some(c / p - 1.0),
                _ => None,
            })
            .collect();
        fields.push(Field::new(
            format!("{}_prev", f.name()),
            before.data_type().clone(),
            true,
        ));
        columns.push(before);
        fields.push(Field::new(
            format!("{}_change", f.name()),
            DataType::Float64,
            true,
        ));
        columns.push(Arc::new(change));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(Table {
        schema,
        batches: vec![batch],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};

    fn table(channels: &[Option<&str>], spend: &[Option<i64>]) -> Table {
        let schema = Arc::new(Schema::new(vec![
            Field::new("channel", DataType::Utf8, true),
            Field::new("spend", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(channels.to_vec())),
                Arc::new(Int64Array::from(spend.to_vec())),
            ],
        )
        .unwrap();
        Table {
            schema,
            batches: vec![batch],
        }
    }

    #[test]
    fn rows_meet_on_their_text_columns_null_meeting_null() {
        let now = table(
            &[Some("Search"), None, Some("Social"), Some("New")],
            &[Some(150), Some(10), Some(30), Some(5)],
        );
        let before = table(
            &[Some("Social"), Some("Search"), None],
            &[Some(0), Some(100), Some(20)],
        );
        let t = join(&now, &before).unwrap();
        let names: Vec<&str> = t
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["channel", "spend", "spend_prev", "spend_change"]);
        let b = &t.batches[0];
        let prev = b
            .column(2)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        assert_eq!(
            prev.iter().collect::<Vec<_>>(),
            [Some(100), Some(20), Some(0), None]
        );
        let change = b.column(3).as_primitive::<Float64Type>();
        assert_eq!(
            change.iter().collect::<Vec<_>>(),
            // 150/100 − 1; 10/20 − 1; previous 0: no change; no previous row: none.
            [Some(0.5), Some(-0.5), None, None]
        );
    }

    #[test]
    fn several_previous_rows_for_one_key_are_refused() {
        let now = table(&[Some("Search")], &[Some(1)]);
        let before = table(&[Some("Search"), Some("Search")], &[Some(1), Some(2)]);
        let e = join(&now, &before).unwrap_err().to_string();
        assert!(e.contains("one row per combination"), "{e}");
    }
}
