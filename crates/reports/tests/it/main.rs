//! loopql-reports' integration tests: the scheduler with an injected clock. (Reports through the
//! `loopql report` command line are tested with the binary, in crates/cli.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod report_schedule;
