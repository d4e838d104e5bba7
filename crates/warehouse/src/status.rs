//! `loopql sync status`: per source and client, when it was last synced and what the newest day
//! in the warehouse is.

use super::NULL_DAY;
use super::manifest::{Manifest, TableKind};
use crate::project::Project;
use datafusion::arrow::array::{RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use std::sync::Arc;

/// One row per project source: connector, client, last successful sync, window read, newest
/// day of that connector's data for the client, the latest read's failure (when and why) if
/// it failed, and rows read.
pub fn sources(project: &Project, manifest: &Manifest) -> loopql_core::Result<RecordBatch> {
    let mut cols: [Vec<Option<String>>; 7] = Default::default();
    let mut rows = Vec::new();
    for s in &project.sources {
        let run = manifest.sources.iter().find(|r| r.source == s.name);
        let newest = manifest
            .tables
            .iter()
            .filter(|(name, t)| {
                t.kind == TableKind::Raw && name.split('.').next() == Some(s.connector.as_str())
            })
            .flat_map(|(_, t)| t.client_files(&s.client_id))
            .filter_map(|f| f.day.clone())
            .filter(|d| d != NULL_DAY)
            .max();
        cols[0].push(Some(s.name.clone()));
        cols[1].push(Some(s.connector.clone()));
        cols[2].push(Some(s.client_id.clone()));
        cols[3].push(Some(
            run.map(|r| r.synced_at.clone())
                .unwrap_or_else(|| "never".into()),
        ));
        cols[4].push(run.map(|r| r.since.clone().unwrap_or_else(|| "all".into())));
        cols[5].push(newest);
        cols[6].push(
            run.and_then(|r| r.failure.as_ref())
                .map(|f| format!("{}: {}", f.at, f.reason)),
        );
        rows.push(run.map(|r| r.rows_read));
    }
    let names = [
        "source",
        "connector",
        "client_id",
        "synced_at",
        "read_since",
        "newest_day",
        "last_failure",
    ];
    let mut fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect();
    fields.push(Field::new("rows_read", DataType::UInt64, true));
    let mut arrays: Vec<Arc<dyn datafusion::arrow::array::Array>> = cols
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as _)
        .collect();
    arrays.push(Arc::new(UInt64Array::from(rows)));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// One row per harmonized table and client: rows, files and the newest day.
pub fn tables(manifest: &Manifest) -> loopql_core::Result<RecordBatch> {
    let (mut table, mut client, mut newest, mut rows, mut files) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (name, t) in &manifest.tables {
        if t.kind != TableKind::Harmonized {
            continue;
        }
        let mut clients: Vec<&str> = t
            .files
            .iter()
            .filter_map(|f| f.client_id.as_deref())
            .collect();
        clients.sort_unstable();
        clients.dedup();
        for c in clients {
            let mine: Vec<_> = t.client_files(c).collect();
            table.push(name.clone());
            client.push(c.to_string());
            newest.push(
                mine.iter()
                    .filter_map(|f| f.day.clone())
                    .filter(|d| d != NULL_DAY)
                    .max(),
            );
            rows.push(mine.iter().map(|f| f.rows).sum::<u64>());
            files.push(mine.len() as u64);
        }
    }
    let schema = Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("client_id", DataType::Utf8, false),
        Field::new("newest_day", DataType::Utf8, true),
        Field::new("rows", DataType::UInt64, false),
        Field::new("files", DataType::UInt64, false),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from(table)),
            Arc::new(StringArray::from(client)),
            Arc::new(StringArray::from(newest)),
            Arc::new(UInt64Array::from(rows)),
            Arc::new(UInt64Array::from(files)),
        ],
    )?)
}
