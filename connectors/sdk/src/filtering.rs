//! Applies ABI filters to Arrow batches with arrow's comparison kernels, so a connector can
//! declare any column `exact` and let [`ScanRequest::finish`](crate::ScanRequest::finish) do the
//! filtering, projection and limit over its full-width batches.

use crate::{BatchReader, Filter, FilterOp, Scalar, ScanRequest};
use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::compute::kernels::cmp;
use arrow::compute::{and_kleene, cast, filter_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchReader};
use std::sync::Arc;

/// A one-element array holding `value`, cast to `target`.
fn literal(value: &Scalar, target: &DataType) -> Result<ArrayRef, ArrowError> {
    let array: ArrayRef = match value {
        Scalar::Utf8(s) | Scalar::Date(s) => Arc::new(StringArray::from(vec![s.as_str()])),
        Scalar::Int64(v) => Arc::new(Int64Array::from(vec![*v])),
        Scalar::Float64(v) => Arc::new(Float64Array::from(vec![*v])),
        Scalar::Bool(v) => Arc::new(BooleanArray::from(vec![*v])),
        Scalar::TimestampMicros(v) => {
            let tz = match target {
                DataType::Timestamp(_, tz) => tz.clone(),
                _ => None,
            };
            Arc::new(TimestampMicrosecondArray::from(vec![*v]).with_timezone_opt(tz))
        }
    };
    let out = cast(&array, target)?;
    if out.is_null(0) {
        return Err(ArrowError::InvalidArgumentError(format!(
            "filter value {value:?} does not fit a column of type {target}"
        )));
    }
    Ok(out)
}

/// Keeps the rows of `batch` for which every filter holds (SQL semantics: NULL is not kept).
pub fn filter_batch(batch: &RecordBatch, filters: &[Filter]) -> Result<RecordBatch, ArrowError> {
    if filters.is_empty() {
        return Ok(batch.clone());
    }
    let mut mask: Option<BooleanArray> = None;
    for f in filters {
        let index = batch.schema().index_of(&f.column)?;
        let column = batch.column(index);
        let value = arrow::array::Scalar::new(literal(&f.value, column.data_type())?);
        let m = match f.op {
            FilterOp::Eq => cmp::eq(column, &value)?,
            FilterOp::NotEq => cmp::neq(column, &value)?,
            FilterOp::Lt => cmp::lt(column, &value)?,
            FilterOp::LtEq => cmp::lt_eq(column, &value)?,
            FilterOp::Gt => cmp::gt(column, &value)?,
            FilterOp::GtEq => cmp::gt_eq(column, &value)?,
        };
        mask = Some(match mask {
            None => m,
            Some(prev) => and_kleene(&prev, &m)?,
        });
    }
    match mask {
        Some(m) => filter_record_batch(batch, &m),
        None => Ok(batch.clone()),
    }
}

/// Full-width batches in, the scan's answer out: filtered, then projected, then limited.
pub(crate) struct Finished<I> {
    inner: I,
    filters: Vec<Filter>,
    projection: Option<Vec<usize>>,
    remaining: Option<usize>,
    schema: SchemaRef,
}

impl<I> Iterator for Finished<I>
where
    I: Iterator<Item = Result<RecordBatch, ArrowError>>,
{
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            let batch = match self.inner.next()? {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            let step = filter_batch(&batch, &self.filters).and_then(|b| match &self.projection {
                Some(p) => b.project(p),
                None => Ok(b),
            });
            let mut b = match step {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            if let Some(left) = self.remaining.as_mut() {
                let take = b.num_rows().min(*left);
                *left -= take;
                b = b.slice(0, take);
            }
            if b.num_rows() > 0 {
                return Some(Ok(b));
            }
        }
    }
}

impl<I> RecordBatchReader for Finished<I>
where
    I: Iterator<Item = Result<RecordBatch, ArrowError>>,
{
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl ScanRequest {
    /// Wraps full-width batches of `table_schema` into the scan's answer: every filter applied
    /// exactly, the projection taken, the limit honored. A connector using this may declare all
    /// its filterable columns `exact`.
    pub fn finish<I>(
        &self,
        table_schema: &SchemaRef,
        batches: I,
    ) -> Result<BatchReader, crate::ConnectorError>
    where
        I: Iterator<Item = Result<RecordBatch, ArrowError>> + Send + 'static,
    {
        Ok(Box::new(Finished {
            inner: batches,
            filters: self.filters.clone(),
            projection: self.projection.clone(),
            remaining: self.limit,
            schema: self
                .projected_schema(table_schema)
                .map_err(|e| crate::ConnectorError::Other(e.to_string()))?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Date32Array;
    use arrow::datatypes::{Field, Schema, TimeUnit};

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("day", DataType::Date32, false),
            Field::new("id", DataType::Int64, true),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Date32Array::from(vec![19723, 19724, 19725])),
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![0, 1_000_000, 2_000_000]).with_timezone("UTC"),
            ),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn f(column: &str, op: FilterOp, value: Scalar) -> Filter {
        Filter {
            column: column.into(),
            op,
            value,
        }
    }

    #[test]
    fn date_range_and_null_semantics() {
        let b = filter_batch(
            &batch(),
            &[
                f("day", FilterOp::GtEq, Scalar::Date("2024-01-02".into())),
                f("id", FilterOp::NotEq, Scalar::Int64(0)),
            ],
        )
        .unwrap();
        // 2024-01-02 has a NULL id: NULL <> 0 is NULL, so the row is dropped.
        assert_eq!(b.num_rows(), 1);
        let ids = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(ids.value(0), 3);
    }

    #[test]
    fn timestamps_compare_in_micros() {
        let b = filter_batch(
            &batch(),
            &[f("ts", FilterOp::Lt, Scalar::TimestampMicros(1_000_000))],
        )
        .unwrap();
        assert_eq!(b.num_rows(), 1);
    }

    #[test]
    fn a_value_that_cannot_fit_the_column_is_an_error() {
        let err = filter_batch(
            &batch(),
            &[f("day", FilterOp::Eq, Scalar::Date("yesterday".into()))],
        );
        assert!(err.is_err());
    }

    #[test]
    fn finish_filters_projects_and_limits() {
        let req = ScanRequest {
            table: "t".into(),
            options: Default::default(),
            projection: Some(vec![1]),
            filters: vec![f("day", FilterOp::GtEq, Scalar::Date("2024-01-01".into()))],
            limit: Some(2),
        };
        let b = batch();
        let schema = b.schema();
        let parts = vec![Ok(b.clone()), Ok(b)];
        let out: Vec<RecordBatch> = req
            .finish(&schema, parts.into_iter())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(out.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        assert_eq!(out[0].schema().field(0).name(), "id");
    }
}
