//! Runs a scan's statement on a reader thread and hands the rows over as Arrow batches; rows
//! skipped as bad travel with them, so the host's scan record counts them.

use super::Param;
use crate::csv_table::Kind;
use crate::diagnostics::{self, Skipped};
use crate::{BatchReader, ConnectorError};
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchReader};
use postgres::types::ToSql;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

const BATCH_ROWS: usize = 8192;

/// One column as the statement returns it.
pub struct Read {
    pub name: &'static str,
    pub kind: Kind,
    /// A NULL here makes the row bad.
    pub null_is_bad: bool,
}

pub struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
    /// The table, for messages.
    pub label: String,
}

enum Item {
    Batch(Result<RecordBatch, ArrowError>),
    Skipped(Skipped),
}

pub fn stream(
    client: postgres::Client,
    statement: Statement,
    schema: SchemaRef,
    columns: Vec<Read>,
    skip_bad_rows: bool,
) -> Result<BatchReader, ConnectorError> {
    let (tx, rx) = sync_channel(2);
    let thread_schema = schema.clone();
    std::thread::Builder::new()
        .name("loopql-postgres-scan".into())
        .spawn(move || {
            let mut skipped = Skipped::default();
            produce(
                client,
                statement,
                &thread_schema,
                &columns,
                skip_bad_rows,
                &mut skipped,
                &tx,
            );
            if skipped.skipped_rows > 0 {
                let _ = tx.send(Item::Skipped(skipped));
            }
        })
        .map_err(|e| ConnectorError::Other(format!("cannot start the scan thread: {e}")))?;
    Ok(Box::new(Rows { rx, schema }))
}

fn produce(
    mut client: postgres::Client,
    statement: Statement,
    schema: &SchemaRef,
    columns: &[Read],
    skip_bad_rows: bool,
    skipped: &mut Skipped,
    tx: &SyncSender<Item>,
) {
    let Statement { sql, params, label } = statement;
    let fail = |message: String| {
        let _ = tx.send(Item::Batch(Err(ArrowError::ExternalError(Box::new(
            ConnectorError::Other(message),
        )))));
    };
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let mut rows = match client.query_raw(&sql, refs) {
        Ok(rows) => rows,
        Err(e) => {
            return fail(format!(
                "PostgreSQL refused `{sql}`: {}",
                super::message(&e)
            ));
        }
    };
    let mut builders = Builders::new(columns);
    let mut n: u64 = 0;
    loop {
        match postgres::fallible_iterator::FallibleIterator::next(&mut rows) {
            Ok(Some(row)) => {
                n += 1;
                match builders.push(&row, columns) {
                    Ok(()) => {}
                    Err(bad) => {
                        let error = ConnectorError::Other(format!("{label}, row {n}: {bad}"));
                        if !skip_bad_rows {
                            return fail(format!(
                                "{error}; fix the row, or set on_bad_row = \"skip\" on the source"
                            ));
                        }
                        skipped.skipped_rows += 1;
                        if skipped.examples.len() < 5 {
                            skipped.examples.push(error.to_string());
                        }
                        continue;
                    }
                }
                if builders.len == BATCH_ROWS
                    && tx.send(Item::Batch(builders.finish(schema))).is_err()
                {
                    return; // the reader was dropped
                }
            }
            Ok(None) => break,
            Err(e) => {
                return fail(format!("reading rows of `{sql}`: {}", super::message(&e)));
            }
        }
    }
    if builders.len > 0 {
        let _ = tx.send(Item::Batch(builders.finish(schema)));
    }
}

enum B {
    Text(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
}

struct Builders {
    columns: Vec<B>,
    len: usize,
}

/// A row's value at `i`, or why the row is bad.
fn get<'a, T: postgres::types::FromSql<'a>>(
    row: &'a postgres::Row,
    i: usize,
    column: &Read,
) -> Result<Option<T>, String> {
    let v = row
        .try_get::<_, Option<T>>(i)
        .map_err(|e| format!("column `{}`: {e}", column.name))?;
    Ok(v)
}

/// Whether the row's value at `i` (of `kind`, as the statement reads it) is NULL.
fn is_null(row: &postgres::Row, i: usize, kind: Kind) -> bool {
    match kind {
        Kind::Utf8 => row.try_get::<_, Option<&str>>(i).is_ok_and(|v| v.is_none()),
        Kind::Int64 | Kind::Timestamp => {
            row.try_get::<_, Option<i64>>(i).is_ok_and(|v| v.is_none())
        }
        Kind::Float64 => row.try_get::<_, Option<f64>>(i).is_ok_and(|v| v.is_none()),
        Kind::Bool => row.try_get::<_, Option<bool>>(i).is_ok_and(|v| v.is_none()),
        Kind::Date => row.try_get::<_, Option<i32>>(i).is_ok_and(|v| v.is_none()),
    }
}

impl Builders {
    fn new(columns: &[Read]) -> Self {
        let columns = columns
            .iter()
            .map(|c| match c.kind {
                Kind::Utf8 => B::Text(StringBuilder::new()),
                Kind::Int64 => B::Int(Int64Builder::new()),
                Kind::Float64 => B::Float(Float64Builder::new()),
                Kind::Bool => B::Bool(BooleanBuilder::new()),
                Kind::Date => B::Date(Date32Builder::new()),
                Kind::Timestamp => B::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
            })
            .collect();
        Self { columns, len: 0 }
    }

    /// Appends a row, all of it or (a bad row) none of it.
    fn push(&mut self, row: &postgres::Row, columns: &[Read]) -> Result<(), String> {
        // Checked before anything is appended, so a bad row leaves no part of itself behind.
        for (i, c) in columns.iter().enumerate() {
            if c.null_is_bad && is_null(row, i, c.kind) {
                return Err(format!("column `{}` is NULL; it must have a value", c.name));
            }
        }
        for (i, (b, c)) in self.columns.iter_mut().zip(columns).enumerate() {
            match b {
                B::Text(b) => b.append_option(get::<String>(row, i, c)?),
                B::Int(b) => b.append_option(get::<i64>(row, i, c)?),
                B::Float(b) => b.append_option(get::<f64>(row, i, c)?),
                B::Bool(b) => b.append_option(get::<bool>(row, i, c)?),
                B::Date(b) => b.append_option(get::<i32>(row, i, c)?),
                B::Ts(b) => b.append_option(get::<i64>(row, i, c)?),
            }
        }
        self.len += 1;
        Ok(())
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| match b {
                B::Text(b) => Arc::new(b.finish()) as ArrayRef,
                B::Int(b) => Arc::new(b.finish()),
                B::Float(b) => Arc::new(b.finish()),
                B::Bool(b) => Arc::new(b.finish()),
                B::Date(b) => Arc::new(b.finish()),
                B::Ts(b) => Arc::new(b.finish()),
            })
            .collect();
        self.len = 0;
        RecordBatch::try_new(schema.clone(), arrays)
    }
}

struct Rows {
    rx: Receiver<Item>,
    schema: SchemaRef,
}

impl Iterator for Rows {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.rx.recv().ok()? {
                Item::Batch(b) => return Some(b),
                Item::Skipped(s) => diagnostics::merge(s),
            }
        }
    }
}

impl RecordBatchReader for Rows {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
