//! Results as text in the shell's formats, including expanded rows (`\x`) and Markdown.

use super::meta::Format;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::error::Result;

fn cells(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<std::result::Result<_, _>>()?;
        for r in 0..b.num_rows() {
            rows.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    Ok(rows)
}

fn rows_line(n: usize) -> String {
    format!("({n} row{})", if n == 1 { "" } else { "s" })
}

/// `batches` (of `schema`) in `format`; `expanded` shows one column per line.
pub fn render(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: Format,
    expanded: bool,
) -> Result<String> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let n: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if expanded && matches!(format, Format::Table | Format::Markdown) {
        let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (i, row) in cells(batches)?.iter().enumerate() {
            out.push_str(&format!("-[ RECORD {} ]{}\n", i + 1, "-".repeat(20)));
            for (name, v) in names.iter().zip(row) {
                out.push_str(&format!("{name:<width$} | {v}\n"));
            }
        }
        out.push_str(&rows_line(n));
        return Ok(out);
    }
    match format {
        Format::Table => {
            let text = if batches.is_empty() {
                pretty_format_batches(&[RecordBatch::new_empty(schema.clone())])?
            } else {
                pretty_format_batches(batches)?
            };
            Ok(format!("{text}\n{}", rows_line(n)))
        }
        Format::Markdown => {
            let escape = |s: &str| s.replace('|', "\\|").replace('\n', " ");
            let mut out = format!(
                "| {} |\n",
                names
                    .iter()
                    .map(|n| escape(n))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            out.push_str(&format!("|{}\n", "---|".repeat(names.len())));
            for row in cells(batches)? {
                out.push_str(&format!(
                    "| {} |\n",
                    row.iter()
                        .map(|v| escape(v))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
            }
            Ok(out.trim_end().to_string())
        }
        Format::Csv | Format::Json | Format::Ndjson => {
            let mut buf: Vec<u8> = Vec::new();
            match format {
                Format::Csv => {
                    let mut w = datafusion::arrow::csv::WriterBuilder::new()
                        .with_header(true)
                        .build(&mut buf);
                    if batches.is_empty() {
                        w.write(&RecordBatch::new_empty(schema.clone()))?;
                    }
                    for b in batches {
                        w.write(b)?;
                    }
                }
                Format::Json => {
                    let mut w = datafusion::arrow::json::ArrayWriter::new(&mut buf);
                    for b in batches {
                        w.write(b)?;
                    }
                    w.finish()?;
                    if batches.iter().all(|b| b.num_rows() == 0) {
                        buf = b"[]".to_vec();
                    }
                }
                _ => {
                    let mut w = datafusion::arrow::json::LineDelimitedWriter::new(&mut buf);
                    for b in batches {
                        w.write(b)?;
                    }
                    w.finish()?;
                }
            }
            Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch() -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("channel", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("Paid | Search"), None])),
                Arc::new(Int64Array::from(vec![3, 4])),
            ],
        )
        .unwrap();
        (schema, b)
    }

    #[test]
    fn markdown_escapes_pipes_and_shows_nulls() {
        let (s, b) = batch();
        let text = render(&s, &[b], Format::Markdown, false).unwrap();
        assert_eq!(
            text,
            "| channel | n |\n|---|---|\n| Paid \\| Search | 3 |\n| NULL | 4 |"
        );
    }

    #[test]
    fn expanded_rows() {
        let (s, b) = batch();
        let text = render(&s, &[b], Format::Table, true).unwrap();
        assert!(text.starts_with("-[ RECORD 1 ]"), "{text}");
        assert!(
            text.contains("channel | Paid | Search\nn       | 3\n"),
            "{text}"
        );
        assert!(text.ends_with("(2 rows)"), "{text}");
    }

    #[test]
    fn csv_and_json() {
        let (s, b) = batch();
        assert_eq!(
            render(&s, std::slice::from_ref(&b), Format::Csv, false).unwrap(),
            "channel,n\nPaid | Search,3\n,4"
        );
        let json = render(&s, &[b], Format::Json, false).unwrap();
        assert_eq!(json, "[{\"channel\":\"Paid | Search\",\"n\":3},{\"n\":4}]");
    }
}
