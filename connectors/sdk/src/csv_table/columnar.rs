//! The fast path of [`super::read_batches`]: a file whose first record is its header, decoded
//! by arrow-csv into text columns, then each column parsed for its kind with the row path's
//! own rules (trimming, what an empty cell means, the text check, the date, timestamp and
//! number layouts). Anything this path does not take as the row path would — a preamble or a
//! footer, a row with another number of fields, a value that does not parse — makes it give
//! the file back (`None`), and the row path reads it, locating the problem.

use super::{
    BATCH_ROWS, Builder, Column, Dialect, Empty, Kind, TextCheck, parse_value, positions, schema,
};
use crate::ahead::Sink;
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray, StringBuilder};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// Hands the file's batches to `sink` as they are decoded: true when that went to the end (or
/// the reader went away), false when the row path must read the rest — the rows after the
/// [`Sink::rows`] handed on.
pub(super) fn read(
    text: &str,
    columns: &[Column],
    dialect: &Dialect,
    check: Option<TextCheck<'_>>,
    sink: &mut Sink<'_>,
) -> bool {
    decode(text, columns, dialect, check, sink).is_some()
}

fn decode(
    text: &str,
    columns: &[Column],
    dialect: &Dialect,
    check: Option<TextCheck<'_>>,
    sink: &mut Sink<'_>,
) -> Option<()> {
    if !dialect.footer_prefixes.is_empty() {
        return None;
    }
    let mut header = csv::StringRecord::new();
    let mut first = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(dialect.delimiter)
        .from_reader(text.as_bytes());
    if !first.read_record(&mut header).ok()? {
        return None;
    }
    let position = positions(&header, columns);
    if columns
        .iter()
        .zip(&position)
        .any(|(c, p)| c.required && p.is_none())
    {
        return None; // a preamble before the header, or no header: the row path says which
    }
    let cells = Arc::new(Schema::new(
        (0..header.len())
            .map(|i| Field::new(format!("c{i}"), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let reader = arrow::csv::ReaderBuilder::new(cells)
        .with_header(true)
        .with_delimiter(dialect.delimiter)
        .with_batch_size(BATCH_ROWS)
        .build(text.as_bytes())
        .ok()?;
    for raw in reader {
        let batch = convert(&raw.ok()?, columns, &position, dialect, check)?;
        if batch.num_rows() > 0 && !sink.push(batch) {
            break;
        }
    }
    Some(())
}

/// Rows whose every cell is blank are not rows (the row path skips them): `None` keeps all.
fn non_blank(raw: &RecordBatch) -> Option<BooleanArray> {
    let rows = raw.num_rows();
    let mut keep = vec![false; rows];
    let mut left = rows;
    for column in raw.columns() {
        let cells = column.as_string::<i32>();
        for (i, kept) in keep.iter_mut().enumerate() {
            if !*kept && cells.is_valid(i) && !cells.value(i).trim().is_empty() {
                *kept = true;
                left -= 1;
            }
        }
        if left == 0 {
            return None;
        }
    }
    Some(BooleanArray::from(keep))
}

fn convert(
    raw: &RecordBatch,
    columns: &[Column],
    position: &[Option<usize>],
    dialect: &Dialect,
    check: Option<TextCheck<'_>>,
) -> Option<RecordBatch> {
    let raw = match non_blank(raw) {
        None => raw.clone(),
        Some(keep) => filter_record_batch(raw, &keep).ok()?,
    };
    let rows = raw.num_rows();
    let arrays = columns
        .iter()
        .zip(position)
        .map(|(c, at)| match at {
            None => Some(arrow::array::new_null_array(&c.kind.data_type(), rows)),
            Some(i) => column(raw.column(*i).as_string::<i32>(), c, dialect, check),
        })
        .collect::<Option<Vec<ArrayRef>>>()?;
    RecordBatch::try_new(schema(columns), arrays).ok()
}

/// One column's cells parsed for its kind; `None` at the first cell the row path would refuse.
fn column(
    cells: &StringArray,
    column: &Column,
    dialect: &Dialect,
    check: Option<TextCheck<'_>>,
) -> Option<ArrayRef> {
    let n = cells.len();
    let cell = |i: usize| -> Option<&str> {
        cells
            .is_valid(i)
            .then(|| cells.value(i).trim())
            .filter(|v| !v.is_empty())
    };
    if column.kind == Kind::Utf8 {
        // Nothing to trim, nothing empty, nothing to check: the decoded column as it is.
        let as_read = check.is_none()
            && column.empty == Empty::Null
            && (0..n).all(|i| {
                cells.is_null(i) || {
                    let v = cells.value(i);
                    !v.is_empty() && v.trim().len() == v.len()
                }
            });
        if as_read {
            return Some(Arc::new(cells.clone()));
        }
        let mut out = StringBuilder::with_capacity(n, cells.values().len());
        for i in 0..n {
            match cell(i) {
                None => match column.empty {
                    Empty::Null => out.append_null(),
                    Empty::Zero => out.append_value(""),
                    Empty::Error => return None,
                },
                Some(v) => match check.map_or(Ok(None), |f| f(column, v)) {
                    Ok(None) => out.append_value(v),
                    Ok(Some(rewritten)) => out.append_value(rewritten),
                    Err(_) => return None,
                },
            }
        }
        return Some(Arc::new(out.finish()));
    }
    let mut out = Builder::new(column.kind);
    for i in 0..n {
        match cell(i) {
            None => match column.empty {
                Empty::Null => out.null(),
                Empty::Zero => out.zero(),
                Empty::Error => return None,
            },
            Some(v) => out.push(parse_value(column.kind, v, dialect.thousands_separator)?),
        }
    }
    Some(out.finish())
}

#[cfg(test)]
mod tests {
    use super::super::{read_batches, tests::COLUMNS};
    use super::*;

    /// The columnar path alone: its batches, or `None` when it gave the file up.
    fn columnar(
        text: &str,
        dialect: &Dialect,
        check: Option<TextCheck<'_>>,
    ) -> Option<Vec<RecordBatch>> {
        crate::ahead::collect(|sink| {
            read(text, COLUMNS, dialect, check, sink)
                .then_some(())
                .ok_or(())
        })
        .ok()
    }

    fn both(text: &str, dialect: &Dialect) -> (Option<Vec<RecordBatch>>, RecordBatch) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, text).unwrap();
        let fast = columnar(text, dialect, None);
        // The row path alone: a preamble dialect sends every file there.
        let rows = super::super::read(
            &path,
            COLUMNS,
            &Dialect {
                footer_prefixes: &["\u{0}never"],
                ..dialect.clone()
            },
        )
        .unwrap();
        let via = read_batches(&path, COLUMNS, dialect, None).unwrap();
        let via = arrow::compute::concat_batches(&schema(COLUMNS), &via).unwrap();
        assert_eq!(via, rows, "read_batches gives what the row path gives");
        (fast, rows)
    }

    #[test]
    fn columns_equal_the_row_path() {
        let text = "Date,Clicks,Spend,CampaignName,Seen\n\
            2024-01-01,3,1.5, brand ,2024-01-05T10:10:00Z\n\
            \n\
            \"2024-01-02\",,,\"\",\n\
            ,,,,\n\
            1/3/2024,7,2,\"a, b\",2024-01-05 10:10:00.5\n";
        let (fast, rows) = both(text, &Dialect::default());
        let fast = fast.expect("a plain file takes the columnar path");
        let fast = arrow::compute::concat_batches(&schema(COLUMNS), &fast).unwrap();
        assert_eq!(fast, rows);
        assert_eq!(
            rows.num_rows(),
            3,
            "the blank and the all-empty lines are not rows"
        );
        let names = rows.column(3).as_string::<i32>();
        assert_eq!(names.value(0), "brand", "trimmed");
        assert!(names.is_null(1));
        assert_eq!(names.value(2), "a, b");
    }

    #[test]
    fn what_the_row_path_must_say_is_left_to_it() {
        for text in [
            "Date,Clicks,Spend\n2024-01-01,three,1\n", // a bad value: located there
            "Date,Clicks,Spend\n2024-01-01,3\n",       // a short row
            "Report\nDate,Clicks,Spend\n2024-01-01,3,1\n", // a preamble
        ] {
            let dialect = Dialect {
                preamble: true,
                ..Dialect::default()
            };
            assert!(columnar(text, &dialect, None).is_none(), "{text:?}");
        }
        let thousands = Dialect {
            thousands_separator: true,
            ..Dialect::default()
        };
        let (fast, rows) = both(
            "Date,Clicks,Spend\n2024-01-01,\"1,200\",\"1,234.50\"\n",
            &thousands,
        );
        let fast = fast.expect("thousands separators parse on the columnar path");
        assert_eq!(fast[0], rows);
    }

    #[test]
    fn a_bad_value_past_the_first_batches_resumes_on_the_row_path() {
        let mut text = String::from("Date,Clicks,Spend\n");
        for i in 0..BATCH_ROWS + 5 {
            text.push_str(&format!("2024-01-01,{i},1\n"));
        }
        text.push_str("2024-01-02,three,1\n2024-01-03,9,1\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, &text).unwrap();
        let skip = Dialect {
            skip_bad_rows: true,
            ..Dialect::default()
        };
        let _ = crate::diagnostics::take();
        let got = read_batches(&path, COLUMNS, &skip, None).unwrap();
        let got = arrow::compute::concat_batches(&schema(COLUMNS), &got).unwrap();
        assert_eq!(
            got.num_rows(),
            BATCH_ROWS + 6,
            "every good row once, the bad one skipped"
        );
        let clicks = got.column(1).as_primitive::<arrow::datatypes::Int64Type>();
        let want: Vec<i64> = (0..BATCH_ROWS as i64 + 5).chain([9]).collect();
        assert_eq!(clicks.values().to_vec(), want);
        let skipped = crate::diagnostics::take();
        assert_eq!(skipped.skipped_rows, 1);
        let line = BATCH_ROWS + 7;
        assert!(
            skipped.examples[0].contains(&format!(":{line}:2: column `Clicks`")),
            "{:?}",
            skipped.examples
        );
        let err = read_batches(&path, COLUMNS, &Dialect::default(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!(":{line}:2:")), "{err}");
    }

    #[test]
    fn checked_text_is_checked_here_too() {
        let upper = |_: &Column, v: &str| -> Result<Option<String>, String> {
            if v == "bad" {
                Err("anything but bad".into())
            } else {
                Ok(Some(v.to_uppercase()))
            }
        };
        let text = "Date,Clicks,Spend,CampaignName\n2024-01-01,1,1,brand\n";
        let out = columnar(text, &Dialect::default(), Some(&upper)).unwrap();
        assert_eq!(out[0].column(3).as_string::<i32>().value(0), "BRAND");
        let bad = text.replace("brand", "bad");
        assert!(columnar(&bad, &Dialect::default(), Some(&upper)).is_none());
    }
}
