//! Annotations: what happened on a day (or a span of days) for a client — "launched spring sale",
//! "tracking broke" — optionally for one channel or campaign. Read from the project's
//! `annotations.csv` (columns `client_id, date, end_date, channel, campaign, author, text`),
//! queryable as the `annotations` table (a reference table: a scoped engine sees its clients'
//! notes only), appended to by the shell's `\annotate`, and shown by reports as chart markers
//! and notes.

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

    /// Whether the annotation covers a day from `start` to `end` (inclusive).
    pub fn overlaps(&self, start: NaiveDate, end: NaiveDate) -> bool {
        self.date <= end && self.last_day() >= start
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let note = |client: &str, date: &str, end: Option<&str>, text: &str| Annotation {
            client_id: client.into(),
            date: date.parse().unwrap(),
            end_date: end.map(|e| e.parse().unwrap()),
            channel: None,
            campaign: None,
            author: None,
            text: text.into(),
        };
        // Quotes and commas in the text survive the CSV round trip.
        let a = note("acme", "2024-03-04", None, "Tracking \"broke\", fixed");
        append(&project, &a).unwrap();
        let b = note("globex", "2024-02-01", Some("2024-02-03"), "Promo");
        append(&project, &b).unwrap();
        assert_eq!(read(&project, Some("acme")).unwrap(), vec![a.clone()]);
        assert_eq!(read(&project, None).unwrap().len(), 2);
        let scoped = project.for_client("globex").unwrap();
        assert_eq!(read(&scoped, None).unwrap(), vec![b.clone()]);
        let (start, end) = ("2024-02-03".parse().unwrap(), "2024-02-29".parse().unwrap());
        assert!(b.overlaps(start, end) && !a.overlaps(start, end));
    }
}
