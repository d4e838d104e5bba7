//! loopql-core: a SQL-queryable marketing-metrics engine on Apache DataFusion.
//!
//! A [`Project`] names clients and sources; an [`EngineBuilder`] turns it, with a read mode (a
//! [`TableSource`]: the connectors here, the warehouse or a cluster in the crates above), into
//! an [`Engine`]; front ends run SQL through [`Engine::plan`] and see what it can name through
//! [`Engine::catalog`]. This crate knows no terminal, no wire protocol and no Ballista: it never
//! prints, and it depends on none of loopql's other crates.

pub mod annotations;
pub mod attribution;
pub mod budgets;
pub mod costs;
pub mod engine;
pub mod error;
pub mod forecast;
pub mod functions;
pub mod fx;
pub mod lru;
pub mod output;
pub mod plugin_host;
pub mod project;
pub mod reference;
pub mod rng;
pub mod server_config;
pub mod settings;
pub mod sys;
mod tenancy;
pub mod views;

pub use engine::{
    CatalogSnapshot, Engine, EngineBuilder, FrontEnd, Params, Query, QueryOptions, QueryStream,
    TableSource,
};
pub use error::{EngineError, Result};
pub use project::Project;
