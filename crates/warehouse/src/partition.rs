//! Rows to partition files: split a table's batches by day, put each partition's rows in a
//! canonical order (so unchanged data encodes to the same bytes and is recognised by its
//! checksum), and encode them as Parquet without the columns the path carries.

use crate::error::Result;
use datafusion::arrow::array::{Array, ArrayRef, Date32Array, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{SortColumn, cast, concat_batches, lexsort_to_indices, take};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Days since 1970-01-01, `None` for rows without a day.
pub type Day = Option<i32>;

/// Batches of one table and client, gathered by day.
#[derive(Debug, Default)]
pub struct Partitions {
    pub by_day: BTreeMap<Day, Vec<RecordBatch>>,
    pub rows: u64,
}

impl Partitions {
    /// Adds a batch, split by the value of `day_column` (a date or timestamp; timestamps count
    /// by their UTC day). Without a day column every row goes to the `None` partition.
    pub fn add(&mut self, batch: RecordBatch, day_column: Option<&str>) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        let Some(name) = day_column else {
            self.by_day.entry(None).or_default().push(batch);
            return Ok(());
        };
        let days = days_of(batch.column_by_name(name).ok_or_else(|| {
            datafusion::error::DataFusionError::Plan(format!("no column `{name}`"))
        })?)?;
        let mut rows: BTreeMap<Day, Vec<u32>> = BTreeMap::new();
        for i in 0..days.len() {
            let day = days.is_valid(i).then(|| days.value(i));
            rows.entry(day).or_default().push(i as u32);
        }
        if rows.len() == 1 {
            if let Some((day, _)) = rows.pop_first() {
                self.by_day.entry(day).or_default().push(batch);
            }
            return Ok(());
        }
        for (day, indices) in rows {
            let indices = UInt32Array::from(indices);
            let columns = batch
                .columns()
                .iter()
                .map(|c| take(c.as_ref(), &indices, None))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let part = RecordBatch::try_new(batch.schema(), columns)?;
            self.by_day.entry(day).or_default().push(part);
        }
        Ok(())
    }

    /// Takes out every day but `last`: when rows arrive ordered by day (rows without a day
    /// last) and the newest batch ends on `last`, no more rows can come for the others.
    pub fn take_complete(&mut self, last: Day) -> Vec<(Day, Vec<RecordBatch>)> {
        let days: Vec<Day> = self.by_day.keys().copied().filter(|d| *d != last).collect();
        days.into_iter()
            .filter_map(|d| self.by_day.remove(&d).map(|b| (d, b)))
            .collect()
    }
}

/// The day of a batch's last row (`None` without a day column, or when that row has none).
pub fn last_day(batch: &RecordBatch, day_column: Option<&str>) -> Result<Day> {
    let (Some(name), Some(last)) = (day_column, batch.num_rows().checked_sub(1)) else {
        return Ok(None);
    };
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| datafusion::error::DataFusionError::Plan(format!("no column `{name}`")))?;
    let days = days_of(&column.slice(last, 1))?;
    Ok(days.is_valid(0).then(|| days.value(0)))
}

/// A column's values as days.
pub fn days_of(column: &ArrayRef) -> Result<Date32Array> {
    let dates = cast(column.as_ref(), &DataType::Date32)?;
    Ok(dates
        .as_any()
        .downcast_ref::<Date32Array>()
        .cloned()
        .unwrap_or_else(|| Date32Array::from(vec![None; column.len()])))
}

/// One encoded partition file.
#[derive(Debug)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub rows: u64,
    pub sha256: String,
}

/// Concatenates, orders and encodes a partition's batches, leaving out `drop` columns (the ones
/// the file's path carries).
pub fn encode(schema: &SchemaRef, batches: &[RecordBatch], drop: &[&str]) -> Result<Encoded> {
    let all = concat_batches(schema, batches)?;
    let sorted = canonical_order(&all)?;
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !drop.contains(&schema.field(i).name().as_str()))
        .collect();
    let file_batch = sorted.project(&keep)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by("loopql".into())
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), file_batch.schema(), Some(props))?;
    writer.write(&file_batch)?;
    let bytes = writer.into_inner()?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Encoded {
        rows: file_batch.num_rows() as u64,
        bytes,
        sha256,
    })
}

/// The rows sorted by every column that can be sorted, so the same rows always come out in
/// the same order whatever order the sources produced them in.
fn canonical_order(batch: &RecordBatch) -> Result<RecordBatch> {
    if batch.num_rows() < 2 {
        return Ok(batch.clone());
    }
    let columns: Vec<SortColumn> = batch
        .columns()
        .iter()
        .filter(|c| sortable(c.data_type()))
        .map(|c| SortColumn {
            values: c.clone(),
            options: None,
        })
        .collect();
    if columns.is_empty() {
        return Ok(batch.clone());
    }
    let indices = lexsort_to_indices(&columns, None)?;
    let sorted = batch
        .columns()
        .iter()
        .map(|c| take(c.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(batch.schema(), sorted)?)
}

fn sortable(t: &DataType) -> bool {
    t.is_primitive()
        || matches!(
            t,
            DataType::Boolean
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::Null
        )
}

/// `YYYY-MM-DD` of a day number.
pub fn day_text(day: i32) -> String {
    chrono::NaiveDate::from_num_days_from_ce_opt(day + 719_163)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| day.to_string())
}

/// The day number of `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Option<i32> {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(chrono::Datelike::num_days_from_ce(&d) - 719_163)
}

/// An empty batch of `schema` (for tables without rows).
pub fn empty(schema: &SchemaRef) -> RecordBatch {
    RecordBatch::new_empty(Arc::clone(schema))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn batch(days: Vec<Option<i64>>, names: Vec<&str>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("name", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
        ]));
        let n = days.len() as i64;
        let ts: Vec<Option<i64>> = days
            .into_iter()
            .map(|d| d.map(|d| d * 86_400_000_000 + 3_600_000_000))
            .collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
                Arc::new(StringArray::from(names)),
                Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())),
            ],
        )
        .unwrap()
    }

    #[test]
    fn splits_by_utc_day_and_keeps_rows_without_a_day() {
        let mut parts = Partitions::default();
        parts
            .add(
                batch(
                    vec![Some(1), Some(2), None, Some(1)],
                    vec!["a", "b", "c", "d"],
                ),
                Some("ts"),
            )
            .unwrap();
        let sizes: Vec<(Day, usize)> = parts
            .by_day
            .iter()
            .map(|(d, b)| (*d, b.iter().map(RecordBatch::num_rows).sum()))
            .collect();
        assert_eq!(sizes, vec![(None, 1), (Some(1), 2), (Some(2), 1)]);
        assert_eq!(parts.rows, 4);
    }

    #[test]
    fn the_same_rows_in_another_order_encode_to_the_same_bytes() {
        let a = batch(vec![Some(1), Some(1)], vec!["x", "y"]);
        let b = batch(vec![Some(1), Some(1)], vec!["y", "x"]);
        // Same rows, other order (n follows the name in both).
        let b = RecordBatch::try_new(
            b.schema(),
            vec![
                b.column(0).clone(),
                b.column(1).clone(),
                Arc::new(Int64Array::from(vec![1, 0])),
            ],
        )
        .unwrap();
        let schema = a.schema();
        let ea = encode(&schema, &[a], &["ts"]).unwrap();
        let eb = encode(&schema, &[b], &["ts"]).unwrap();
        assert_eq!(ea.sha256, eb.sha256);
        assert_eq!(ea.rows, 2);
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(ea.bytes))
            .unwrap()
            .build()
            .unwrap();
        let back: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let schema = back[0].schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, vec!["name", "n"], "the path's column is left out");
    }

    #[test]
    fn only_days_before_the_last_one_seen_are_complete() {
        let mut parts = Partitions::default();
        let first = batch(vec![Some(1), Some(2), Some(3)], vec!["a", "b", "c"]);
        let last = last_day(&first, Some("ts")).unwrap();
        assert_eq!(last, Some(3));
        parts.add(first, Some("ts")).unwrap();
        let done: Vec<Day> = parts
            .take_complete(last)
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        assert_eq!(done, vec![Some(1), Some(2)]);
        let second = batch(vec![Some(3), None], vec!["d", "e"]);
        let last = last_day(&second, Some("ts")).unwrap();
        assert_eq!(last, None, "rows without a day come last");
        parts.add(second, Some("ts")).unwrap();
        let done: Vec<(Day, usize)> = parts
            .take_complete(last)
            .into_iter()
            .map(|(d, b)| (d, b.iter().map(RecordBatch::num_rows).sum()))
            .collect();
        assert_eq!(done, vec![(Some(3), 2)], "day 3's rows from both batches");
        assert_eq!(parts.by_day.keys().copied().collect::<Vec<_>>(), vec![None]);
        assert_eq!(
            last_day(&batch(vec![Some(5)], vec!["x"]), None).unwrap(),
            None
        );
    }

    #[test]
    fn day_numbers_and_text_agree() {
        assert_eq!(day_text(0), "1970-01-01");
        assert_eq!(
            parse_day("2026-11-25").map(day_text).as_deref(),
            Some("2026-11-25")
        );
    }
}
