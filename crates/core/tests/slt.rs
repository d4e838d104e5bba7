//! Runs every `tests/slt/**/*.slt` file against a loopql engine (sqllogictest format).
//!
//! Each file runs over the project named in a leading `# project: <path>` line (relative to the
//! repository root; paths in SQL are too), by default `tests/fixtures/project/loopql.toml`. Connector libraries are
//! found next to the test binary's target folder, so build the workspace first
//! (`cargo xtask test` does). An optional argument filters files by path substring.

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, Float32Array, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use loopql_core::{Engine, EngineBuilder, EngineError, Project};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

struct Db {
    engine: Engine,
}

#[async_trait]
impl AsyncDB for Db {
    type Error = EngineError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, EngineError> {
        let query = self.engine.sql(sql).await?;
        let schema = query.schema();
        let batches = query.collect().await?;
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                t if t.is_integer() => DefaultColumnType::Integer,
                t if t.is_floating()
                    || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
                {
                    DefaultColumnType::FloatingPoint
                }
                _ => DefaultColumnType::Text,
            })
            .collect();
        let mut rows = Vec::new();
        for batch in &batches {
            let columns: Vec<Vec<String>> = batch
                .columns()
                .iter()
                .map(cells)
                .collect::<Result<_, _>>()?;
            for r in 0..batch.num_rows() {
                rows.push(columns.iter().map(|c| c[r].clone()).collect());
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "loopql"
    }
}

/// Cell text: NULL for nulls, floats rounded to 6 decimals with trailing zeros dropped.
fn cells(array: &ArrayRef) -> Result<Vec<String>, EngineError> {
    let float = |v: f64| {
        let s = format!("{:.6}", v);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".to_string()
        } else {
            s.to_string()
        }
    };
    if let Some(a) = array.as_any().downcast_ref::<Float64Array>() {
        return Ok(a
            .iter()
            .map(|v| v.map(float).unwrap_or_else(|| "NULL".into()))
            .collect());
    }
    if let Some(a) = array.as_any().downcast_ref::<Float32Array>() {
        return Ok(a
            .iter()
            .map(|v| v.map(|x| float(x.into())).unwrap_or_else(|| "NULL".into()))
            .collect());
    }
    let options = FormatOptions::default().with_null("NULL");
    let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
    Ok((0..array.len())
        .map(|i| {
            let s = formatter.value(i).to_string();
            if s.is_empty() {
                "(empty)".to_string()
            } else {
                s
            }
        })
        .collect())
}

fn slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            slt_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "slt") {
            out.push(p);
        }
    }
}

fn project_of(root: &Path, file: &Path) -> PathBuf {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let named = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# project:"))
        .map(str::trim);
    root.join(named.unwrap_or("tests/fixtures/project/loopql.toml"))
}

fn main() -> ExitCode {
    let root = loopql_test_support::repo_root();
    // Paths inside .slt files (CREATE EXTERNAL TABLE ... LOCATION) are relative to the repository.
    if let Err(e) = std::env::set_current_dir(&root) {
        eprintln!("cannot enter {}: {e}", root.display());
        return ExitCode::FAILURE;
    }
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut files = Vec::new();
    slt_files(&root.join("tests/slt"), &mut files);
    files.sort();
    if files.is_empty() {
        // The suite itself is missing: never a silent pass.
        eprintln!(
            "no .slt files found under {}",
            root.join("tests/slt").display()
        );
        return ExitCode::FAILURE;
    }
    files.retain(|f| {
        filter
            .as_ref()
            .is_none_or(|q| f.to_string_lossy().contains(q.as_str()))
    });
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let project = project_of(&root, file);
        let mut runner = Runner::new(move || {
            let project = project.clone();
            async move {
                let engine = EngineBuilder::live(Project::load(&project)?).open().await?;
                Ok(Db { engine })
            }
        });
        let name = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        match runtime.block_on(runner.run_file_async(file)) {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Err(e) => {
                failed += 1;
                println!("test {name} ... FAILED\n{e}");
            }
        }
    }
    // A filter that names no .slt file (`cargo test --workspace -- some_rust_test`) runs none,
    // like libtest's own filters.
    println!("\nslt: {passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
