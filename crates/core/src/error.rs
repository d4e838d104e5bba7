//! The engine's error type: one enum, typed fields, sources kept.

use crate::plugin_host::PluginError;
use crate::project::ProjectError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Project(#[from] ProjectError),

    #[error(transparent)]
    Plugin(#[from] PluginError),

    /// A source in the project that its connector cannot serve (unknown option, wrong type, ...).
    #[error("{location}: source `{source_name}`: {message}")]
    Source {
        location: String,
        source_name: String,
        message: String,
    },

    /// A shipped view that failed to register: a bug in loopql or in a connector's mapping.
    #[error("view `{view}` could not be created: {message}")]
    View { view: String, message: String },

    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),

    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),

    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    /// The project's budgets file has a bad cell (the message locates it).
    #[error("budgets: {0}")]
    Budgets(String),
    /// The project's costs file has a bad cell (the message locates it).
    #[error("costs: {0}")]
    Costs(String),

    /// `loopql serve` could not start or serve.
    #[error("server: {0}")]
    Server(String),

    /// A client id the project does not declare.
    #[error("no client `{id}` in the project; clients: {}", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownClient { id: String, known: Vec<String> },

    /// The project's annotations file has a bad cell (the message locates it).
    #[error("annotations: {0}")]
    Annotations(String),

    /// The warehouse could not be read or written (`loopql sync`, queries over it).
    #[error("warehouse {location}: {message}")]
    Warehouse { location: String, message: String },

    /// A query ran out of its time (planning, or running and streaming its result).
    #[error("the query {during} longer than its time limit of {limit:?}")]
    DeadlineExceeded {
        during: Stage,
        limit: std::time::Duration,
    },

    /// A read-only session was asked to change something (DDL, DML, `SET`).
    #[error("read-only: {0}")]
    ReadOnly(String),

    /// A value bound to a placeholder does not fit it.
    #[error("{0}")]
    Parameter(String),

    /// A query or sync needs something the chosen mode cannot give (e.g. a live table on a
    /// cluster).
    #[error("{0}")]
    Mode(String),

    /// The demo generator could not write what it was asked to (e.g. into PostgreSQL).
    #[error("demo: {0}")]
    Demo(String),

    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where a query was when its time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Planning,
    Running,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Planning => "took to plan",
            Self::Running => "ran",
        })
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
