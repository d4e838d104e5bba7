//! loopql-reports: saved-query reports: `reports/<name>.sql` in the project folder, each valid SQL with a TOML
//! header (see [`header`]). A report runs for one client or for all, with typed parameters bound
//! through DataFusion's parameter binding, and renders as data (CSV, JSON, Parquet, ...) or as a
//! document (Markdown, self-contained HTML with an SVG chart).

mod cells;
pub mod chart;
mod compare;
pub mod header;
mod highlights;
pub mod html;
pub mod markdown;
pub mod params;
pub mod period;
pub mod run;
pub mod schedule;
pub mod write;

use header::Header;
use loopql_core::project::Project;
use std::path::{Path, PathBuf};

pub use run::{Run, run};
pub use write::ReportFormat;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}:{line}:{column}: {message}", path.display())]
    Header {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A parameter value that was refused before the query ran.
    #[error("report `{report}`: parameter `{name}`: {message}")]
    Param {
        report: String,
        name: String,
        message: String,
    },
    #[error("report `{report}`: {message}")]
    Invalid { report: String, message: String },
    #[error("no report `{name}` in {}; {}", folder.display(), if known.is_empty() { "add reports/<name>.sql (`loopql demo` writes examples)".to_string() } else { format!("reports here: {}", known.join(", ")) })]
    Unknown {
        name: String,
        folder: PathBuf,
        known: Vec<String>,
    },
    #[error("report `{report}`: {source}")]
    Engine {
        report: String,
        #[source]
        source: Box<loopql_core::EngineError>,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One report file, parsed.
#[derive(Debug, Clone)]
pub struct Report {
    pub name: String,
    pub path: PathBuf,
    pub header: Header,
    pub sql: String,
}

impl Report {
    pub fn load(path: &Path) -> Result<Self, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (header, sql) = header::parse(path, &text)?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = header.name.clone().unwrap_or(stem);
        Ok(Self {
            name,
            path: path.to_path_buf(),
            header,
            sql,
        })
    }

    pub fn title_for(&self, client: Option<&str>) -> String {
        client
            .and_then(|c| self.header.clients.get(c))
            .and_then(|o| o.title.clone())
            .or_else(|| self.header.title.clone())
            .unwrap_or_else(|| self.name.clone())
    }

    /// Formats written when none is asked for.
    pub fn default_formats(&self) -> Vec<ReportFormat> {
        self.header
            .formats
            .as_ref()
            .map(|f| f.iter().filter_map(|f| f.parse().ok()).collect())
            .unwrap_or_else(|| vec![ReportFormat::Html])
    }

    /// The clients `--all-clients` and the scheduler run this report for.
    pub fn clients<'a>(&self, project: &'a Project) -> Vec<&'a str> {
        project
            .clients
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| !self.header.clients.get(*id).is_some_and(|o| o.skip))
            .collect()
    }
}

/// The reports loopql ships (`sql/reports/`), written into a project by `loopql demo`.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "monthly_overview.sql",
        include_str!("../../../sql/reports/monthly_overview.sql"),
    ),
    (
        "channel_roas_by_model.sql",
        include_str!("../../../sql/reports/channel_roas_by_model.sql"),
    ),
    (
        "funnel_by_cohort.sql",
        include_str!("../../../sql/reports/funnel_by_cohort.sql"),
    ),
    (
        "conversions_triangulated.sql",
        include_str!("../../../sql/reports/conversions_triangulated.sql"),
    ),
    (
        "forecast_30_days.sql",
        include_str!("../../../sql/reports/forecast_30_days.sql"),
    ),
];

/// Writes the shipped reports into `dir` (replacing files of the same names only).
pub fn write_shipped(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut files = Vec::new();
    for (name, text) in SHIPPED {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(io(&p))?;
        files.push(p);
    }
    Ok(files)
}

/// The project's report folder.
pub fn folder(project: &Project) -> PathBuf {
    project.base_dir.join("reports")
}

/// Every report in the project's folder, sorted by name. A bad file fails the whole listing
/// with its location: a report set is only as good as its worst file.
pub fn load_all(project: &Project) -> Result<Vec<Report>, ReportError> {
    let dir = folder(project);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ReportError::Io { path: dir, source }),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    paths.sort();
    let mut reports: Vec<Report> = Vec::new();
    for p in paths {
        let r = Report::load(&p)?;
        if let Some(other) = reports.iter().find(|o| o.name == r.name) {
            return Err(ReportError::Invalid {
                report: r.name.clone(),
                message: format!(
                    "both {} and {} are named `{}`",
                    other.path.display(),
                    r.path.display(),
                    r.name
                ),
            });
        }
        reports.push(r);
    }
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(reports)
}

/// The report named `name` (or the file at that path).
pub fn find(project: &Project, name: &str) -> Result<Report, ReportError> {
    let as_path = Path::new(name);
    if name.ends_with(".sql") && as_path.exists() {
        return Report::load(as_path);
    }
    let all = load_all(project)?;
    let known: Vec<String> = all.iter().map(|r| r.name.clone()).collect();
    all.into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| ReportError::Unknown {
            name: name.to_string(),
            folder: folder(project),
            known,
        })
}
