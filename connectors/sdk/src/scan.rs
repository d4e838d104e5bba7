//! What the host asks of a scan: table, options, projection, filters and limit.

use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

/// One predicate `column op value`; the filters of a scan are ANDed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub column: String,
    pub op: FilterOp,
    pub value: Scalar,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl FilterOp {
    /// Whether `ordering` (of row value against the literal) satisfies this operator.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            FilterOp::Eq => ordering == Equal,
            FilterOp::NotEq => ordering != Equal,
            FilterOp::Lt => ordering == Less,
            FilterOp::LtEq => ordering != Greater,
            FilterOp::Gt => ordering == Greater,
            FilterOp::GtEq => ordering != Less,
        }
    }
}

/// A literal in a filter. Dates are `YYYY-MM-DD`; timestamps are microseconds since the epoch (UTC).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Scalar {
    Utf8(String),
    Int64(i64),
    Float64(f64),
    Bool(bool),
    Date(String),
    TimestampMicros(i64),
}

/// A scan as the connector sees it.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub table: String,
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Column indices of the table schema to return, in this order; `None` means all.
    pub projection: Option<Vec<usize>>,
    pub filters: Vec<Filter>,
    pub limit: Option<usize>,
}

impl ScanRequest {
    /// A request for every column of `table`, with no options, filters or limit (tests and tools).
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_string(),
            options: serde_json::Map::new(),
            projection: None,
            filters: Vec::new(),
            limit: None,
        }
    }

    /// The same request with option `name` set.
    pub fn with_option(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.options.insert(name.to_string(), value.into());
        self
    }

    /// The string option `name`, or an error saying it is required and `hint` (what to set).
    pub fn required_str(&self, name: &str, hint: &str) -> Result<&str, crate::ConnectorError> {
        self.option_str(name)
            .ok_or_else(|| crate::ConnectorError::InvalidOption {
                name: name.to_string(),
                message: format!("required; {hint}"),
            })
    }

    /// The string option `name`, if set.
    pub fn option_str(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(|v| v.as_str())
    }

    /// The filters on `column`.
    pub fn filters_on<'a>(&'a self, column: &'a str) -> impl Iterator<Item = &'a Filter> + 'a {
        self.filters.iter().filter(move |f| f.column == column)
    }

    /// The whole-number option `name` (a number, or text holding one) within `range`;
    /// `default` when unset.
    pub fn whole_number(
        &self,
        name: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, crate::ConnectorError> {
        let Some(v) = self.options.get(name) else {
            return Ok(default);
        };
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|n| range.contains(n))
            .ok_or_else(|| crate::ConnectorError::InvalidOption {
                name: name.into(),
                message: format!(
                    "expected a whole number from {} to {}, found {v}",
                    range.start(),
                    range.end()
                ),
            })
    }

    /// The table schema narrowed to the projection.
    pub fn projected_schema(&self, full: &SchemaRef) -> Result<SchemaRef, ArrowError> {
        match &self.projection {
            None => Ok(full.clone()),
            Some(p) => Ok(std::sync::Arc::new(full.project(p)?)),
        }
    }

    /// Narrows a batch holding every column of the table to the projection.
    pub fn project(&self, batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
        match &self.projection {
            None => Ok(batch),
            Some(p) => batch.project(p),
        }
    }
}

/// The batches of a read made when the host first asks for one (a live API's fetch, which should
/// not run while a query is only being planned); its error becomes the stream's error.
pub fn fetched_later<F>(read: F) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send
where
    F: FnOnce() -> Result<Vec<RecordBatch>, crate::ConnectorError> + Send,
{
    std::iter::once_with(read).flat_map(|read| match read {
        Ok(batches) => batches.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(e) => vec![Err(ArrowError::ExternalError(Box::new(e)))],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_come_as_numbers_or_text_within_their_range() {
        let request = ScanRequest::new("t")
            .with_option("a", 7)
            .with_option("b", " 12 ")
            .with_option("c", 0)
            .with_option("d", "many");
        assert_eq!(request.whole_number("a", 1, 1..=20).unwrap(), 7);
        assert_eq!(request.whole_number("b", 1, 1..=20).unwrap(), 12);
        assert_eq!(request.whole_number("unset", 5, 1..=20).unwrap(), 5);
        let err = request
            .whole_number("c", 1, 1..=20)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "option `c`: expected a whole number from 1 to 20, found 0"
        );
        assert!(request.whole_number("d", 1, 1..=20).is_err());
    }

    #[test]
    fn a_later_read_runs_once_when_asked_and_its_error_is_the_streams() {
        let ran = std::sync::atomic::AtomicUsize::new(0);
        let mut batches = fetched_later(|| {
            ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(crate::ConnectorError::Other("platform down".into()))
        });
        assert_eq!(
            ran.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "not before asked"
        );
        let err = batches.next().unwrap().unwrap_err().to_string();
        assert!(err.contains("platform down"), "{err}");
        assert!(batches.next().is_none());
        assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
