//! One cell parsed for its column's kind, and the builders a file's columns are appended to:
//! shared by the row path and the columnar path, so both read every value the same way.

use super::{BATCH_ROWS, Kind, parse_date, parse_timestamp};
use crate::ConnectorError;
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use std::borrow::Cow;
use std::sync::Arc;

/// A cell parsed for its column, before anything is appended (a row is appended whole or not);
/// text borrows from the record unless a check rewrote it.
pub(super) enum Value<'r> {
    Null,
    Zero,
    Text(Cow<'r, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(i32),
    Micros(i64),
}

pub(super) fn parse_value(kind: Kind, text: &str, thousands: bool) -> Option<Value<'_>> {
    fn number(t: &str, thousands: bool) -> Cow<'_, str> {
        if thousands && t.contains(',') {
            Cow::Owned(t.replace(',', ""))
        } else {
            Cow::Borrowed(t)
        }
    }
    Some(match kind {
        Kind::Utf8 => Value::Text(Cow::Borrowed(text)),
        Kind::Int64 => Value::Int(number(text, thousands).parse::<i64>().ok()?),
        Kind::Float64 => Value::Float(
            number(text, thousands)
                .trim_end_matches('%')
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())?,
        ),
        Kind::Bool => {
            let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(text));
            if is(&["true", "1", "yes", "y", "t"]) {
                Value::Bool(true)
            } else if is(&["false", "0", "no", "n", "f"]) {
                Value::Bool(false)
            } else {
                return None;
            }
        }
        Kind::Date => Value::Date(parse_date(text)?),
        Kind::Timestamp => Value::Micros(parse_timestamp(text)?),
    })
}

pub(super) enum Builder {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Builder {
    pub(super) fn new(kind: Kind) -> Self {
        match kind {
            Kind::Utf8 => Builder::Utf8(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 16)),
            Kind::Int64 => Builder::Int64(Int64Builder::with_capacity(BATCH_ROWS)),
            Kind::Float64 => Builder::Float64(Float64Builder::with_capacity(BATCH_ROWS)),
            Kind::Bool => Builder::Bool(BooleanBuilder::with_capacity(BATCH_ROWS)),
            Kind::Date => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS)),
            Kind::Timestamp => Builder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            ),
        }
    }

    pub(super) fn null(&mut self) {
        match self {
            Builder::Utf8(b) => b.append_null(),
            Builder::Int64(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
        }
    }

    pub(super) fn zero(&mut self) {
        match self {
            Builder::Utf8(b) => b.append_value(""),
            Builder::Int64(b) => b.append_value(0),
            Builder::Float64(b) => b.append_value(0.0),
            Builder::Bool(b) => b.append_value(false),
            Builder::Date(_) | Builder::Timestamp(_) => self.null(),
        }
    }

    pub(super) fn push(&mut self, value: Value<'_>) {
        match (self, value) {
            (Builder::Utf8(b), Value::Text(v)) => b.append_value(v),
            (Builder::Int64(b), Value::Int(v)) => b.append_value(v),
            (Builder::Float64(b), Value::Float(v)) => b.append_value(v),
            (Builder::Bool(b), Value::Bool(v)) => b.append_value(v),
            (Builder::Date(b), Value::Date(v)) => b.append_value(v),
            (Builder::Timestamp(b), Value::Micros(v)) => b.append_value(v),
            (b, Value::Null) => b.null(),
            (b, Value::Zero) => b.zero(),
            (b, _) => b.null(), // unreachable: values are parsed for their column's kind
        }
    }

    pub(super) fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
        }
    }
}

/// The builders' rows as one batch of `table` (the builders start over).
pub(super) fn finish(
    table: &SchemaRef,
    builders: &mut [Builder],
) -> Result<RecordBatch, ConnectorError> {
    let arrays: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
    RecordBatch::try_new(table.clone(), arrays).map_err(|e| ConnectorError::Other(e.to_string()))
}
