//! Typed reading of CSV/TSV exports for file connectors: headers matched case-insensitively
//! (several accepted names per column), report preambles and footers skipped, every value parsed
//! to its Arrow type, and every bad value reported as `file:line:column` with what was expected.

pub use crate::text::{LineIndex, parse_date, parse_timestamp};
use crate::{ConnectorError, files};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

mod cells;
mod columnar;

use cells::{Builder, Value, finish, parse_value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Utf8,
    Int64,
    Float64,
    Bool,
    /// `YYYY-MM-DD`, `YYYYMMDD` or US `M/D/YYYY`.
    Date,
    /// RFC 3339 / ISO 8601 (offset or `Z`; naive means UTC) or epoch milliseconds; stored UTC µs.
    Timestamp,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Utf8 => "text",
            Kind::Int64 => "an integer",
            Kind::Float64 => "a number",
            Kind::Bool => "true or false",
            Kind::Date => "a date (YYYY-MM-DD)",
            Kind::Timestamp => "a timestamp (ISO 8601, e.g. 2024-01-05T10:00:00Z)",
        }
    }

    pub fn data_type(self) -> DataType {
        match self {
            Kind::Utf8 => DataType::Utf8,
            Kind::Int64 => DataType::Int64,
            Kind::Float64 => DataType::Float64,
            Kind::Bool => DataType::Boolean,
            Kind::Date => DataType::Date32,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }
}

/// What an empty cell means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    Null,
    Zero,
    Error,
}

#[derive(Debug, Clone)]
pub struct Column {
    /// The raw table's column name.
    pub name: &'static str,
    /// Header names accepted for it (compared case-insensitively, trimmed).
    pub headers: &'static [&'static str],
    pub kind: Kind,
    /// A missing header is an error (else the column is all NULL).
    pub required: bool,
    pub empty: Empty,
}

impl Column {
    pub const fn new(name: &'static str, headers: &'static [&'static str], kind: Kind) -> Self {
        Self {
            name,
            headers,
            kind,
            required: true,
            empty: Empty::Null,
        }
    }

    pub const fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub const fn empty(mut self, empty: Empty) -> Self {
        self.empty = empty;
        self
    }

    fn nullable(&self) -> bool {
        !self.required || self.empty == Empty::Null
    }
}

/// The raw table schema for these columns.
pub fn schema(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c.name, c.kind.data_type(), c.nullable()))
            .collect::<Vec<_>>(),
    ))
}

#[derive(Debug, Clone)]
pub struct Dialect {
    pub delimiter: u8,
    /// Skip lines before the header (report title, date range...): the header is the first line
    /// naming every required column.
    pub preamble: bool,
    /// Stop at a line whose first cell starts with one of these (report footers).
    pub footer_prefixes: &'static [&'static str],
    /// Numbers may carry `,` thousands separators (`"1,234.50"`).
    pub thousands_separator: bool,
    /// Skip (and count, see `diagnostics`) rows with a bad value instead of failing.
    pub skip_bad_rows: bool,
}

impl Default for Dialect {
    fn default() -> Self {
        Self {
            delimiter: b',',
            preamble: false,
            footer_prefixes: &[],
            thousands_separator: false,
            skip_bad_rows: false,
        }
    }
}

/// Rows per batch a file is read into: the host's batch size, so batches pass through it as
/// they are.
pub const BATCH_ROWS: usize = 8192;

fn normalize(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
}

/// The check that keeps every text cell as it is.
fn keep(_: &Column, _: &str) -> Result<Option<String>, String> {
    Ok(None)
}

/// Where each column is in a header record (`None`: not there).
fn positions(header: &csv::StringRecord, columns: &[Column]) -> Vec<Option<usize>> {
    let found: Vec<String> = header.iter().map(normalize).collect();
    columns
        .iter()
        .map(|c| {
            found
                .iter()
                .position(|h| c.headers.iter().any(|a| a.eq_ignore_ascii_case(h)))
        })
        .collect()
}

/// Checks (and may rewrite) a text cell: `Ok(None)` keeps it, `Ok(Some(v))` replaces it,
/// `Err(expected)` rejects it, saying what was expected.
pub type TextCheck<'a> = &'a dyn Fn(&Column, &str) -> Result<Option<String>, String>;

/// Reads one (possibly gzipped) file into a batch of the columns' schema.
pub fn read(
    path: &Path,
    columns: &[Column],
    dialect: &Dialect,
) -> Result<RecordBatch, ConnectorError> {
    let batches = read_batches(path, columns, dialect, None)?;
    arrow::compute::concat_batches(&schema(columns), &batches)
        .map_err(|e| ConnectorError::Other(e.to_string()))
}

/// Like [`read`], with every non-empty text cell passed through `check` (enumerations, label
/// normalization).
pub fn read_checked(
    path: &Path,
    columns: &[Column],
    dialect: &Dialect,
    check: TextCheck<'_>,
) -> Result<RecordBatch, ConnectorError> {
    let batches = read_batches(path, columns, dialect, Some(check))?;
    arrow::compute::concat_batches(&schema(columns), &batches)
        .map_err(|e| ConnectorError::Other(e.to_string()))
}

/// Like [`read_checked`] (`check` optional), as batches of at most [`BATCH_ROWS`] rows.
pub fn read_batches(
    path: &Path,
    columns: &[Column],
    dialect: &Dialect,
    check: Option<TextCheck<'_>>,
) -> Result<Vec<RecordBatch>, ConnectorError> {
    crate::ahead::collect(|sink| stream_batches(path, columns, dialect, check, sink))
}

/// Reads one file into `sink`, batch by batch. A file with its header on the first line is
/// decoded column by column ([`columnar`]); one that path cannot take (a preamble, a footer,
/// ragged rows, a bad value) is read row by row — from where the columnar path stopped —,
/// which says where a bad value is and skips its row when asked.
pub fn stream_batches(
    path: &Path,
    columns: &[Column],
    dialect: &Dialect,
    check: Option<TextCheck<'_>>,
    sink: &mut crate::ahead::Sink<'_>,
) -> Result<(), ConnectorError> {
    let text = files::read_to_string(path)?;
    stream_text(path, &text, columns, dialect, check, sink)
}

/// Like [`stream_batches`] over `text` already in memory (an API's answer turned into CSV);
/// errors name `label` as their file.
pub fn stream_text(
    label: &Path,
    text: &str,
    columns: &[Column],
    dialect: &Dialect,
    check: Option<TextCheck<'_>>,
    sink: &mut crate::ahead::Sink<'_>,
) -> Result<(), ConnectorError> {
    if columnar::read(text, columns, dialect, check, sink) {
        return Ok(());
    }
    let done = sink.rows();
    let batches = read_rows(label, text, columns, dialect, check)?;
    sink.push_after(batches, done);
    Ok(())
}

/// CSV text of `headers` and `rows` (quoted where needed): how a live connector hands an API's
/// records to [`read_text`], so they are read by the same rules as an export.
pub fn write_text<I, R, S>(headers: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(headers);
    for row in rows {
        let _ = w.write_record(row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The batches of CSV `text` (see [`stream_text`]).
pub fn read_text(
    label: &Path,
    text: &str,
    columns: &[Column],
    dialect: &Dialect,
    check: Option<TextCheck<'_>>,
) -> Result<Vec<RecordBatch>, ConnectorError> {
    crate::ahead::collect(|sink| stream_text(label, text, columns, dialect, check, sink))
}

/// The row path: every record parsed on its own, errors located by line and column.
fn read_rows(
    path: &Path,
    text: &str,
    columns: &[Column],
    dialect: &Dialect,
    check: Option<TextCheck<'_>>,
) -> Result<Vec<RecordBatch>, ConnectorError> {
    let check: TextCheck<'_> = check.unwrap_or(&keep);
    // Line numbers are only needed for errors and skipped rows: index the text on first use.
    let lines = std::cell::OnceCell::new();
    let line_of = |position: Option<&csv::Position>| -> u64 {
        lines
            .get_or_init(|| LineIndex::new(text.as_bytes()))
            .of(position)
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(dialect.delimiter)
        .from_reader(text.as_bytes());
    let malformed = |line: u64, message: String| ConnectorError::Malformed {
        path: path.to_path_buf(),
        line,
        column: 1,
        message,
    };
    let csv_err = |e: csv::Error| {
        let line = line_of(e.position());
        malformed(line, e.to_string())
    };

    let table = schema(columns);
    let mut batches = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut index: Option<Vec<Option<usize>>> = None;
    let mut first_line: Option<(u64, Vec<String>)> = None;
    let mut builders: Vec<Builder> = columns.iter().map(|c| Builder::new(c.kind)).collect();
    let mut rows = 0usize;
    while reader.read_record(&mut record).map_err(csv_err)? {
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let Some(idx) = &index else {
            let position = positions(&record, columns);
            let missing: Vec<&Column> = columns
                .iter()
                .zip(&position)
                .filter(|(c, p)| c.required && p.is_none())
                .map(|(c, _)| c)
                .collect();
            if missing.is_empty() {
                index = Some(position);
                continue;
            }
            if first_line.is_none() {
                let line = line_of(record.position());
                first_line = Some((line, record.iter().map(str::to_string).collect()));
            }
            if dialect.preamble {
                continue;
            }
            return Err(malformed(
                line_of(record.position()),
                format!(
                    "missing column `{}`; found [{}]",
                    missing[0].headers[0],
                    record.iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        let first = record.get(0).unwrap_or("").trim();
        if dialect.footer_prefixes.iter().any(|p| first.starts_with(p)) {
            break;
        }
        let bad =
            |at: usize, column: &Column, expected: String, found: &str| ConnectorError::BadValue {
                path: path.to_path_buf(),
                line: line_of(record.position()),
                column: at as u64 + 1,
                column_name: column.headers[0].to_string(),
                expected,
                found: found.to_string(),
            };
        let mut values: Vec<Value<'_>> = Vec::with_capacity(columns.len());
        let mut problem = None;
        for (column, at) in columns.iter().zip(idx) {
            let Some(at) = *at else {
                values.push(Value::Null);
                continue;
            };
            let text = record.get(at).unwrap_or("").trim();
            let value = if text.is_empty() {
                match column.empty {
                    Empty::Null => Ok(Value::Null),
                    Empty::Zero => Ok(Value::Zero),
                    Empty::Error => Err(bad(at, column, column.kind.expected().to_string(), "")),
                }
            } else if column.kind == Kind::Utf8 {
                match check(column, text) {
                    Ok(None) => Ok(Value::Text(Cow::Borrowed(text))),
                    Ok(Some(v)) => Ok(Value::Text(Cow::Owned(v))),
                    Err(expected) => Err(bad(at, column, expected, text)),
                }
            } else {
                parse_value(column.kind, text, dialect.thousands_separator)
                    .ok_or_else(|| bad(at, column, column.kind.expected().to_string(), text))
            };
            match value {
                Ok(v) => values.push(v),
                Err(e) => {
                    problem = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = problem {
            if dialect.skip_bad_rows {
                crate::diagnostics::skipped(&e);
                continue;
            }
            return Err(e);
        }
        for (builder, value) in builders.iter_mut().zip(values) {
            builder.push(value);
        }
        rows += 1;
        if rows == BATCH_ROWS {
            batches.push(finish(&table, &mut builders)?);
            rows = 0;
        }
    }
    if index.is_none() {
        let (line, found) = first_line.unwrap_or((1, Vec::new()));
        let required: Vec<&str> = columns
            .iter()
            .filter(|c| c.required)
            .map(|c| c.headers[0])
            .collect();
        return Err(malformed(
            line,
            format!(
                "no header row with the columns [{}]; first line found: [{}]",
                required.join(", "),
                found.join(", ")
            ),
        ));
    }
    if rows > 0 || batches.is_empty() {
        batches.push(finish(&table, &mut builders)?);
    }
    Ok(batches)
}

/// Scans one CSV-backed raw table: the files of option `path_option` (no option set: an empty
/// table), read with `columns` and `check`, then filtered, projected and limited per `request`.
pub fn scan(
    request: &crate::ScanRequest,
    path_option: &str,
    columns: &'static [Column],
    dialect: Dialect,
    check: fn(&Column, &str) -> Result<Option<String>, String>,
) -> Result<crate::BatchReader, ConnectorError> {
    let paths = match request.option_str(path_option) {
        Some(pattern) => files::expand(pattern)?,
        None => Vec::new(),
    };
    let dialect = Dialect {
        skip_bad_rows: crate::diagnostics::skip_bad_rows(request),
        ..dialect
    };
    let batches = files::streamed(paths, move |p, sink| {
        stream_batches(p, columns, &dialect, Some(&check), sink)
    });
    request.finish(&schema(columns), batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const COLUMNS: &[Column] = &[
        Column::new("day", &["TimePeriod", "Date"], Kind::Date),
        Column::new("clicks", &["Clicks"], Kind::Int64).empty(Empty::Zero),
        Column::new("spend", &["Spend"], Kind::Float64).empty(Empty::Zero),
        Column::new("name", &["CampaignName"], Kind::Utf8).optional(),
        Column::new("seen", &["Seen"], Kind::Timestamp).optional(),
    ];

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn preamble_footer_thousands_and_us_dates() {
        let (_d, path) = write(
            "\"Report Name: Campaign\"\n\"Report Time: 1/1/2024\"\n\n\"TimePeriod\",\"Clicks\",\"Spend\",\"Seen\"\n\"1/2/2024\",\"1,200\",\"1,234.50\",\"2024-01-02T10:00:00.000+0000\"\n\"2024-01-03\",\"\",\"\",\"\"\n\"©2024 Microsoft Corporation. All rights reserved. \"\n",
        );
        let dialect = Dialect {
            preamble: true,
            footer_prefixes: &["©"],
            thousands_separator: true,
            ..Default::default()
        };
        let b = read(&path, COLUMNS, &dialect).unwrap();
        assert_eq!(b.num_rows(), 2);
        let clicks = b
            .column(1)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        assert_eq!(clicks.values().as_ref(), [1200, 0]);
        let spend = b
            .column(2)
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap();
        assert_eq!(spend.value(0), 1234.5);
        let days = b
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Date32Array>()
            .unwrap();
        assert_eq!(days.value(0), parse_date("2024-01-02").unwrap());
        assert!(b.column(3).is_null(0), "absent optional column is NULL");
        let seen = b
            .column(4)
            .as_any()
            .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
            .unwrap();
        assert_eq!(seen.value(0), 1_704_189_600_000_000);
    }

    #[test]
    fn lines_are_right_after_blank_lines_and_with_crlf() {
        for text in [
            "Date,Clicks,Spend\r\n\r\n2024-01-01,3,1\r\n2024-01-02,x,1\r\n",
            "Date,Clicks,Spend\n\n2024-01-01,3,1\n2024-01-02,x,1\n",
        ] {
            let (_d, path) = write(text);
            let err = read(&path, COLUMNS, &Dialect::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains(":4:2: column `Clicks`"), "{text:?}: {err}");
        }
    }

    #[test]
    fn bad_value_is_located() {
        let (_d, path) = write("Date,Clicks,Spend\n2024-01-01,3,1.5\n2024-01-02,three,1\n");
        let err = read(&path, COLUMNS, &Dialect::default())
            .unwrap_err()
            .to_string();
        assert!(err.ends_with(":3:2: column `Clicks`: expected an integer, found `three`; fix the export or re-download it"), "{err}");
    }

    #[test]
    fn bad_rows_are_skipped_whole_and_counted_when_asked() {
        let (_d, path) = write(
            "Date,Clicks,Spend\n2024-01-01,3,1.5\n2024-01-02,three,1\n2024-01-03,4,oops\n2024-01-04,5,2\n",
        );
        let _ = crate::diagnostics::take();
        let dialect = Dialect {
            skip_bad_rows: true,
            ..Dialect::default()
        };
        let b = read(&path, COLUMNS, &dialect).unwrap();
        assert_eq!(b.num_rows(), 2, "two good rows, no half rows");
        let clicks = b
            .column(1)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        assert_eq!(clicks.values().as_ref(), [3, 5]);
        let skipped = crate::diagnostics::take();
        assert_eq!(skipped.skipped_rows, 2);
        assert!(
            skipped.examples[1].contains(":4:3: column `Spend`: expected a number, found `oops`"),
            "{:?}",
            skipped.examples
        );
    }

    #[test]
    fn missing_header_without_preamble_is_an_error() {
        let (_d, path) = write("Date,Clickz,Spend\n2024-01-01,3,1.5\n");
        let err = read(&path, COLUMNS, &Dialect::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":1:1: missing column `Clicks`; found [Date, Clickz, Spend]"),
            "{err}"
        );
    }

    #[test]
    fn timestamps_in_the_shapes_crms_export() {
        let want = 1_704_449_400_000_000; // 2024-01-05T10:10:00Z
        for t in [
            "2024-01-05T10:10:00Z",
            "2024-01-05T10:10:00.000+0000",
            "2024-01-05 10:10:00",
            "1704449400000",
            "2024-01-05T11:10:00+01:00",
        ] {
            assert_eq!(parse_timestamp(t), Some(want), "{t}");
        }
        assert_eq!(parse_timestamp("soon"), None);
    }
}
