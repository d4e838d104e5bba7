//! loopql: a SQL-queryable marketing-metrics engine on Apache DataFusion.
//!
//! The library knows nothing of terminals or wire protocols: front ends build an [`Engine`] from a
//! [`Project`] and send it SQL.

pub mod attribution;
pub mod budgets;
pub mod cluster;
pub mod demo;
pub mod error;
pub mod flight;
pub mod forecast;
pub mod functions;
pub mod fx;
pub mod output;
pub mod plugin_host;
pub mod project;
pub mod read_from;
pub mod reference;
pub mod reports;
pub mod server_config;
pub mod session;
pub mod settings;
pub mod shell;
pub mod tenancy;
pub mod views;
pub mod warehouse;

pub use error::{EngineError, Result};
pub use project::Project;
pub use session::Engine;
