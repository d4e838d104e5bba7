//! A report file: SQL with a TOML header in a leading `/*--- ... ---*/` comment. The header is
//! typed (`deny_unknown_fields`); its errors name the report file, line and column.

use super::ReportError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

const OPEN: &str = "/*---";
const CLOSE: &str = "---*/";

/// The header as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Name used on the command line. Default: the file name without `.sql`.
    #[serde(default)]
    pub name: Option<String>,
    /// Title shown on the report. Default: the name.
    #[serde(default)]
    pub title: Option<String>,
    /// One or two sentences on what the report answers. Default: none.
    #[serde(default)]
    pub description: Option<String>,
    /// Parameters, bound as typed values to `$name` placeholders. Default: none.
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    /// The chart drawn above the table. Default: none.
    #[serde(default)]
    pub chart: Option<ChartSpec>,
    /// Formats written when no `--format` is given (and by the scheduler). Default: `["html"]`.
    #[serde(default)]
    pub formats: Option<Vec<String>>,
    /// Cron pattern (five fields, UTC) for `loopql report schedule`. Default: not scheduled.
    #[serde(default)]
    pub schedule: Option<String>,
    /// The reporting period, named by the date parameters that bound it. Default: none.
    #[serde(default)]
    pub period: Option<PeriodSpec>,
    /// Also run the query for the previous period and show each number's change (needs
    /// `period`). Default: false.
    #[serde(default)]
    pub compare: bool,
    /// One-line summary: text with `{rows}`, `{sum:COLUMN}`, `{ratio:A/B}` (ΣA/ΣB) and
    /// `{first:COLUMN}`, `{change:COLUMN}` (ΣCOLUMN against the previous period),
    /// `{ratio_change:A/B}` and `{param:NAME}`. Default: the row count.
    #[serde(default)]
    pub summary: Option<String>,
    /// The biggest risers and fallers versus the previous period (needs `period`). Default: none.
    #[serde(default)]
    pub highlights: Option<HighlightsSpec>,
    /// Per-client overrides, keyed by client id. Default: none.
    #[serde(default)]
    pub clients: BTreeMap<String, ClientOverride>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// The placeholder's name: `$name` in the SQL. Required.
    pub name: String,
    /// `string`, `int`, `float`, `date` (YYYY-MM-DD) or `bool`. Required.
    #[serde(rename = "type")]
    pub kind: ParamKind,
    /// Value when none is given, as text in the parameter's type. Default: none.
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// A query whose single value is the default when none is given (run for the client). Default: none.
    #[serde(default)]
    pub default_sql: Option<String>,
    /// Refuse to run without a value (given, overridden or default). Default: false.
    #[serde(default)]
    pub required: bool,
    /// The only values accepted. Default: any value of the type.
    #[serde(default)]
    pub allowed: Option<Vec<toml::Value>>,
    /// What the parameter means. Default: none.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    String,
    Int,
    Float,
    Date,
    Bool,
}

impl std::fmt::Display for ParamKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParamKind::String => "string",
            ParamKind::Int => "int",
            ParamKind::Float => "float",
            ParamKind::Date => "date",
            ParamKind::Bool => "bool",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Line,
    Bar,
    StackedBar,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSpec {
    /// `line`, `bar`, `stacked_bar` or `none`. Required.
    #[serde(rename = "type")]
    pub kind: ChartKind,
    /// Column on the horizontal axis. Required unless `type = "none"`.
    #[serde(default)]
    pub x: Option<String>,
    /// Numeric column on the vertical axis. Required unless `type = "none"`.
    #[serde(default)]
    pub y: Option<String>,
    /// Column whose values split the data into lines or bar segments. Default: one series.
    #[serde(default)]
    pub series: Option<String>,
}

/// The parameters bounding the period: `{ month = "month" }` (a date in the month) or
/// `{ start = "start", end = "end" }` (inclusive dates).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodSpec {
    #[serde(default)]
    pub month: Option<String>,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HighlightsSpec {
    /// Query giving one row per `key` with its `metric`, using the report's parameters. Required.
    pub sql: String,
    /// Column naming the thing that rose or fell (e.g. the campaign). Required.
    pub key: String,
    /// Numeric column compared (e.g. `roas`). Required.
    pub metric: String,
    /// How many wins and how many problems to name. Default: 3.
    #[serde(default = "default_top")]
    pub top: usize,
}

fn default_top() -> usize {
    3
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientOverride {
    /// Title for this client. Default: the report's.
    #[serde(default)]
    pub title: Option<String>,
    /// Parameter defaults for this client. Default: none.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// Leave this client out of `--all-clients` and schedules. Default: false.
    #[serde(default)]
    pub skip: bool,
}

/// Locates a header's mistakes in its file.
struct At<'a> {
    path: &'a Path,
    text: &'a str,
    /// Where the header starts (after leading white space).
    lead: usize,
}

impl At<'_> {
    /// An error at a byte offset of the file.
    fn at(&self, offset: usize, message: String) -> ReportError {
        let (line, column) = loopql_core::project::line_column(self.text, offset);
        ReportError::Header {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    /// An error where `needle` first appears (else at the header's start).
    fn near(&self, needle: &str, message: String) -> ReportError {
        self.at(self.text.find(needle).unwrap_or(self.lead), message)
    }
}

/// Splits `text` into its header and SQL, and checks the header: parameters, period, chart,
/// schedule and formats.
pub fn parse(path: &Path, text: &str) -> Result<(Header, String), ReportError> {
    let at = At {
        path,
        text,
        lead: text.len() - text.trim_start().len(),
    };
    let (header, sql) = split(&at)?;
    check_params(&at, &header)?;
    check_period(&at, &header)?;
    check_output(&at, &header)?;
    Ok((header, sql))
}

/// The TOML header between `/*---` and `---*/`, and the SQL after it.
fn split(at: &At<'_>) -> Result<(Header, String), ReportError> {
    let (text, lead) = (at.text, at.lead);
    if !text[lead..].starts_with(OPEN) {
        return Err(at.at(
            lead,
            format!(
                "expected the report header `{OPEN}` (TOML: name, title, params, chart, ...) `{CLOSE}` at the start of the file"
            ),
        ));
    }
    let body_start = lead + OPEN.len();
    let Some(close) = text[body_start..].find(CLOSE) else {
        return Err(at.at(
            lead,
            format!("the header opened here is never closed: add a line `{CLOSE}` after it"),
        ));
    };
    let body = &text[body_start..body_start + close];
    let header: Header = toml::from_str(body).map_err(|e| {
        let offset = body_start + e.span().map(|s| s.start).unwrap_or(0);
        at.at(offset, format!("report header: {}", e.message().trim()))
    })?;
    let sql = text[body_start + close + CLOSE.len()..].trim().to_string();
    let sql = sql.trim_end_matches(';').trim_end().to_string();
    if sql.is_empty() {
        return Err(at.at(
            body_start + close,
            "the report has no SQL after its header".into(),
        ));
    }
    Ok((header, sql))
}

/// Parameter names, defaults and allowed values.
fn check_params(at: &At<'_>, header: &Header) -> Result<(), ReportError> {
    for (i, p) in header.params.iter().enumerate() {
        let here = format!("\"{}\"", p.name);
        if !loopql_core::project::is_identifier(&p.name) {
            return Err(at.near(
                &here,
                format!(
                    "parameter name `{}`: use letters, digits and `_` (it is `${}` in the SQL)",
                    p.name, p.name
                ),
            ));
        }
        if header.params[..i].iter().any(|q| q.name == p.name) {
            return Err(at.near(&here, format!("parameter `{}` is declared twice", p.name)));
        }
        if let Some(d) = &p.default {
            let default_err =
                |m: String| at.near(&here, format!("parameter `{}`: default: {m}", p.name));
            let v = super::params::from_toml(p.kind, d).map_err(default_err)?;
            super::params::check_allowed(p, &v).map_err(default_err)?;
        }
        for a in p.allowed.iter().flatten() {
            super::params::from_toml(p.kind, a)
                .map_err(|m| at.near("allowed", format!("parameter `{}`: allowed: {m}", p.name)))?;
        }
        if p.default.is_some() && p.default_sql.is_some() {
            return Err(at.near(
                &here,
                format!(
                    "parameter `{}`: give `default` or `default_sql`, not both",
                    p.name
                ),
            ));
        }
    }
    Ok(())
}

/// The period's parameters, and what needs a period (comparison, highlights).
fn check_period(at: &At<'_>, header: &Header) -> Result<(), ReportError> {
    let declared = |name: &Option<String>, what: &str| -> Result<(), ReportError> {
        if let Some(n) = name
            && !header
                .params
                .iter()
                .any(|p| &p.name == n && p.kind == ParamKind::Date)
        {
            return Err(at.near(
                "period",
                format!("period {what} `{n}` is not a declared `date` parameter"),
            ));
        }
        Ok(())
    };
    if let Some(p) = &header.period {
        match (&p.month, &p.start, &p.end) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            _ => {
                return Err(at.near(
                    "period",
                    "period: give `month = \"PARAM\"` or both `start` and `end`".into(),
                ));
            }
        }
        declared(&p.month, "month")?;
        declared(&p.start, "start")?;
        declared(&p.end, "end")?;
    }
    if (header.compare || header.highlights.is_some()) && header.period.is_none() {
        return Err(at.near(
            if header.compare {
                "compare"
            } else {
                "highlights"
            },
            "comparing with the previous period needs `period` (which parameters bound it)".into(),
        ));
    }
    Ok(())
}

/// The chart's columns, the schedule's cron pattern and the formats.
fn check_output(at: &At<'_>, header: &Header) -> Result<(), ReportError> {
    if let Some(c) = &header.chart
        && c.kind != ChartKind::None
        && (c.x.is_none() || c.y.is_none())
    {
        return Err(at.near(
            "[chart]",
            "chart: give `x` and `y` columns (or `type = \"none\"`)".into(),
        ));
    }
    if let Some(s) = &header.schedule
        && let Err(e) = s.parse::<croner::Cron>()
    {
        return Err(at.near(
            "schedule",
            format!("schedule `{s}`: {e}; expected a cron pattern such as \"0 6 1 * *\""),
        ));
    }
    for f in header.formats.iter().flatten() {
        if f.parse::<super::ReportFormat>().is_err() {
            return Err(at.near(
                "formats",
                format!("format `{f}`: use table, csv, json, ndjson, parquet, markdown or html"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(Path::new("reports/x.sql"), text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn header_and_sql() {
        let (h, sql) = parse(
            Path::new("x.sql"),
            "/*---\ntitle = \"T\"\n[[params]]\nname = \"m\"\ntype = \"date\"\n---*/\nSELECT $m;\n",
        )
        .unwrap();
        assert_eq!(h.title.as_deref(), Some("T"));
        assert_eq!(h.params[0].kind, ParamKind::Date);
        assert_eq!(sql, "SELECT $m");
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = err("/*---\ntitle = \"T\"\ncolour = 1\n---*/\nSELECT 1");
        assert!(e.starts_with("reports/x.sql:3:1: "), "{e}");
        assert!(e.contains("colour"), "{e}");
        let e = err("/*---\n[[params]]\nname = \"m\"\ntype = \"datetime\"\n---*/\nSELECT 1");
        assert!(e.starts_with("reports/x.sql:4:"), "{e}");
        let e = err("SELECT 1");
        assert!(
            e.contains("reports/x.sql:1:1") && e.contains("/*---"),
            "{e}"
        );
        let e = err("/*---\ntitle = \"T\"\nSELECT 1");
        assert!(e.contains("never closed"), "{e}");
        let e = err("/*---\ntitle = \"T\"\nschedule = \"every day\"\n---*/\nSELECT 1");
        assert!(e.starts_with("reports/x.sql:3:"), "{e}");
        let e = err("/*---\ncompare = true\n---*/\nSELECT 1");
        assert!(e.contains("needs `period`"), "{e}");
        let e = err("/*---\nperiod = { month = \"m\" }\n---*/\nSELECT 1");
        assert!(e.contains("not a declared `date` parameter"), "{e}");
        let e = err(
            "/*---\n[[params]]\nname = \"n\"\ntype = \"int\"\ndefault = \"ten\"\n---*/\nSELECT $n",
        );
        assert!(
            e.starts_with("reports/x.sql:3:") && e.contains("whole number"),
            "{e}"
        );
        let e = err("/*---\ntitle = \"T\"\n---*/\n");
        assert!(e.contains("no SQL"), "{e}");
    }
}
