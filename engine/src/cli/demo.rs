//! `loopql demo`: write the demo project, run a first query, say what to try next.

use loopql::output::{self, Format};
use loopql::{Engine, Project, demo};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write the demo project into.
    #[arg(long, default_value = "loopql-demo")]
    dir: PathBuf,
    /// Seed of the generator: the same seed writes the same data.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Data volume: 1 is about 100k web sessions across the clients (the default stays quick).
    #[arg(long, default_value_t = demo::DEFAULT_SCALE)]
    scale: f64,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.scale > 0.0 && args.scale <= 1000.0) {
        anyhow::bail!("--scale must be above 0 and at most 1000");
    }
    let written = demo::write(&args.dir, args.seed, args.scale)?;
    println!(
        "Wrote a demo project to {} ({} files): {} clients with Google Ads, web analytics (GA4 or Snowplow) and CRM (HubSpot or Salesforce) exports, and exchange rates.\n",
        written.dir.display(),
        written.files.len(),
        demo::CLIENTS.len()
    );
    let engine = Engine::open(Project::load(&written.project_file)?).await?;
    println!("{}\n", demo::FIRST_QUERY);
    let stream = engine.stream(demo::FIRST_QUERY).await?;
    let mut stdout = std::io::stdout();
    output::write(stream, Format::Table, &mut stdout).await?;
    let p = written.project_file.display();
    let exe = std::env::current_exe().unwrap_or_else(|_| "loopql".into());
    let loopql = exe.display();
    println!(
        "\nTry next:\n  {loopql} query --project {p} \"SELECT * FROM ad_performance WHERE client_id = 'acme' LIMIT 5\"\n  {loopql} query --project {p} --format csv --out stats.csv \"SELECT * FROM google_ads.campaign_stats\"\n  {loopql} connectors list --project {p}\n  compare with {}/ground_truth/google_ads_by_client_month.csv",
        written.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
