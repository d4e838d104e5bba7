//! `loopql.toml`: the project file. Typed, `deny_unknown_fields`, every field documented with its
//! default; errors carry `path:line:column`, the key, and what is allowed.

mod file;
pub mod location;
mod parse;

pub use location::Location;
pub use parse::line_column;
use std::path::{Path, PathBuf};

/// Days `loopql sync` reads again when a source does not say.
pub const DEFAULT_RESTATEMENT_DAYS: u32 = 30;

#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub gross_margin: f64,
    pub monthly_churn: Option<f64>,
    pub contract_months: f64,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub connector: String,
    pub client_id: String,
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Trailing days `loopql sync` reads again (see loopql-warehouse).
    pub restatement_days: u32,
    /// `path:line:column` of the source in the project file, for later errors.
    pub location: String,
}

/// A validated project with every path made absolute.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project file; `None` for an empty in-memory project.
    pub path: Option<PathBuf>,
    pub base_dir: PathBuf,
    pub warehouse: Location,
    pub plugin_dirs: Vec<PathBuf>,
    pub plugin_paths: Vec<PathBuf>,
    pub search_default_plugin_dirs: bool,
    pub clients: Vec<Client>,
    pub sources: Vec<Source>,
    pub fx: Option<FxConfig>,
    pub source_categories: Option<PathBuf>,
    /// The budgets CSV, if the project has one.
    pub budgets: Option<PathBuf>,
    /// The costs CSV (other marketing and sales cost per month), if the project has one.
    pub costs: Option<PathBuf>,
    /// `loopql serve`'s principals and limits.
    pub server: crate::server_config::ServerConfig,
    /// `[sync] schedule`: a cron pattern (UTC, checked when the project is read) for unattended
    /// syncs.
    pub sync_schedule: Option<String>,
}

/// Where exchange rates come from (see `crate::fx`).
#[derive(Debug, Clone)]
pub struct FxConfig {
    pub path: PathBuf,
    pub fill_days: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{}: cannot read the project file: {source}; create one with `loopql demo` or pass --project", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

impl Project {
    /// The same project with one client only (its sources, its reference rows): what a
    /// session scoped to that client sees. None when the project has no such client.
    pub fn for_client(&self, id: &str) -> Option<Project> {
        if !self.clients.iter().any(|c| c.id == id) {
            return None;
        }
        let mut scoped = self.clone();
        scoped.clients.retain(|c| c.id == id);
        scoped.sources.retain(|s| s.client_id == id);
        Some(scoped)
    }

    /// The same project with these clients only; None when one of them is unknown.
    pub fn for_clients(&self, ids: &[String]) -> Option<Project> {
        if ids.iter().any(|id| self.client(id).is_none()) {
            return None;
        }
        let mut scoped = self.clone();
        scoped.clients.retain(|c| ids.contains(&c.id));
        scoped.sources.retain(|s| ids.contains(&s.client_id));
        Some(scoped)
    }

    /// An empty project rooted at `base_dir`: no clients, no sources.
    pub fn empty(base_dir: &Path) -> Self {
        Self {
            path: None,
            base_dir: base_dir.to_path_buf(),
            warehouse: Location::Local(base_dir.join("warehouse")),
            plugin_dirs: Vec::new(),
            plugin_paths: Vec::new(),
            search_default_plugin_dirs: true,
            clients: Vec::new(),
            sources: Vec::new(),
            fx: None,
            source_categories: None,
            budgets: None,
            costs: None,
            server: Default::default(),
            sync_schedule: None,
        }
    }

    pub fn load(path: &Path) -> Result<Self, ProjectError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProjectError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates project text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ProjectError> {
        parse::project(path, text)
    }

    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.id == id)
    }
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Project, String> {
        Project::parse(Path::new("/p/loopql.toml"), text).map_err(|e| e.to_string())
    }

    const OK: &str = r#"
[[clients]]
id = "acme"
currency = "EUR"
time_zone = "Europe/Berlin"

[[sources]]
connector = "google_ads"
client_id = "acme"
options = { path = "exports/*.csv" }
"#;

    #[test]
    fn resolves_defaults_and_paths() {
        let p = parse(OK).unwrap();
        assert_eq!(p.warehouse, Location::Local(PathBuf::from("/p/warehouse")));
        assert_eq!(p.clients[0].name, "acme");
        assert_eq!(p.clients[0].currency, "EUR");
        assert_eq!(p.sources[0].name, "acme_google_ads");
        assert_eq!(p.sources[0].options["path"], "exports/*.csv");
        assert_eq!(p.sources[0].location, "/p/loopql.toml:8:13");
        assert!(p.search_default_plugin_dirs);
    }

    #[test]
    fn unknown_key_names_line_and_allowed_keys() {
        let err = parse("[[clients]]\nid = \"a\"\ncurrencyy = \"EUR\"\n").unwrap_err();
        assert!(
            err.starts_with("/p/loopql.toml:3:1: unknown field `currencyy`, expected one of"),
            "{err}"
        );
        assert!(
            err.contains("`currency`") && err.contains("`time_zone`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_client_of_a_source_is_refused_with_its_position() {
        let err = parse(&OK.replace("client_id = \"acme\"", "client_id = \"acm\"")).unwrap_err();
        assert!(
            err.starts_with(
                "/p/loopql.toml:9:13: client_id `acm` is not one of the project's clients [acme]"
            ),
            "{err}"
        );
    }

    #[test]
    fn bad_time_zone_and_currency_are_refused() {
        let err = parse(&OK.replace("Europe/Berlin", "Mars/Olympus")).unwrap_err();
        assert!(
            err.contains(":5:13: time_zone `Mars/Olympus`: expected an IANA time zone"),
            "{err}"
        );
        let err = parse(&OK.replace("\"EUR\"", "\"euro\"")).unwrap_err();
        assert!(err.contains(":4:12: currency `euro`"), "{err}");
    }

    #[test]
    fn ltv_settings_are_checked() {
        let with =
            |extra: &str| OK.replace("Europe/Berlin\"", &format!("Europe/Berlin\"\n{extra}"));
        let p = parse(&with("gross_margin = 0.6\nmonthly_churn = 0.02")).unwrap();
        assert_eq!(
            (p.clients[0].gross_margin, p.clients[0].monthly_churn),
            (0.6, Some(0.02))
        );
        assert_eq!(p.clients[0].contract_months, 12.0);
        let err = parse(&with("gross_margin = 1.5")).unwrap_err();
        assert!(
            err.contains(":6:16: gross_margin `1.5`: expected a share above 0 and at most 1"),
            "{err}"
        );
        let err = parse(&with("contract_months = 0.0")).unwrap_err();
        assert!(
            err.contains("contract_months `0`: expected a number of months above 0"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_is_named() {
        let err = parse("warehouse = 3\n").unwrap_err();
        assert!(
            err.starts_with("/p/loopql.toml:1:13: invalid type: integer `3`, expected a string"),
            "{err}"
        );
    }
}
