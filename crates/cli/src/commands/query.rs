//! `loopql query "SQL"`.

use super::ProjectArg;
use loopql_core::output::{self, Format};
use loopql_core::{FrontEnd, QueryOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The SQL statement to run.
    sql: String,
    #[command(flatten)]
    project: ProjectArg,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the result to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let engine = args.project.engines()?.open().await?;
    if args.format == Format::Parquet
        && args.out.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        anyhow::bail!("Parquet is binary: pass --out FILE (or redirect standard output)");
    }
    let stream = engine
        .plan(&args.sql, &QueryOptions::new(FrontEnd::Query))
        .await?
        .stream()
        .await?
        .boxed();
    match &args.out {
        Some(path) => {
            // Write beside the target and rename, so a failed query never leaves half a file.
            let tmp = path.with_extension("loopql-tmp");
            let mut file = std::fs::File::create(&tmp)
                .map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
            let result = output::write(stream, args.format, &mut file).await;
            match result {
                Ok(rows) => {
                    std::fs::rename(&tmp, path)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                    eprintln!("wrote {rows} rows to {}", path.display());
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e.into());
                }
            }
        }
        None => {
            let mut stdout = std::io::stdout();
            output::write(stream, args.format, &mut stdout).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
