//! loopql-warehouse's integration tests, over the demo synced into a warehouse folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod credits_cache;
mod day_order;
mod incremental;
mod listed;
mod memory_limit;
mod result_cache;
mod stitched;
