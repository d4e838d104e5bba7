//! loopql-core's integration tests, one binary: the plugin host against real connector
//! libraries, every function's documented example, attribution against the independent
//! `channelattribution` implementation, and the PostgreSQL connector against a real server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod functions;
mod oracle;
mod plugins;
mod postgres;
