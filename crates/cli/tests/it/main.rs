//! The `loopql` binary end to end, one test binary: the command line, the shell (without and
//! with a terminal), the demo, connectors, reports (every format, parameters, HTML in a real
//! browser), the warehouse sync (on a folder and on an S3-compatible server), the Ballista cluster, the Flight SQL server with Python's
//! clients, and the live Meta and Google Ads connectors against stand-in APIs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod cluster;
mod connectors_cli;
mod crm_incremental;
mod demo_cli;
mod demo_clients;
mod flight_clients;
mod google_ads_live;
mod meta_live;
mod postgres_demo;
mod report_clients;
mod report_html;
mod reports;
mod s3;
mod serve;
mod shell;
mod shell_pty;
mod support;
mod sync;
mod sync_failed_source;
mod sync_progress;
mod sync_s3;
mod sync_schedule;
