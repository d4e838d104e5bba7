//! The demo generator's error type.

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file or folder of the demo could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The demo could not do what it was asked to (e.g. load a CRM into PostgreSQL).
    #[error("demo: {0}")]
    Demo(String),
}

pub type Result<T, E = DemoError> = std::result::Result<T, E>;
