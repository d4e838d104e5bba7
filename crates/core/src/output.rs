//! Writes query results in the formats loopql offers, streaming where the format allows.

use crate::error::{EngineError, Result};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::json::WriterBuilder;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text table for people.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet (binary: use --out).
    Parquet,
}

/// Writes every batch of `stream` to `out`; returns the number of rows written.
pub async fn write(
    mut stream: SendableRecordBatchStream,
    format: Format,
    out: &mut (dyn Write + Send),
) -> Result<u64> {
    let schema = stream.schema();
    let mut rows = 0u64;
    match format {
        Format::Table => {
            let mut batches: Vec<RecordBatch> = Vec::new();
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                batches.push(b);
            }
            if batches.is_empty() {
                batches.push(RecordBatch::new_empty(schema));
            }
            let text = pretty_format_batches(&batches)?;
            writeln!(out, "{text}").map_err(io)?;
            writeln!(out, "({rows} row{})", if rows == 1 { "" } else { "s" }).map_err(io)?;
        }
        Format::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            let mut wrote_any = false;
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                w.write(&b)?;
                wrote_any = true;
            }
            if !wrote_any {
                w.write(&RecordBatch::new_empty(schema))?;
            }
        }
        Format::Json => {
            let mut w = WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, datafusion::arrow::json::writer::JsonArray>(&mut *out);
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                w.write(&b)?;
            }
            w.finish()?;
            drop(w);
            if rows == 0 {
                // ArrayWriter writes nothing for no rows; an empty array is still an array.
                write!(out, "[]").map_err(io)?;
            }
            writeln!(out).map_err(io)?;
        }
        Format::Ndjson => {
            let mut w = WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, datafusion::arrow::json::writer::LineDelimited>(&mut *out);
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                w.write(&b)?;
            }
            w.finish()?;
        }
        Format::Parquet => {
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut *out, schema, None)
                .map_err(|e| EngineError::DataFusion(e.into()))?;
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                w.write(&b).map_err(|e| EngineError::DataFusion(e.into()))?;
            }
            w.close().map_err(|e| EngineError::DataFusion(e.into()))?;
        }
    }
    out.flush().map_err(io)?;
    Ok(rows)
}

fn io(source: std::io::Error) -> EngineError {
    EngineError::Io {
        path: "<output>".into(),
        source,
    }
}
