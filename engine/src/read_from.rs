//! Where an engine reads its tables: the warehouse, the connectors, or a cluster.

/// Where an engine's tables come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ReadFrom {
    /// The warehouse's current snapshot when one exists, else the connectors.
    #[default]
    Auto,
    /// The connectors, even when a warehouse exists (`--live`).
    Live,
    /// A Ballista cluster at this `df://HOST:PORT` URL, over the warehouse.
    Cluster(String),
}
