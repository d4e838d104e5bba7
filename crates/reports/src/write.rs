//! Writing a report run in one format: data formats through `loopql_core::output` (the same writers as
//! `loopql query`), documents through `markdown` and `html`.

use super::run::Run;
use datafusion::physical_plan::memory::MemoryStream;
use loopql_core::output::{self, Format};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
    Ndjson,
    Parquet,
    Markdown,
    Html,
}

impl std::str::FromStr for ReportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        <Self as clap::ValueEnum>::from_str(s, true)
    }
}

impl ReportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Table => "txt",
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
            ReportFormat::Ndjson => "ndjson",
            ReportFormat::Parquet => "parquet",
            ReportFormat::Markdown => "md",
            ReportFormat::Html => "html",
        }
    }

    fn data(self) -> Option<Format> {
        Some(match self {
            ReportFormat::Table => Format::Table,
            ReportFormat::Csv => Format::Csv,
            ReportFormat::Json => Format::Json,
            ReportFormat::Ndjson => Format::Ndjson,
            ReportFormat::Parquet => Format::Parquet,
            ReportFormat::Markdown | ReportFormat::Html => return None,
        })
    }
}

/// Writes `run` as `format` to `out`.
pub async fn write(
    run: &Run,
    format: ReportFormat,
    out: &mut (dyn Write + Send),
) -> loopql_core::Result<()> {
    match format.data() {
        Some(f) => {
            let stream =
                MemoryStream::try_new(run.table.batches.clone(), run.table.schema.clone(), None)?;
            output::write(Box::pin(stream), f, out).await?;
        }
        None => {
            let text = match format {
                ReportFormat::Html => super::html::render(run),
                _ => super::markdown::render(run),
            }
            .map_err(|e| loopql_core::EngineError::View {
                view: run.report.name.clone(),
                message: e,
            })?;
            out.write_all(text.as_bytes())
                .map_err(|source| loopql_core::EngineError::Io {
                    path: "<output>".into(),
                    source,
                })?;
        }
    }
    Ok(())
}

/// Writes `run` to `path` through a temporary file beside it, so a failure leaves no half file.
pub async fn write_file(
    run: &Run,
    format: ReportFormat,
    path: &Path,
) -> loopql_core::Result<PathBuf> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| loopql_core::EngineError::Io { path: p, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = path.with_extension(format!("{}.loopql-tmp", format.extension()));
    let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    if let Err(e) = write(run, format, &mut file).await {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(file);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    Ok(path.to_path_buf())
}

/// `<name>-<client>.<ext>` (or `<name>.<ext>` for all clients).
pub fn file_name(run: &Run, format: ReportFormat) -> String {
    match &run.client {
        Some(c) => format!("{}-{c}.{}", run.report.name, format.extension()),
        None => format!("{}.{}", run.report.name, format.extension()),
    }
}
