//! loopql-demo's integration tests: the shipped views over the demo reproduce the ground truth
//! the generator writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_filter;
mod demo_views;
mod fits;
mod stitching;
