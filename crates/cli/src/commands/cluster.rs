//! `loopql cluster scheduler|executor`: Ballista roles with loopql's SQL functions.

use super::ProjectArg;
use loopql_cluster::roles::{self, ExecutorOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// A scheduler: plans queries sent with --cluster and hands their tasks to executors.
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
        listen: SocketAddr,
        #[command(flatten)]
        project: ProjectArg,
    },
    /// An executor: runs tasks from a scheduler, reading the warehouse's Parquet.
    Executor {
        /// The scheduler's address.
        #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
        scheduler: String,
        /// Host to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// Port of the executor's Flight service (shuffle data).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// Port of the executor's gRPC service.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Folder for shuffle files. Default: a temporary folder.
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
        /// Tasks run at once. Default: the number of cores.
        #[arg(long, default_value_t = 0)]
        concurrent_tasks: usize,
    },
}

pub async fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Scheduler { listen, project } => {
            let project = project.load()?;
            eprintln!(
                "loopql cluster scheduler on df://{listen} over {}",
                project.warehouse.display()
            );
            roles::run_scheduler(project, listen).await?;
        }
        Command::Executor {
            scheduler,
            bind_host,
            port,
            grpc_port,
            work_dir,
            concurrent_tasks,
        } => {
            let (host, p) = scheduler
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                .ok_or_else(|| anyhow::anyhow!("--scheduler `{scheduler}`: expected HOST:PORT"))?;
            eprintln!("loopql cluster executor on {bind_host}:{port} for scheduler {scheduler}");
            roles::run_executor(ExecutorOptions {
                scheduler: (host, p),
                bind_host,
                port,
                grpc_port,
                work_dir,
                concurrent_tasks,
            })
            .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
