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
