//! `loopql connectors list|check`.

use super::ProjectArg;
use futures::StreamExt;
use loopql_core::engine::{EngineBuilder, Live, discover_plugins};
use loopql_core::{Engine, FrontEnd, QueryOptions};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Connector libraries found: name, version, ABI, tables, options; and why any was refused.
    List(ProjectArg),
    /// Like `list`, then reads every table of every configured source and reports rows or errors.
    Check(ProjectArg),
}

pub async fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    let (project, check) = match cmd {
        Command::List(p) => (p.load()?, false),
        Command::Check(p) => (p.load()?, true),
    };
    let host = discover_plugins(&project);
    let mut ok = true;
    println!(
        "Loaded connectors (ABI v{}):",
        loopql_connector_sdk::abi::ABI_VERSION
    );
    if host.connectors().next().is_none() {
        println!("  (none)");
    }
    for c in host.connectors() {
        let m = c.manifest();
        println!(
            "  {} {}  {}\n    {}",
            m.name,
            m.version,
            c.path().display(),
            m.description
        );
        for t in &m.tables {
            let cols: Vec<String> = t
                .schema
                .fields()
                .iter()
                .map(|f| format!("{} {}", f.name(), f.data_type()))
                .collect();
            println!("    table {}.{}: {}", m.name, t.name, cols.join(", "));
        }
        for o in &m.options {
            println!(
                "    option {}{} ({}): {}",
                o.name,
                if o.required { " (required)" } else { "" },
                o.kind.describe(),
                o.description
            );
        }
        for v in &m.mappings {
            println!("    maps onto {}", v.view);
        }
    }
    if !host.refused().is_empty() {
        ok = false;
        println!("Refused libraries:");
        for r in host.refused() {
            println!(
                "  {}\n    {}",
                r.path.display(),
                r.reason.replace('\n', "\n    ")
            );
        }
    }
    if check {
        println!("Sources:");
        let sources = project.sources.clone();
        let live = Arc::new(Live::with_host(host));
        let engine = match EngineBuilder::new(project, live).open().await {
            Ok(e) => e,
            Err(e) => {
                println!("  error: {e}");
                return Ok(ExitCode::FAILURE);
            }
        };
        for s in &sources {
            let Some(c) = engine.plugins().get(&s.connector) else {
                continue;
            };
            for t in &c.manifest().tables {
                let sql = format!(
                    "SELECT count(*) FROM \"{}\".\"{}\" WHERE client_id = '{}'",
                    s.connector,
                    t.name,
                    s.client_id.replace('\'', "''")
                );
                match count(&engine, &sql).await {
                    Ok(n) => {
                        println!(
                            "  {} ({}): {}.{} {n} rows",
                            s.name, s.client_id, s.connector, t.name
                        );
                        if let Some(skipped) =
                            c.skipped(&s.name, &t.name).filter(|k| k.skipped_rows > 0)
                        {
                            println!("    {} bad rows skipped; first ones:", skipped.skipped_rows);
                            for e in &skipped.examples {
                                println!("      {e}");
                            }
                        }
                    }
                    Err(e) => {
                        ok = false;
                        println!(
                            "  {} ({}): {}.{} FAILED: {e}",
                            s.name, s.client_id, s.connector, t.name
                        );
                    }
                }
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn count(engine: &Engine, sql: &str) -> anyhow::Result<i64> {
    let mut stream = engine
        .plan(sql, &QueryOptions::new(FrontEnd::Connectors))
        .await?
        .stream()
        .await?;
    let mut n = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if let Some(a) = batch
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
        {
            n += a.iter().flatten().sum::<i64>();
        }
    }
    Ok(n)
}
