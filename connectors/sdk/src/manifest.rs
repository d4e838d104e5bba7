//! The manifest a connector describes itself with: what it is, which options it takes, which raw
//! tables it exposes (schemas travel separately over the Arrow C Data Interface), which filters
//! it can apply, and how its raw tables map onto loopql's harmonized views.

use arrow::datatypes::{Schema, SchemaRef};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// SQL identifier (`[a-z][a-z0-9_]*`); the raw tables are registered in a schema of this name.
    pub name: String,
    /// The connector's own version (semver).
    pub version: String,
    pub description: String,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    pub tables: Vec<TableSpec>,
    #[serde(default)]
    pub mappings: Vec<Mapping>,
}

/// An option a source may set for this connector in `loopql.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    pub name: String,
    pub kind: OptionKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    pub description: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OptionKind {
    String,
    /// A file path; the host resolves it relative to the project file.
    Path,
    /// A glob of files; the host resolves it relative to the project file.
    Glob,
    Bool,
    Integer,
    Number,
}

impl OptionKind {
    pub fn describe(self) -> &'static str {
        match self {
            OptionKind::String => "a string",
            OptionKind::Path => "a file path",
            OptionKind::Glob => "a file glob",
            OptionKind::Bool => "true or false",
            OptionKind::Integer => "an integer",
            OptionKind::Number => "a number",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub name: String,
    pub description: String,
    /// Columns the connector can filter on while reading.
    #[serde(default)]
    pub filters: Vec<FilterSpec>,
    /// The column (a date or timestamp) holding the day each row's activity happened, when rows
    /// of past days change only within a trailing restatement window (daily ad reports, analytics
    /// events). `loopql sync` partitions the table by that day and re-reads only the window.
    /// `None`: rows may change at any time (CRM objects), so each sync re-reads the whole table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_date: Option<String>,
    /// Records that change at any time but carry their modification time (CRM objects read from
    /// a live API): a source that sets `incremental = true` has `loopql sync` read only the
    /// records modified since its previous read (an exact filter on `modified`) and merge them
    /// into the previous rows by `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    /// Not part of the JSON manifest: crosses as an `FFI_ArrowSchema`.
    #[serde(skip, default = "empty_schema")]
    pub schema: SchemaRef,
}

impl PartialEq for TableSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.description == other.description
            && self.filters == other.filters
            && self.activity_date == other.activity_date
            && self.changes == other.changes
            && self.schema == other.schema
    }
}

/// How a table's changed records are found and matched (see [`TableSpec::changes`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    /// The timestamp column holding each record's last modification; an exact filter.
    pub modified: String,
    /// The columns identifying a record.
    pub key: Vec<String>,
    /// A Boolean column true on a record deleted (archived) at the source: an incremental read
    /// returns those too, and the merge drops them and their previous rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

/// The source option that turns incremental reads on (added to the manifest of a connector with
/// a table that has [`TableSpec::changes`]).
pub const INCREMENTAL_OPTION: &str = "incremental";

fn empty_schema() -> SchemaRef {
    Arc::new(Schema::empty())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    pub column: String,
    /// True when the connector drops every row the filter rejects, so the host need not
    /// re-check it; false when it only prunes (files, partitions) and the host re-checks.
    pub exact: bool,
}

/// How one raw table feeds one harmonized view: a `SELECT` over the connector's raw tables
/// (schema-qualified with the connector's name) producing the view's canonical columns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub view: String,
    pub sql: String,
}
