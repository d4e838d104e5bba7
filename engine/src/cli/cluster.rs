//! `loopql cluster scheduler|executor`.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// A Ballista scheduler.
    Scheduler,
    /// A Ballista executor.
    Executor,
}

pub async fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("{cmd:?}: Ballista roles are not in this build yet")
}
