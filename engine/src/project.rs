//! `loopql.toml`: the project file. Typed, `deny_unknown_fields`, every field documented with its
//! default; errors carry `path:line:column`, the key, and what is allowed.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The file as written. See [`Project`] for the resolved form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectFile {
    /// Where `loopql sync` keeps the Parquet warehouse: a folder (relative to the project file)
    /// or an `s3://BUCKET/PREFIX` URL. Default: `"warehouse"`, next to the project file.
    #[serde(default)]
    warehouse: Option<Spanned<String>>,
    /// Where connector libraries are looked for. Default: see [`PluginsFile`].
    #[serde(default)]
    plugins: PluginsFile,
    /// The agency's clients. Default: none.
    #[serde(default)]
    clients: Vec<ClientFile>,
    /// The data sources, each read by one connector for one client. Default: none.
    #[serde(default)]
    sources: Vec<SourceFile>,
    /// Exchange rates for converting to each client's reporting currency. Default: none (only
    /// amounts already in the reporting currency convert).
    #[serde(default)]
    fx: Option<FxFile>,
    /// Extra or overriding source categories for channel grouping: a CSV `client_id,source,category`
    /// (empty client_id: every client; category search, social, video or shopping). Default: none
    /// (loopql's shipped list only).
    #[serde(default)]
    source_categories: Option<String>,
    /// Planned spend: a CSV `client_id,month,channel,campaign,planned_spend` (see
    /// `crate::budgets`). Default: none.
    #[serde(default)]
    budgets: Option<String>,
    /// `loopql serve`: principals and query limits (see `crate::server_config`). Default: no
    /// principals (the server refuses to start).
    #[serde(default)]
    server: Option<crate::server_config::ServerFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FxFile {
    /// Rates file: the ECB's `eurofxref-hist.csv` (Date,USD,JPY,...) or a long CSV with columns
    /// `date,currency,per_eur`. Required.
    path: String,
    /// Days a published rate stays usable after its date (weekends, holidays). Default: 7.
    #[serde(default = "default_fx_days")]
    fill_days: u32,
}

fn default_fx_days() -> u32 {
    7
}

pub use crate::read_from::ReadFrom;

/// Days `loopql sync` reads again when a source does not say.
pub const DEFAULT_RESTATEMENT_DAYS: u32 = 30;

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginsFile {
    /// Folders searched for connector libraries. Default: `[]`.
    #[serde(default)]
    dirs: Vec<String>,
    /// Connector library files loaded explicitly. Default: `[]`.
    #[serde(default)]
    paths: Vec<String>,
    /// Also search the folder of the `loopql` executable and `$LOOPQL_PLUGIN_PATH`. Default: `true`.
    #[serde(default = "default_true")]
    search_default_dirs: bool,
}

impl Default for PluginsFile {
    fn default() -> Self {
        Self {
            dirs: Vec::new(),
            paths: Vec::new(),
            search_default_dirs: true,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    /// Identifier used in `client_id` columns: lowercase letters, digits, `_` and `-`. Required.
    id: Spanned<String>,
    /// Display name. Default: the id.
    #[serde(default)]
    name: Option<String>,
    /// Reporting currency, ISO 4217. Default: `"USD"`.
    #[serde(default)]
    currency: Option<Spanned<String>>,
    /// Reporting time zone, IANA name. Default: `"UTC"`.
    #[serde(default)]
    time_zone: Option<Spanned<String>>,
    /// Gross margin on revenue, above 0 and at most 1, for LTV. Default: 1 (LTV on revenue).
    #[serde(default)]
    gross_margin: Option<Spanned<f64>>,
    /// Share of customers lost per month, above 0 and at most 1; with it LTV is the subscription
    /// formula. Default: none (LTV is the revenue customers brought so far).
    #[serde(default)]
    monthly_churn: Option<Spanned<f64>>,
    /// Months a deal's amount covers, to turn it into monthly revenue. Default: 12.
    #[serde(default)]
    contract_months: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    /// Unique name of the source. Default: `"<client_id>_<connector>"`.
    #[serde(default)]
    name: Option<Spanned<String>>,
    /// The connector's name, as its manifest gives it (`loopql connectors list`). Required.
    connector: Spanned<String>,
    /// The client this source's rows belong to; must be one of `clients`. Required.
    client_id: Spanned<String>,
    /// Options for the connector (`loopql connectors list` shows each connector's). Default: none.
    #[serde(default)]
    options: Option<Spanned<toml::Table>>,
    /// `loopql sync`: days before the newest synced day that are read again at each sync, for
    /// sources that restate recent days (late conversions, deduplication). 0 to 3650.
    /// Default: 30.
    #[serde(default)]
    restatement_days: Option<Spanned<i64>>,
}

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
    /// Trailing days `loopql sync` reads again (see `crate::warehouse`).
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
    pub warehouse: crate::warehouse::location::Location,
    /// Where queries read from (set by the command line, not the file).
    pub read_from: ReadFrom,
    pub plugin_dirs: Vec<PathBuf>,
    pub plugin_paths: Vec<PathBuf>,
    pub search_default_plugin_dirs: bool,
    pub clients: Vec<Client>,
    pub sources: Vec<Source>,
    pub fx: Option<FxConfig>,
    pub source_categories: Option<PathBuf>,
    /// The budgets CSV, if the project has one.
    pub budgets: Option<PathBuf>,
    /// `loopql serve`'s principals and limits.
    pub server: crate::server_config::ServerConfig,
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
            warehouse: crate::warehouse::location::Location::Local(base_dir.join("warehouse")),
            read_from: ReadFrom::Auto,
            plugin_dirs: Vec::new(),
            plugin_paths: Vec::new(),
            search_default_plugin_dirs: true,
            clients: Vec::new(),
            sources: Vec::new(),
            fx: None,
            source_categories: None,
            budgets: None,
            server: Default::default(),
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
        let invalid = |span: Option<std::ops::Range<usize>>, message: String| {
            let (line, column) = line_column(text, span.map(|s| s.start).unwrap_or(0));
            ProjectError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let file: ProjectFile =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().trim().to_string()))?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base_dir = std::path::absolute(&base_dir).unwrap_or(base_dir);
        let resolve = |p: &str| base_dir.join(p);

        let mut clients: Vec<Client> = Vec::new();
        for c in &file.clients {
            let id = c.id.get_ref();
            if !is_client_id(id) {
                return Err(invalid(
                    Some(c.id.span()),
                    format!(
                        "client id `{id}`: use lowercase letters, digits, `_` and `-`, starting with a letter or digit"
                    ),
                ));
            }
            if clients.iter().any(|k| &k.id == id) {
                return Err(invalid(
                    Some(c.id.span()),
                    format!("client id `{id}` is declared twice"),
                ));
            }
            let currency = match &c.currency {
                None => "USD".to_string(),
                Some(s) => {
                    let v = s.get_ref();
                    if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_uppercase()) {
                        return Err(invalid(
                            Some(s.span()),
                            format!(
                                "currency `{v}`: expected a 3-letter ISO 4217 code such as USD, EUR or GBP"
                            ),
                        ));
                    }
                    v.clone()
                }
            };
            let time_zone = match &c.time_zone {
                None => "UTC".to_string(),
                Some(s) => {
                    let v = s.get_ref();
                    if v.parse::<datafusion::arrow::array::timezone::Tz>().is_err() {
                        return Err(invalid(
                            Some(s.span()),
                            format!(
                                "time_zone `{v}`: expected an IANA time zone such as UTC, Europe/Berlin or America/New_York"
                            ),
                        ));
                    }
                    v.clone()
                }
            };
            let share = |field: &Option<Spanned<f64>>,
                         name: &str|
             -> Result<Option<f64>, ProjectError> {
                match field {
                    None => Ok(None),
                    Some(v) if *v.get_ref() > 0.0 && *v.get_ref() <= 1.0 => Ok(Some(*v.get_ref())),
                    Some(v) => Err(invalid(
                        Some(v.span()),
                        format!(
                            "{name} `{}`: expected a share above 0 and at most 1, e.g. 0.7",
                            v.get_ref()
                        ),
                    )),
                }
            };
            let gross_margin = share(&c.gross_margin, "gross_margin")?.unwrap_or(1.0);
            let monthly_churn = share(&c.monthly_churn, "monthly_churn")?;
            let contract_months = match &c.contract_months {
                None => 12.0,
                Some(v) if *v.get_ref() > 0.0 => *v.get_ref(),
                Some(v) => {
                    return Err(invalid(
                        Some(v.span()),
                        format!(
                            "contract_months `{}`: expected a number of months above 0",
                            v.get_ref()
                        ),
                    ));
                }
            };
            clients.push(Client {
                id: id.clone(),
                name: c.name.clone().unwrap_or_else(|| id.clone()),
                currency,
                time_zone,
                gross_margin,
                monthly_churn,
                contract_months,
            });
        }

        let mut sources: Vec<Source> = Vec::new();
        for s in &file.sources {
            let client_id = s.client_id.get_ref();
            if !clients.iter().any(|c| &c.id == client_id) {
                let known: Vec<_> = clients.iter().map(|c| c.id.as_str()).collect();
                return Err(invalid(
                    Some(s.client_id.span()),
                    format!(
                        "client_id `{client_id}` is not one of the project's clients [{}]; add a [[clients]] entry with id = \"{client_id}\"",
                        known.join(", ")
                    ),
                ));
            }
            let connector = s.connector.get_ref();
            if !is_identifier(connector) {
                return Err(invalid(
                    Some(s.connector.span()),
                    format!(
                        "connector `{connector}`: expected a connector name such as google_ads (see `loopql connectors list`)"
                    ),
                ));
            }
            let name = match &s.name {
                Some(n) => n.get_ref().clone(),
                None => format!("{client_id}_{connector}"),
            };
            if sources.iter().any(|k| k.name == name) {
                let span = s
                    .name
                    .as_ref()
                    .map(|n| n.span())
                    .unwrap_or(s.connector.span());
                return Err(invalid(
                    Some(span),
                    format!(
                        "source `{name}` is declared twice; give each source a distinct `name`"
                    ),
                ));
            }
            let options = match &s.options {
                None => serde_json::Map::new(),
                Some(t) => match serde_json::to_value(t.get_ref()) {
                    Ok(serde_json::Value::Object(map)) => map,
                    _ => return Err(invalid(Some(t.span()), "options: expected a table".into())),
                },
            };
            let restatement_days = match &s.restatement_days {
                None => DEFAULT_RESTATEMENT_DAYS,
                Some(d) => match u32::try_from(*d.get_ref()) {
                    Ok(n) if n <= 3650 => n,
                    _ => {
                        return Err(invalid(
                            Some(d.span()),
                            format!(
                                "restatement_days: expected a whole number of days from 0 to 3650, found {}",
                                d.get_ref()
                            ),
                        ));
                    }
                },
            };
            let (line, column) = line_column(text, s.connector.span().start);
            sources.push(Source {
                name,
                connector: connector.clone(),
                client_id: client_id.clone(),
                options,
                restatement_days,
                location: format!("{}:{line}:{column}", path.display()),
            });
        }

        let warehouse = match &file.warehouse {
            None => crate::warehouse::location::Location::Local(base_dir.join("warehouse")),
            Some(w) => crate::warehouse::location::Location::parse(w.get_ref(), &base_dir)
                .map_err(|m| invalid(Some(w.span()), m))?,
        };
        let server = match &file.server {
            Some(f) => crate::server_config::resolve(f, &clients, &invalid)?,
            None => Default::default(),
        };
        Ok(Project {
            path: Some(path.to_path_buf()),
            server,
            warehouse,
            read_from: ReadFrom::Auto,
            plugin_dirs: file.plugins.dirs.iter().map(|d| resolve(d)).collect(),
            plugin_paths: file.plugins.paths.iter().map(|d| resolve(d)).collect(),
            search_default_plugin_dirs: file.plugins.search_default_dirs,
            fx: file.fx.as_ref().map(|f| FxConfig {
                path: resolve(&f.path),
                fill_days: f.fill_days,
            }),
            source_categories: file.source_categories.as_deref().map(resolve),
            budgets: file.budgets.as_deref().map(resolve),
            base_dir,
            clients,
            sources,
        })
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

fn is_client_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
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
        assert_eq!(
            p.warehouse,
            crate::warehouse::location::Location::Local(PathBuf::from("/p/warehouse"))
        );
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
