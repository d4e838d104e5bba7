//! `loopql shell`: the interactive SQL shell, or `-c` / `-f` / piped statements.

use super::ProjectArg;
use crate::shell;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    project: ProjectArg,
    /// Scope the session to one client's data from the start (`\client ID` changes it).
    #[arg(long, value_name = "ID")]
    client: Option<String>,
    /// Run this SQL (or meta-command) and exit; repeatable, run in order. Stops at the first
    /// error with exit code 1.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    commands: Vec<String>,
    /// Run the statements in this file and exit (after any -c). Stops at the first error.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let code = shell::run(
        args.project.engines()?,
        shell::Options {
            client: args.client,
            commands: args.commands,
            file: args.file,
        },
    )
    .await;
    Ok(if code == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
