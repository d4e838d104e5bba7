//! Annotations: what happened on a day (or a span of days) for a client — "launched spring sale",
//! "tracking broke" — optionally for one channel or campaign. Read from the project's
//! `annotations.csv` (columns `client_id, date, end_date, channel, campaign, author, text`),
//! queryable as the `annotations` table, added from the shell with `\annotate`, and shown by
//! reports as chart markers and notes.

use super::period::Period;
use crate::error::{EngineError, Result};
use crate::project::Project;
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::Date32Type;
use loopql_connector_sdk::csv_table::{self, Column, Dialect, Empty, Kind};
use std::io::Write;
use std::path::PathBuf;

pub const COLUMNS: &[Column] = &[
    Column::new("client_id", &["client_id", "client"], Kind::Utf8).empty(Empty::Error),
    Column::new("date", &["date", "start_date"], Kind::Date).empty(Empty::Error),
    Column::new("end_date", &["end_date"], Kind::Date).optional(),
    Column::new("channel", &["channel"], Kind::Utf8).optional(),
    Column::new("campaign", &["campaign", "campaign_name"], Kind::Utf8).optional(),
    Column::new("author", &["author"], Kind::Utf8).optional(),
    Column::new("text", &["text", "note"], Kind::Utf8).empty(Empty::Error),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub client_id: String,
    pub date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub channel: Option<String>,
    pub campaign: Option<String>,
    pub author: Option<String>,
    pub text: String,
}

impl Annotation {
    /// Last day the annotation covers.
    pub fn last_day(&self) -> NaiveDate {
        self.end_date.unwrap_or(self.date)
    }

    pub fn overlaps(&self, p: &Period) -> bool {
        self.date <= p.end && self.last_day() >= p.start
    }
}

/// The project's annotations file (it may not exist yet).
pub fn path(project: &Project) -> PathBuf {
    project.base_dir.join("annotations.csv")
}

/// The `annotations` table (empty when the project has no file).
pub fn load(project: &Project) -> Result<RecordBatch> {
    let p = path(project);
    if !p.exists() {
        return Ok(RecordBatch::new_empty(csv_table::schema(COLUMNS)));
    }
    let all = csv_table::read(&p, COLUMNS, &Dialect::default())
        .map_err(|e| EngineError::Annotations(e.to_string()))?;
    // A session scoped to some clients sees their notes only.
    let ids = all.column(0).as_string::<i32>();
    let keep: BooleanArray = ids
        .iter()
        .map(|id| Some(id.is_some_and(|id| project.client(id).is_some())))
        .collect();
    Ok(filter_record_batch(&all, &keep)?)
}

/// The annotations of `client` (all clients when `None`), oldest first.
pub fn read(project: &Project, client: Option<&str>) -> Result<Vec<Annotation>> {
    let b = load(project)?;
    let text = |i: usize| b.column(i).as_string_opt::<i32>().cloned();
    let (Some(client_id), Some(channel), Some(campaign), Some(author), Some(note)) =
        (text(0), text(3), text(4), text(5), text(6))
    else {
        return Err(EngineError::Annotations(
            "unexpected column types in the annotations table".into(),
        ));
    };
    let date = b.column(1).as_primitive::<Date32Type>().clone();
    let end = b.column(2).as_primitive::<Date32Type>().clone();
    let opt = |a: &datafusion::arrow::array::StringArray, r: usize| {
        (!a.is_null(r) && !a.value(r).is_empty()).then(|| a.value(r).to_string())
    };
    let mut out = Vec::new();
    for r in 0..b.num_rows() {
        if client.is_some_and(|c| c != client_id.value(r)) {
            continue;
        }
        let (Some(d), e) = (date.value_as_date(r), end.value_as_date(r)) else {
            continue;
        };
        out.push(Annotation {
            client_id: client_id.value(r).to_string(),
            date: d,
            end_date: (!end.is_null(r)).then_some(e).flatten(),
            channel: opt(&channel, r),
            campaign: opt(&campaign, r),
            author: opt(&author, r),
            text: note.value(r).to_string(),
        });
    }
    out.sort_by_key(|a| a.date);
    Ok(out)
}

/// Appends one annotation to the project's file (creating it with its header).
pub fn append(project: &Project, a: &Annotation) -> Result<PathBuf> {
    let p = path(project);
    let io = |source| EngineError::Io {
        path: p.clone(),
        source,
    };
    let fresh = !p.exists() || std::fs::metadata(&p).map(|m| m.len() == 0).unwrap_or(true);
    let mut buf = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        let row = |w: &mut csv::Writer<&mut Vec<u8>>, cells: [&str; 7]| w.write_record(cells);
        let csv_err = |e: csv::Error| EngineError::Annotations(e.to_string());
        if fresh {
            row(
                &mut w,
                [
                    "client_id",
                    "date",
                    "end_date",
                    "channel",
                    "campaign",
                    "author",
                    "text",
                ],
            )
            .map_err(csv_err)?;
        }
        let date = a.date.to_string();
        let end = a.end_date.map(|d| d.to_string()).unwrap_or_default();
        row(
            &mut w,
            [
                &a.client_id,
                &date,
                &end,
                a.channel.as_deref().unwrap_or(""),
                a.campaign.as_deref().unwrap_or(""),
                a.author.as_deref().unwrap_or(""),
                &a.text,
            ],
        )
        .map_err(csv_err)?;
        w.flush().map_err(io)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(io)?;
    f.write_all(&buf).map_err(io)?;
    Ok(p)
}

/// `\annotate [client=ID] DATE[..END] [channel=NAME] [campaign=NAME] TEXT...` as an
/// annotation; `client` is the shell's scope when the command names none.
pub fn parse_command(
    args: &str,
    client: Option<&str>,
    author: Option<String>,
) -> std::result::Result<Annotation, String> {
    let usage =
        "usage: \\annotate [client=ID] DATE[..END_DATE] [channel=NAME] [campaign=NAME] TEXT";
    let mut rest = args.trim();
    let mut client = client.map(str::to_string);
    let mut channel = None;
    let mut campaign = None;
    let mut dates = None;
    while let Some((word, tail)) = next_word(rest) {
        let word = word.as_str();
        if let Some(v) = word.strip_prefix("client=") {
            client = Some(v.to_string());
        } else if let Some(v) = word.strip_prefix("channel=") {
            channel = Some(v.to_string());
        } else if let Some(v) = word.strip_prefix("campaign=") {
            campaign = Some(v.to_string());
        } else if dates.is_none() {
            let (a, b) = match word.split_once("..") {
                Some((a, b)) => (a, Some(b)),
                None => (word, None),
            };
            let parse = |s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| format!("expected a date YYYY-MM-DD, found `{s}`; {usage}"))
            };
            let start = parse(a)?;
            let end = b.map(parse).transpose()?;
            if end.is_some_and(|e| e < start) {
                return Err(format!("the range `{word}` ends before it starts"));
            }
            dates = Some((start, end));
        } else {
            break;
        }
        rest = tail;
    }
    let (date, end_date) = dates.ok_or_else(|| usage.to_string())?;
    let client_id = client.ok_or_else(|| {
        format!("which client? scope the shell with \\client ID or write client=ID; {usage}")
    })?;
    let text = rest.trim().trim_matches('"').to_string();
    if text.is_empty() {
        return Err(format!("the annotation has no text; {usage}"));
    }
    Ok(Annotation {
        client_id,
        date,
        end_date,
        channel,
        campaign,
        author,
        text,
    })
}

/// The next word and the rest; `"..."` quotes keep spaces (`channel="Paid Search"`).
fn next_word(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let mut word = String::new();
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return Some((word, &s[i..])),
            c => word.push(c),
        }
    }
    Some((word, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_command() {
        let a = parse_command(
            "2024-03-04..2024-03-10 channel=\"Paid Search\" Spring sale, 20% off",
            Some("acme"),
            Some("ann".into()),
        )
        .unwrap();
        assert_eq!(a.client_id, "acme");
        assert_eq!(a.date.to_string(), "2024-03-04");
        assert_eq!(
            a.end_date.map(|d| d.to_string()).as_deref(),
            Some("2024-03-10")
        );
        assert_eq!(a.channel.as_deref(), Some("Paid Search"));
        assert_eq!(a.text, "Spring sale, 20% off");
        let e = parse_command("2024-03-04 x", None, None).unwrap_err();
        assert!(e.contains("which client"), "{e}");
        let e = parse_command("client=acme 03/04/2024 x", None, None).unwrap_err();
        assert!(e.contains("YYYY-MM-DD"), "{e}");
        let e = parse_command("client=acme 2024-03-04", None, None).unwrap_err();
        assert!(e.contains("no text"), "{e}");
    }

    #[test]
    fn append_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut project = Project::empty(dir.path());
        for id in ["acme", "globex"] {
            project.clients.push(crate::project::Client {
                id: id.into(),
                name: id.into(),
                currency: "USD".into(),
                time_zone: "UTC".into(),
                gross_margin: 1.0,
                monthly_churn: None,
                contract_months: 12.0,
            });
        }
        let a = parse_command(
            "client=acme 2024-03-04 Tracking \"broke\", fixed",
            None,
            None,
        )
        .unwrap();
        append(&project, &a).unwrap();
        let b = parse_command("client=globex 2024-02-01..2024-02-03 Promo", None, None).unwrap();
        append(&project, &b).unwrap();
        assert_eq!(read(&project, Some("acme")).unwrap(), vec![a.clone()]);
        assert_eq!(read(&project, None).unwrap().len(), 2);
        let scoped = project.for_client("globex").unwrap();
        assert_eq!(read(&scoped, None).unwrap(), vec![b.clone()]);
        let p = Period {
            start: "2024-02-03".parse().unwrap(),
            end: "2024-02-29".parse().unwrap(),
        };
        assert!(b.overlaps(&p) && !a.overlaps(&p));
    }
}
