//! Errors a connector reports; their `Display` is what the analyst reads, so each one says
//! where (file:line:column), what was expected, what was found, and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("unknown table `{table}`; this connector has: {available}")]
    UnknownTable { table: String, available: String },

    #[error("option `{name}`: {message}")]
    InvalidOption { name: String, message: String },

    #[error(
        "no file matches `{pattern}`; check the source's `path` option (globs like `exports/*.csv` are allowed)"
    )]
    NoFiles { pattern: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A value in an export that does not fit its column.
    #[error(
        "{}:{line}:{column}: column `{column_name}`: expected {expected}, found `{found}`; fix the export or re-download it",
        path.display()
    )]
    BadValue {
        path: PathBuf,
        line: u64,
        column: u64,
        column_name: String,
        expected: String,
        found: String,
    },

    /// The file is not in the shape the connector reads.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },

    #[error("{0}")]
    Other(String),
}
