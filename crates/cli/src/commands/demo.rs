//! `loopql demo`: write the demo project, run a first query, say what to try next.

use loopql_core::output::{self, Format};
use loopql_core::{EngineBuilder, FrontEnd, Project, QueryOptions};
use loopql_demo as demo;
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
    /// Data volume: 1 is about 100k web sessions across the three named clients (the default
    /// stays quick); each further client of --clients is as large as one of them.
    #[arg(long, default_value_t = demo::DEFAULT_SCALE)]
    scale: f64,
    /// How many clients: acme, globex and initech, then generated agency clients (client04, ...)
    /// shaped like them in turn, each with six sources (Google, Meta, Microsoft and LinkedIn
    /// Ads, web analytics, CRM). The first clients' files do not depend on the number.
    #[arg(long, default_value_t = demo::DEFAULT_CLIENTS, value_name = "N")]
    clients: usize,
    /// Write the ad platforms' later export, in which the last 3 days' conversions are final
    /// (run it over an earlier demo with the same seed to see a restatement).
    #[arg(long)]
    restated: bool,
    /// Keep the CRM of the client with its own CRM database (initech) and the Snowplow events
    /// of the Snowplow client (globex, as the Snowplow loader keeps them) in this PostgreSQL
    /// server, e.g. "host=127.0.0.1 port=5432 user=loopql dbname=postgres"; without it initech
    /// gets HubSpot exports and globex Snowplow TSV exports.
    #[arg(long, value_name = "CONNINFO")]
    postgres: Option<String>,
    /// Environment variable holding the PostgreSQL password (read by the demo and by the
    /// connector; the project file never holds it).
    #[arg(long, default_value = "PGPASSWORD")]
    postgres_password_env: String,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.scale > 0.0 && args.scale <= 1000.0) {
        anyhow::bail!("--scale must be above 0 and at most 1000");
    }
    if !(1..=1000).contains(&args.clients) {
        anyhow::bail!("--clients must be between 1 and 1000");
    }
    let options = demo::Options {
        restated: args.restated,
        postgres: args
            .postgres
            .as_deref()
            .map(|c| demo::PgTarget::parse(c, &args.postgres_password_env))
            .transpose()?,
        clients: args.clients,
        ..demo::Options::new(args.seed, args.scale)
    };
    let written = demo::write(&args.dir, &options)?;
    println!(
        "Wrote a demo project to {} ({} files): {} clients with Google Ads and Meta Ads, web analytics (GA4 or Snowplow) and CRM (HubSpot, Salesforce{}) exports, and exchange rates.\n",
        written.dir.display(),
        written.files.len(),
        args.clients,
        if options.postgres.is_some() {
            ", a PostgreSQL CRM, Snowplow events in PostgreSQL"
        } else {
            ""
        }
    );
    // The exports just written, not an earlier demo's synced warehouse.
    let project = Project::load(&written.project_file)?;
    let engine = EngineBuilder::live(project).open().await?;
    println!("{}\n", demo::FIRST_QUERY);
    let stream = engine
        .plan(demo::FIRST_QUERY, &QueryOptions::new(FrontEnd::Demo))
        .await?
        .stream()
        .await?
        .boxed();
    let mut stdout = std::io::stdout();
    output::write(stream, Format::Table, &mut stdout).await?;
    let p = written.project_file.display();
    let exe = std::env::current_exe().unwrap_or_else(|_| "loopql".into());
    let loopql = exe.display();
    println!(
        "\nTry next:\n  {loopql} query --project {p} \"SELECT * FROM ad_performance WHERE client_id = 'acme' LIMIT 5\"\n  {loopql} query --project {p} --format csv --out stats.csv \"SELECT * FROM google_ads.campaign_stats\"\n  {loopql} query --project {p} \"SELECT channel, model, round(sum(spend), 2) AS spend, round(sum(revenue), 2) AS revenue FROM roi_by_channel WHERE client_id = 'acme' AND model IN ('last_touch', 'markov') GROUP BY 1, 2 ORDER BY 1, 2\"\n  {loopql} report run monthly_overview --project {p} --client acme --out acme-overview.html\n  {loopql} sync --project {p}   (then queries read the Parquet warehouse; --live reads the exports)\n  {loopql} connectors list --project {p}\n  compare with {}/ground_truth/ads_by_client_platform_month.csv",
        written.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
