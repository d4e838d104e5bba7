//! Running a report: resolve and check its parameters, bind them to the query (read-only SQL
//! only), compare with the previous period, and gather what the documents show around the table
//! (summary, highlights, annotations, data freshness).

use super::header::ParamKind;
use super::highlights::{self, Highlights};
use super::params::{self, Typed, Value};
use super::period::{self, Period};
use super::{Report, ReportError, compare};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::scalar::ScalarValue;
use loopql_core::annotations::{self, Annotation};
use loopql_core::{Engine, EngineError, FrontEnd, Params, QueryOptions};

/// A result: its schema and batches.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The index of column `name`, or a message naming the columns there are.
    pub fn column(&self, name: &str) -> Result<usize, String> {
        self.schema.index_of(name).map_err(|_| {
            let names: Vec<&str> = self
                .schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            format!(
                "no column `{name}` in the result (columns: {})",
                names.join(", ")
            )
        })
    }
}

/// Latest date a source has data for.
#[derive(Debug, Clone, PartialEq)]
pub struct Freshness {
    pub table: String,
    pub source: String,
    pub latest: Option<String>,
}

/// One run of a report for one client (or all clients).
#[derive(Debug, Clone)]
pub struct Run {
    pub report: Report,
    pub title: String,
    pub client: Option<String>,
    pub params: Vec<Value>,
    pub period: Option<Period>,
    pub previous_period: Option<Period>,
    /// The result, with the comparison columns when the report compares.
    pub table: Table,
    /// The query's result for the current period (without comparison columns).
    pub current: Table,
    pub previous: Option<Table>,
    pub summary: String,
    pub highlights: Option<Highlights>,
    pub annotations: Vec<Annotation>,
    pub freshness: Vec<Freshness>,
    pub generated_at: chrono::DateTime<chrono::Utc>,
}

fn engine_err(report: &Report) -> impl Fn(EngineError) -> ReportError + '_ {
    |source| ReportError::Engine {
        report: report.name.clone(),
        source: Box::new(source),
    }
}

fn df_err(report: &Report) -> impl Fn(datafusion::error::DataFusionError) -> ReportError + '_ {
    |e| ReportError::Engine {
        report: report.name.clone(),
        source: Box::new(e.into()),
    }
}

/// Runs `report` on `engine` (already scoped to `client` when one is given).
pub async fn run(
    engine: &Engine,
    report: &Report,
    client: Option<&str>,
    given: &[(String, String)],
) -> Result<Run, ReportError> {
    let values = resolve(engine, report, client, given).await?;
    let tables = tables(engine, report, client, &values).await?;
    let summary = summary(
        report,
        report.header.summary.as_deref().unwrap_or("{rows} rows"),
        &values,
        &tables.current,
        tables.previous.as_ref(),
    )?;
    let annotations = notes(engine, report, client, tables.period, &tables.current)?;
    Ok(Run {
        report: report.clone(),
        title: report.title_for(client),
        client: client.map(str::to_string),
        params: values,
        period: tables.period,
        previous_period: tables.previous_period,
        table: tables.table,
        current: tables.current,
        previous: tables.previous,
        summary,
        highlights: tables.highlights,
        annotations,
        freshness: freshness(engine).await,
        generated_at: chrono::Utc::now(),
    })
}

/// A run's results: the current period's, the previous period's and their comparison, and the
/// highlights.
struct Tables {
    period: Option<Period>,
    previous_period: Option<Period>,
    table: Table,
    current: Table,
    previous: Option<Table>,
    highlights: Option<Highlights>,
}

/// Runs the report's query for the period (and the previous one, and the highlights' query,
/// when the header asks).
async fn tables(
    engine: &Engine,
    report: &Report,
    client: Option<&str>,
    values: &[Value],
) -> Result<Tables, ReportError> {
    let current = query(engine, report, &report.sql, values, client).await?;
    let spec = report.header.period.as_ref();
    let period = spec.and_then(|s| period::current(s, values));
    let previous_values = spec.and_then(|s| period::previous(s, values));
    let previous_period = spec
        .zip(previous_values.as_ref())
        .and_then(|(s, v)| period::current(s, v));
    let mut previous = None;
    let mut table = current.clone();
    if report.header.compare
        && let Some(pv) = &previous_values
    {
        let p = query(engine, report, &report.sql, pv, client).await?;
        table = compare::join(&current, &p).map_err(df_err(report))?;
        previous = Some(p);
    }
    let mut highlights = None;
    if let (Some(h), Some(pv)) = (&report.header.highlights, &previous_values) {
        let now = query(engine, report, &h.sql, values, client).await?;
        let before = query(engine, report, &h.sql, pv, client).await?;
        highlights = Some(
            highlights::compute(&now, &before, &h.key, &h.metric, h.top).map_err(df_err(report))?,
        );
    }
    Ok(Tables {
        period,
        previous_period,
        table,
        current,
        previous,
        highlights,
    })
}

/// The annotations to show: those of the period; without one, of the dates the chart shows;
/// else none.
fn notes(
    engine: &Engine,
    report: &Report,
    client: Option<&str>,
    period: Option<Period>,
    current: &Table,
) -> Result<Vec<Annotation>, ReportError> {
    let mut notes = annotations::read(engine.project(), client).map_err(engine_err(report))?;
    let span = period.or_else(|| {
        let spec = report.header.chart.as_ref()?;
        let data = super::chart::data(spec, current).ok()?;
        if !data.x_is_date {
            return None;
        }
        let day = |s: &String| s.get(..10)?.parse().ok();
        Some(Period {
            start: day(data.categories.first()?)?,
            end: day(data.categories.last()?)?,
        })
    });
    match &span {
        Some(p) => notes.retain(|a| a.overlaps(p.start, p.end)),
        None => notes.clear(),
    }
    Ok(notes)
}

/// Each declared parameter's value: given on the command line, else the client's override, else
/// the header's default, else the value of `default_sql`. Unknown names, wrong types, values
/// outside `allowed` and missing required values are refused here, before any query runs.
pub async fn resolve(
    engine: &Engine,
    report: &Report,
    client: Option<&str>,
    given: &[(String, String)],
) -> Result<Vec<Value>, ReportError> {
    let err = |name: &str, message: String| ReportError::Param {
        report: report.name.clone(),
        name: name.to_string(),
        message,
    };
    for (name, _) in given {
        if !report.header.params.iter().any(|p| &p.name == name) {
            let known: Vec<&str> = report
                .header
                .params
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            return Err(err(
                name,
                if known.is_empty() {
                    "the report takes no parameters".to_string()
                } else {
                    format!("unknown; the report takes: {}", known.join(", "))
                },
            ));
        }
    }
    let overrides = client.and_then(|c| report.header.clients.get(c));
    let mut out = Vec::new();
    for spec in &report.header.params {
        let value = if let Some((_, text)) = given.iter().rev().find(|(n, _)| n == &spec.name) {
            Some(params::parse(spec.kind, text).map_err(|m| err(&spec.name, m))?)
        } else if let Some(v) = overrides.and_then(|o| o.params.get(&spec.name)) {
            Some(
                params::from_toml(spec.kind, v)
                    .map_err(|m| err(&spec.name, format!("client override: {m}")))?,
            )
        } else if let Some(v) = &spec.default {
            Some(
                params::from_toml(spec.kind, v)
                    .map_err(|m| err(&spec.name, format!("default: {m}")))?,
            )
        } else if let Some(sql) = &spec.default_sql {
            default_from_sql(engine, report, spec.kind, sql)
                .await?
                .map(|text| {
                    params::parse(spec.kind, &text)
                        .map_err(|m| err(&spec.name, format!("default_sql: {m}")))
                })
                .transpose()?
        } else {
            None
        };
        if let Some(v) = &value {
            params::check_allowed(spec, v).map_err(|m| err(&spec.name, m))?;
        } else if spec.required {
            return Err(err(
                &spec.name,
                format!(
                    "required: pass --param {}=VALUE (a {})",
                    spec.name, spec.kind
                ),
            ));
        }
        out.push(Value {
            name: spec.name.clone(),
            kind: spec.kind,
            value,
        });
    }
    Ok(out)
}

async fn default_from_sql(
    engine: &Engine,
    report: &Report,
    kind: ParamKind,
    sql: &str,
) -> Result<Option<String>, ReportError> {
    let t = query(engine, report, sql, &[], None).await?;
    let Some(b) = t.batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    if b.column(0).is_null(0) {
        return Ok(None);
    }
    let f = ArrayFormatter::try_new(b.column(0).as_ref(), &FormatOptions::default())
        .map_err(|e| df_err(report)(e.into()))?;
    let text = f.value(0).to_string();
    // A timestamp default for a date parameter: its date part.
    Ok(Some(if kind == ParamKind::Date {
        text.chars().take(10).collect()
    } else {
        text
    }))
}

/// Plans `sql` read-only, checks its `$name` placeholders are declared, binds the values and
/// collects the result.
pub async fn query(
    engine: &Engine,
    report: &Report,
    sql: &str,
    values: &[Value],
    client: Option<&str>,
) -> Result<Table, ReportError> {
    let options = QueryOptions::new(FrontEnd::Report).read_only(true);
    let planned = engine
        .plan(sql, &options)
        .await
        .map_err(engine_err(report))?;
    let used = planned.placeholders().map_err(engine_err(report))?;
    let mut bound: Vec<(String, ScalarValue)> = Vec::new();
    for (placeholder, _) in &used {
        let name = placeholder.trim_start_matches('$');
        if let Some(v) = values.iter().find(|v| v.name == name) {
            bound.push((name.to_string(), v.scalar()));
        } else if name == "client_id" {
            let Some(c) = client else {
                return Err(ReportError::Invalid {
                    report: report.name.clone(),
                    message: "the query uses $client_id: run it with --client ID or --all-clients"
                        .into(),
                });
            };
            bound.push((name.into(), Typed::String(c.into()).scalar()));
        } else {
            return Err(ReportError::Invalid {
                report: report.name.clone(),
                message: format!(
                    "the query uses {placeholder} but the header declares no parameter `{name}` \
                     (add [[params]] name = \"{name}\"; positional $1 parameters are not used in reports)"
                ),
            });
        }
    }
    let planned = if bound.is_empty() {
        planned
    } else {
        planned
            .bind(&Params::Named(bound))
            .map_err(engine_err(report))?
    };
    let schema = planned.schema();
    let batches = planned.collect().await.map_err(engine_err(report))?;
    Ok(Table { schema, batches })
}

/// Sum of a numeric column.
fn sum(t: &Table, column: &str) -> Option<f64> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{DataType, Float64Type};
    let i = t.schema.index_of(column).ok()?;
    let mut total = 0.0;
    for b in &t.batches {
        let a = datafusion::arrow::compute::cast(b.column(i), &DataType::Float64).ok()?;
        total += a
            .as_primitive::<Float64Type>()
            .iter()
            .flatten()
            .filter(|x| x.is_finite())
            .sum::<f64>();
    }
    Some(total)
}

/// A number for people: thousands separated, two decimals below 100.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let decimals = if x.abs() >= 100.0 || x.fract() == 0.0 {
        0
    } else {
        2
    };
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if x < 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// A relative change as `+5.2%`.
pub fn percent(change: f64) -> String {
    if !change.is_finite() {
        return "–".into();
    }
    format!("{:+.1}%", change * 100.0)
}

/// Fills the summary template: `{rows}`, `{sum:C}`, `{ratio:A/B}`, `{first:C}`, `{change:C}`
/// (ΣC against the previous period), `{ratio_change:A/B}` and `{param:NAME}`.
fn summary(
    report: &Report,
    template: &str,
    values: &[Value],
    t: &Table,
    previous: Option<&Table>,
) -> Result<String, ReportError> {
    let bad = |m: String| ReportError::Invalid {
        report: report.name.clone(),
        message: format!("summary: {m}"),
    };
    let has = |c: &str| -> Result<(), ReportError> {
        t.schema
            .index_of(c)
            .map(|_| ())
            .map_err(|_| bad(format!("no column `{c}` in the result")))
    };
    let ratio = |t: &Table, a: &str, b: &str| match (sum(t, a), sum(t, b)) {
        (Some(x), Some(y)) if y != 0.0 => Some(x / y),
        _ => None,
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(bad(format!("`{}` is not closed with `}}`", &rest[open..])));
        };
        let field = &rest[open + 1..open + close];
        let (kind, arg) = field.split_once(':').unwrap_or((field, ""));
        let text = match kind {
            "rows" => t.rows().to_string(),
            "param" => match values.iter().find(|v| v.name == arg) {
                Some(v) => v.value.as_ref().map(|x| x.to_string()).unwrap_or_default(),
                None => return Err(bad(format!("no parameter `{arg}`"))),
            },
            "sum" => {
                has(arg)?;
                sum(t, arg).map(number).unwrap_or_else(|| "–".into())
            }
            "first" => {
                has(arg)?;
                let i = t.schema.index_of(arg).unwrap_or(0);
                match t.batches.iter().find(|b| b.num_rows() > 0) {
                    Some(b) => {
                        ArrayFormatter::try_new(b.column(i).as_ref(), &FormatOptions::default())
                            .map(|f| f.value(0).to_string())
                            .unwrap_or_default()
                    }
                    None => "–".into(),
                }
            }
            "ratio" | "ratio_change" => {
                let (a, b) = arg
                    .split_once('/')
                    .ok_or_else(|| bad(format!("`{{{field}}}`: expected {kind}:A/B")))?;
                has(a)?;
                has(b)?;
                let now = ratio(t, a, b);
                if kind == "ratio" {
                    now.map(number).unwrap_or_else(|| "–".into())
                } else {
                    let before = previous.and_then(|p| ratio(p, a, b));
                    match (now, before) {
                        (Some(n), Some(p)) if p != 0.0 => percent(n / p - 1.0),
                        _ => "–".into(),
                    }
                }
            }
            "change" => {
                has(arg)?;
                match (sum(t, arg), previous.and_then(|p| sum(p, arg))) {
                    (Some(n), Some(p)) if p != 0.0 => percent(n / p - 1.0),
                    _ => "–".into(),
                }
            }
            other => {
                return Err(bad(format!(
                    "unknown field `{{{other}}}`; use rows, sum:C, ratio:A/B, first:C, change:C, ratio_change:A/B or param:NAME"
                )));
            }
        };
        out.push_str(&text);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Latest date per source in the harmonized tables the engine sees.
pub async fn freshness(engine: &Engine) -> Vec<Freshness> {
    let queries = [
        (
            "ad_performance",
            "SELECT platform, max(date) FROM ad_performance GROUP BY platform ORDER BY platform",
        ),
        (
            "sessions",
            "SELECT source_system, max(session_date) FROM sessions GROUP BY source_system ORDER BY source_system",
        ),
        (
            "contacts",
            "SELECT source_system, max(created_date) FROM contacts GROUP BY source_system ORDER BY source_system",
        ),
        (
            "deals",
            "SELECT source_system, max(created_date) FROM deals GROUP BY source_system ORDER BY source_system",
        ),
    ];
    let mut out = Vec::new();
    for (table, sql) in queries {
        let options = QueryOptions::new(FrontEnd::Report).read_only(true);
        let batches = match engine.plan(sql, &options).await {
            Ok(q) => q.collect().await,
            Err(e) => Err(e),
        };
        match batches {
            Ok(batches) => {
                for b in batches {
                    let opts = FormatOptions::default();
                    let (Ok(s), Ok(d)) = (
                        ArrayFormatter::try_new(b.column(0).as_ref(), &opts),
                        ArrayFormatter::try_new(b.column(1).as_ref(), &opts),
                    ) else {
                        continue;
                    };
                    for r in 0..b.num_rows() {
                        out.push(Freshness {
                            table: table.into(),
                            source: s.value(r).to_string(),
                            latest: (!b.column(1).is_null(r)).then(|| d.value(r).to_string()),
                        });
                    }
                }
            }
            Err(e) => out.push(Freshness {
                table: table.into(),
                source: format!("unavailable: {e}"),
                latest: None,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{number, percent};

    #[test]
    fn numbers_for_people() {
        assert_eq!(number(1234567.891), "1,234,568");
        assert_eq!(number(12.345), "12.35");
        assert_eq!(number(-1500.0), "-1,500");
        assert_eq!(number(-0.001), "0.00");
        assert_eq!(number(52.0), "52");
        assert_eq!(number(f64::NAN), "–");
        assert_eq!(percent(0.052), "+5.2%");
        assert_eq!(percent(-0.5), "-50.0%");
    }
}
