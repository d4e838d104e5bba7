//! From the project file's text to a checked [`Project`], one section at a time: the clients,
//! the sources, the warehouse and the server. Every refusal is `path:line:column: message`
//! with what is allowed.

use super::file::{ClientFile, ProjectFile, SourceFile};
use super::{
    Client, DEFAULT_RESTATEMENT_DAYS, FxConfig, Location, Project, ProjectError, Source,
    is_identifier,
};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Makes the located error for a span of the text.
struct Locate<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Locate<'_> {
    fn invalid(&self, span: Option<Range<usize>>, message: String) -> ProjectError {
        let (line, column) = line_column(self.text, span.map(|s| s.start).unwrap_or(0));
        ProjectError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    fn at(&self, span: Range<usize>, message: String) -> ProjectError {
        self.invalid(Some(span), message)
    }
}

pub(super) fn project(path: &Path, text: &str) -> Result<Project, ProjectError> {
    let at = Locate { path, text };
    let file: ProjectFile =
        toml::from_str(text).map_err(|e| at.invalid(e.span(), e.message().trim().to_string()))?;
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base_dir = std::path::absolute(&base_dir).unwrap_or(base_dir);
    let resolve = |p: &str| base_dir.join(p);

    let mut clients: Vec<Client> = Vec::new();
    for c in &file.clients {
        let client = self::client(&at, c, &clients)?;
        clients.push(client);
    }
    let mut sources: Vec<Source> = Vec::new();
    for s in &file.sources {
        let source = self::source(&at, s, &clients, &sources)?;
        sources.push(source);
    }
    let warehouse = match &file.warehouse {
        None => Location::Local(base_dir.join("warehouse")),
        Some(w) => Location::parse(w.get_ref(), &base_dir).map_err(|m| at.at(w.span(), m))?,
    };
    let server = match &file.server {
        Some(f) => {
            crate::server_config::resolve(f, &clients, &|span: Option<Range<usize>>, m: String| {
                at.invalid(span, m)
            })?
        }
        None => Default::default(),
    };
    let sync_schedule = match file.sync.as_ref().and_then(|s| s.schedule.as_ref()) {
        None => None,
        Some(pattern) => {
            let text = pattern.get_ref().trim();
            text.parse::<croner::Cron>().map_err(|e| {
                at.at(
                    pattern.span(),
                    format!(
                        "sync schedule `{text}`: {e}; expected a cron pattern in UTC such as \
                         \"0 */6 * * *\" (minute hour day month weekday)"
                    ),
                )
            })?;
            Some(text.to_string())
        }
    };
    Ok(Project {
        path: Some(path.to_path_buf()),
        server,
        sync_schedule,
        warehouse,
        plugin_dirs: file.plugins.dirs.iter().map(|d| resolve(d)).collect(),
        plugin_paths: file.plugins.paths.iter().map(|d| resolve(d)).collect(),
        search_default_plugin_dirs: file.plugins.search_default_dirs,
        fx: file.fx.as_ref().map(|f| FxConfig {
            path: resolve(&f.path),
            fill_days: f.fill_days,
        }),
        source_categories: file.source_categories.as_deref().map(resolve),
        budgets: file.budgets.as_deref().map(resolve),
        costs: file.costs.as_deref().map(resolve),
        base_dir,
        clients,
        sources,
    })
}

/// One `[[clients]]` entry, checked against the ones before it.
fn client(at: &Locate<'_>, c: &ClientFile, before: &[Client]) -> Result<Client, ProjectError> {
    let id = c.id.get_ref();
    if !is_client_id(id) {
        return Err(at.at(
            c.id.span(),
            format!(
                "client id `{id}`: use lowercase letters, digits, `_` and `-`, starting with a letter or digit"
            ),
        ));
    }
    if before.iter().any(|k| &k.id == id) {
        return Err(at.at(c.id.span(), format!("client id `{id}` is declared twice")));
    }
    let currency = match &c.currency {
        None => "USD".to_string(),
        Some(s) => {
            let v = s.get_ref();
            if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(at.at(
                    s.span(),
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
                return Err(at.at(
                    s.span(),
                    format!(
                        "time_zone `{v}`: expected an IANA time zone such as UTC, Europe/Berlin or America/New_York"
                    ),
                ));
            }
            v.clone()
        }
    };
    let share = |field: &Option<Spanned<f64>>, name: &str| -> Result<Option<f64>, ProjectError> {
        match field {
            None => Ok(None),
            Some(v) if *v.get_ref() > 0.0 && *v.get_ref() <= 1.0 => Ok(Some(*v.get_ref())),
            Some(v) => Err(at.at(
                v.span(),
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
            return Err(at.at(
                v.span(),
                format!(
                    "contract_months `{}`: expected a number of months above 0",
                    v.get_ref()
                ),
            ));
        }
    };
    Ok(Client {
        id: id.clone(),
        name: c.name.clone().unwrap_or_else(|| id.clone()),
        currency,
        time_zone,
        gross_margin,
        monthly_churn,
        contract_months,
    })
}

/// One `[[sources]]` entry: its client must exist, its name must be new.
fn source(
    at: &Locate<'_>,
    s: &SourceFile,
    clients: &[Client],
    before: &[Source],
) -> Result<Source, ProjectError> {
    let client_id = s.client_id.get_ref();
    if !clients.iter().any(|c| &c.id == client_id) {
        let known: Vec<_> = clients.iter().map(|c| c.id.as_str()).collect();
        return Err(at.at(
            s.client_id.span(),
            format!(
                "client_id `{client_id}` is not one of the project's clients [{}]; add a [[clients]] entry with id = \"{client_id}\"",
                known.join(", ")
            ),
        ));
    }
    let connector = s.connector.get_ref();
    if !is_identifier(connector) {
        return Err(at.at(
            s.connector.span(),
            format!(
                "connector `{connector}`: expected a connector name such as google_ads (see `loopql connectors list`)"
            ),
        ));
    }
    let name = match &s.name {
        Some(n) => n.get_ref().clone(),
        None => format!("{client_id}_{connector}"),
    };
    if before.iter().any(|k| k.name == name) {
        let span = s
            .name
            .as_ref()
            .map(|n| n.span())
            .unwrap_or(s.connector.span());
        return Err(at.at(
            span,
            format!("source `{name}` is declared twice; give each source a distinct `name`"),
        ));
    }
    let options = match &s.options {
        None => serde_json::Map::new(),
        Some(t) => match serde_json::to_value(t.get_ref()) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(at.at(t.span(), "options: expected a table".into())),
        },
    };
    let restatement_days = match &s.restatement_days {
        None => DEFAULT_RESTATEMENT_DAYS,
        Some(d) => match u32::try_from(*d.get_ref()) {
            Ok(n) if n <= 3650 => n,
            _ => {
                return Err(at.at(
                    d.span(),
                    format!(
                        "restatement_days: expected a whole number of days from 0 to 3650, found {}",
                        d.get_ref()
                    ),
                ));
            }
        },
    };
    let (line, column) = line_column(at.text, s.connector.span().start);
    Ok(Source {
        name,
        connector: connector.clone(),
        client_id: client_id.clone(),
        options,
        restatement_days,
        location: format!("{}:{line}:{column}", at.path.display()),
    })
}

fn is_client_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
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
