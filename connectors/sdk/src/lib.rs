//! loopql's connector plugin ABI v1, and the safe side of it for connector authors.
//!
//! A connector is a `cdylib` that implements [`Connector`] and calls [`export_connector!`] once.
//! Everything that crosses the library boundary is either UTF-8 bytes with explicit lengths
//! (JSON manifests, options, filters, error messages) or Arrow's C Data / C Stream Interface
//! (schemas and record batches), so a connector depends on `arrow` only and keeps loading when
//! the host upgrades DataFusion. See `abi` for the exact symbols.

pub mod abi;
pub mod ahead;
mod connector;
pub mod csv_table;
pub mod diagnostics;
mod error;
#[doc(hidden)]
pub mod export;
pub mod files;
mod filtering;
#[cfg(feature = "http")]
pub mod http;
pub mod json;
mod manifest;
#[cfg(feature = "http")]
pub mod oauth;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod progress;
mod scan;
pub mod secrets;
#[cfg(feature = "standin")]
pub mod standin;
pub mod text;
pub mod window;
pub mod zip;

pub use arrow;
#[cfg(feature = "postgres")]
pub use postgres;
pub use serde_json;
#[cfg(feature = "http")]
pub use ureq;

/// The options of a source, as JSON.
pub type OptionsMap = serde_json::Map<String, serde_json::Value>;
pub use connector::{BatchReader, Connector};
pub use error::ConnectorError;
pub use filtering::filter_batch;
pub use manifest::{
    Changes, FilterSpec, INCREMENTAL_OPTION, Manifest, Mapping, OptionKind, OptionSpec, TableSpec,
};
pub use scan::{Filter, FilterOp, Scalar, ScanRequest, fetched_later};
