//! One sync's writes into its new snapshot: re-read partitions written (or linked when their
//! bytes did not change), the rest linked from the previous snapshot.

use super::changes::Changes;
use super::manifest::{FileEntry, Manifest, TableEntry};
use super::partition::{Day, Partitions, day_text, encode, last_day};
use super::progress::Line;
use super::register::Layout;
use super::{NULL_DAY, Warehouse};
use crate::error::Result;
use datafusion::arrow::array::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;

/// One sync's writes into its new snapshot.
pub(super) struct Run<'a> {
    pub(super) warehouse: &'a Warehouse,
    pub(super) old: Option<&'a Manifest>,
    pub(super) id: u64,
    pub(super) rows_read: u64,
    pub(super) written: u64,
    pub(super) kept: u64,
    pub(super) dropped: u64,
    pub(super) bytes: u64,
    /// Every partition this run wrote anew or dropped (not linked): what the later phases
    /// recompute from (see [`Changes`]).
    pub(super) changes: Changes,
}

/// How the rows given to [`Run::replace`] are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DayOrder {
    /// By day, rows without a day last (the read sorted them): a day seen again after its
    /// partition was written is an error.
    Sorted,
    /// As the source gives them, hoped to be by day (exports usually are: a file per day or
    /// month, in name order). A day seen again after its partition was written ends the
    /// attempt with [`Outcome::OutOfOrder`]; the caller undoes it and reads again, sorted.
    AsRead,
}

/// What became of a [`Run::replace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Written,
    OutOfOrder,
}

/// Where a table's writing stood (see [`Run::mark`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    files: usize,
    written: u64,
    kept: u64,
    bytes: u64,
    rows: u64,
    line_bytes: u64,
    changes: usize,
}

impl Run<'_> {
    fn new_dir(&self) -> String {
        Warehouse::snapshot_dir(self.id)
    }

    /// Links a file of the previous snapshot into the new one at the same path; false when
    /// there is no previous snapshot.
    async fn link_old(&self, file: &FileEntry) -> Result<bool> {
        let Some(manifest) = self.old else {
            return Ok(false);
        };
        let from = format!(
            "{}/{}",
            Warehouse::snapshot_dir(manifest.snapshot),
            file.path
        );
        self.warehouse
            .link(&from, &format!("{}/{}", self.new_dir(), file.path))
            .await?;
        Ok(true)
    }

    /// Links the old files of `client` (those before `before`, or all) into the new snapshot.
    pub(super) async fn carry(
        &mut self,
        entry: &mut TableEntry,
        old: Option<&TableEntry>,
        client: &str,
        before: Option<i32>,
    ) -> Result<()> {
        let (Some(old), Some(manifest)) = (old, self.old) else {
            return Ok(());
        };
        let from = Warehouse::snapshot_dir(manifest.snapshot);
        let to = self.new_dir();
        let files: Vec<FileEntry> = old
            .client_files(client)
            .filter(|f| match (before, f.day.as_deref()) {
                (None, _) => true,
                (Some(_), Some(NULL_DAY)) | (Some(_), None) => false,
                (Some(b), Some(d)) => super::partition::parse_day(d).is_some_and(|d| d < b),
            })
            .cloned()
            .collect();
        let warehouse = self.warehouse;
        futures::stream::iter(files.iter().map(|f| {
            let (a, b) = (format!("{from}/{}", f.path), format!("{to}/{}", f.path));
            async move { warehouse.link(&a, &b).await }
        }))
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
        self.kept += files.len() as u64;
        entry.files.extend(files);
        Ok(())
    }

    /// Replaces `client`'s partitions from `since` (all when `None`) with the rows of `rows`,
    /// keeping older ones and linking re-read partitions whose content did not change.
    ///
    /// `rows` must come ordered by day, rows without a day last (see `sync::read_sql`): each
    /// day's partition is written as soon as a later day shows up, so memory holds one day.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn replace(
        &mut self,
        entry: &mut TableEntry,
        old: Option<&TableEntry>,
        client: &str,
        since: Option<i32>,
        mut rows: SendableRecordBatchStream,
        line: &mut Line,
        order: DayOrder,
    ) -> Result<Outcome> {
        if since.is_some() {
            self.carry(entry, old, client, since).await?;
        }
        let day_column = entry.day_column.clone();
        let mut parts = Partitions::default();
        let mut produced = BTreeSet::new();
        while let Some(batch) = rows.try_next().await? {
            if batch.num_rows() == 0 {
                continue;
            }
            line.rows(batch.num_rows() as u64);
            let last = last_day(&batch, day_column.as_deref())?;
            parts.add(batch, day_column.as_deref())?;
            for (day, batches) in parts.take_complete(last) {
                if !self
                    .write_partition(
                        entry,
                        old,
                        client,
                        day,
                        &batches,
                        &mut produced,
                        line,
                        order,
                    )
                    .await?
                {
                    return Ok(Outcome::OutOfOrder);
                }
            }
        }
        for (day, batches) in std::mem::take(&mut parts.by_day) {
            if !self
                .write_partition(
                    entry,
                    old,
                    client,
                    day,
                    &batches,
                    &mut produced,
                    line,
                    order,
                )
                .await?
            {
                return Ok(Outcome::OutOfOrder);
            }
        }
        // Old partitions inside the window that the source no longer has are gone.
        if let Some(old) = old {
            let gone: Vec<&FileEntry> = old
                .client_files(client)
                .filter(|f| !produced.contains(&f.day))
                .filter(|f| match (since, f.day.as_deref()) {
                    (None, _) => true,
                    (Some(_), Some(NULL_DAY)) | (Some(_), None) => true,
                    (Some(s), Some(d)) => super::partition::parse_day(d).is_some_and(|d| d >= s),
                })
                .collect();
            self.dropped += gone.len() as u64;
            for f in gone {
                self.changes.push(&entry.dir, client, f.day.as_deref());
            }
        }
        Ok(Outcome::Written)
    }

    /// Where a table's writing stands, to go back to when a read in the source's own order
    /// turns out not to be ordered by day.
    pub(super) fn mark(&self, entry: &TableEntry, line: &Line) -> Mark {
        Mark {
            files: entry.files.len(),
            written: self.written,
            kept: self.kept,
            bytes: self.bytes,
            rows: line.rows,
            line_bytes: line.bytes,
            changes: self.changes.len(),
        }
    }

    /// Deletes files this run put in its snapshot (a failed source's): a table's folder is read
    /// whole, so a file the manifest forgot would still be read.
    pub(super) async fn remove(&self, files: &[FileEntry]) -> Result<()> {
        for f in files {
            self.warehouse
                .remove_file(&format!("{}/{}", self.new_dir(), f.path))
                .await?;
        }
        Ok(())
    }

    /// Forgets what was written since `mark`, and returns those files for [`Run::remove`]: the
    /// next attempt may link an unchanged old partition where this one wrote a new file, and a
    /// table's folder is read whole.
    pub(super) fn undo(
        &mut self,
        mark: Mark,
        entry: &mut TableEntry,
        line: &mut Line,
    ) -> Vec<FileEntry> {
        let written = entry.files.split_off(mark.files.min(entry.files.len()));
        self.written = mark.written;
        self.kept = mark.kept;
        self.bytes = mark.bytes;
        line.rows = mark.rows;
        line.bytes = mark.line_bytes;
        self.changes.truncate(mark.changes);
        written
    }

    /// Writes one day's partition of `client` (or links the old file when its bytes are the
    /// same).
    #[allow(clippy::too_many_arguments)]
    async fn write_partition(
        &mut self,
        entry: &mut TableEntry,
        old: Option<&TableEntry>,
        client: &str,
        day: Day,
        batches: &[RecordBatch],
        produced: &mut BTreeSet<Option<String>>,
        line: &mut Line,
        order: DayOrder,
    ) -> Result<bool> {
        let layout = Layout::of(entry);
        let day_name = match (&layout.day, day) {
            (None, _) => None,
            (Some(_), None) => Some(NULL_DAY.to_string()),
            (Some(_), Some(d)) => Some(day_text(d)),
        };
        if !produced.insert(day_name.clone()) {
            if order == DayOrder::AsRead {
                return Ok(false);
            }
            return Err(self.warehouse.fail(format!(
                "{}: rows of client {client} for day {} arrived after that day's partition was written (the read was not ordered by day); nothing was committed, run the sync again",
                entry.dir,
                day_name.as_deref().unwrap_or("-")
            )));
        }
        let schema = std::sync::Arc::new(entry.schema.clone());
        let drop = layout.path_columns(&entry.schema);
        let drop: Vec<&str> = drop.iter().map(String::as_str).collect();
        let encoded = encode(&schema, batches, &drop)?;
        let before = old.and_then(|o| {
            o.client_files(client)
                .find(|f| f.day == day_name && f.sha256 == encoded.sha256)
        });
        if let Some(same) = before
            && self.link_old(same).await?
        {
            self.kept += 1;
            entry.files.push(same.clone());
            return Ok(true);
        }
        let mut path = format!("{}/client_id={client}", entry.dir);
        if let (Some((_, level)), Some(d)) = (&layout.day, &day_name) {
            path.push_str(&format!("/{level}={d}"));
        }
        path.push_str(&format!("/part-{:06}.parquet", self.id));
        let bytes = encoded.bytes.len() as u64;
        self.warehouse
            .put(&format!("{}/{path}", self.new_dir()), encoded.bytes)
            .await?;
        line.bytes(bytes);
        self.written += 1;
        self.bytes += bytes;
        self.changes.push(&entry.dir, client, day_name.as_deref());
        entry.files.push(FileEntry {
            path,
            client_id: Some(client.to_string()),
            day: day_name,
            rows: encoded.rows,
            bytes,
            sha256: encoded.sha256,
        });
        Ok(true)
    }

    /// A reference table: one file, linked when unchanged.
    pub(super) async fn write_reference(
        &mut self,
        entry: &mut TableEntry,
        old: Option<&TableEntry>,
        batches: &[RecordBatch],
    ) -> Result<()> {
        let schema = std::sync::Arc::new(entry.schema.clone());
        let encoded = encode(&schema, batches, &[])?;
        if let Some(same) = old
            .filter(|o| o.schema == entry.schema)
            .and_then(|o| o.files.iter().find(|f| f.sha256 == encoded.sha256))
            && self.link_old(same).await?
        {
            entry.files.push(same.clone());
            return Ok(());
        }
        let path = format!("{}/part-{:06}.parquet", entry.dir, self.id);
        let bytes = encoded.bytes.len() as u64;
        self.warehouse
            .put(&format!("{}/{path}", self.new_dir()), encoded.bytes)
            .await?;
        self.bytes += bytes;
        self.changes.push(&entry.dir, "", None);
        entry.files.push(FileEntry {
            path,
            client_id: None,
            day: None,
            rows: encoded.rows,
            bytes,
            sha256: encoded.sha256,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::manifest::TableKind;
    use super::*;
    use datafusion::arrow::array::{Date32Array, Int64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use loopql_core::project::Location;
    use std::sync::Arc;

    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("day", DataType::Date32, true),
            Field::new("v", DataType::Int64, false),
        ]))
    }

    fn batch(days: &[Option<i32>], values: &[i64]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Date32Array::from(days.to_vec())),
                Arc::new(Int64Array::from(values.to_vec())),
            ],
        )
        .unwrap()
    }

    fn stream(batches: Vec<RecordBatch>) -> SendableRecordBatchStream {
        Box::pin(RecordBatchStreamAdapter::new(
            schema(),
            futures::stream::iter(batches.into_iter().map(Ok)),
        ))
    }

    fn entry() -> TableEntry {
        TableEntry {
            kind: TableKind::Raw,
            dir: "t".into(),
            schema: schema().as_ref().clone(),
            day_column: Some("day".into()),
            day_partition: Some("date".into()),
            definition: None,
            files: Vec::new(),
        }
    }

    /// A fresh run writing snapshot 1, with no previous snapshot.
    fn run(warehouse: &Warehouse) -> Run<'_> {
        Run {
            warehouse,
            old: None,
            id: 1,
            rows_read: 0,
            written: 0,
            kept: 0,
            dropped: 0,
            bytes: 0,
            changes: Changes::default(),
        }
    }

    async fn replace(dir: &std::path::Path, batches: Vec<RecordBatch>) -> Result<TableEntry> {
        let warehouse = Warehouse::open(&Location::Local(dir.to_path_buf()))?;
        let mut run = run(&warehouse);
        let mut entry = entry();
        let mut line = super::super::progress::Lines::new(None).line("t");
        run.replace(
            &mut entry,
            None,
            "a",
            None,
            stream(batches),
            &mut line,
            DayOrder::Sorted,
        )
        .await?;
        assert_eq!(run.written as usize, entry.files.len());
        Ok(entry)
    }

    fn days(entry: &TableEntry) -> Vec<(Option<&str>, u64)> {
        entry
            .files
            .iter()
            .map(|f| (f.day.as_deref(), f.rows))
            .collect()
    }

    #[tokio::test]
    async fn rows_read_as_they_come_are_written_when_no_day_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Warehouse::open(&Location::Local(dir.path().to_path_buf())).unwrap();
        let mut run = run(&warehouse);
        let mut line = super::super::progress::Lines::new(None).line("t");
        // Newest first is still one run per day: every day is complete when written.
        let mut entry = entry();
        let descending = vec![
            batch(&[Some(3), Some(3)], &[1, 2]),
            batch(&[Some(3), Some(2)], &[3, 4]),
            batch(&[Some(2), Some(1)], &[5, 6]),
        ];
        let outcome = run
            .replace(
                &mut entry,
                None,
                "a",
                None,
                stream(descending),
                &mut line,
                DayOrder::AsRead,
            )
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Written);
        assert_eq!(
            days(&entry),
            [
                (Some("1970-01-04"), 3),
                (Some("1970-01-03"), 2),
                (Some("1970-01-02"), 1)
            ]
        );

        // A day that comes back ends the attempt; undone, a sorted read writes it whole.
        let mut entry = super::tests::entry();
        let mark = run.mark(&entry, &line);
        let (written, rows) = (run.written, line.rows);
        let shuffled = vec![
            batch(&[Some(1)], &[1]),
            batch(&[Some(2)], &[2]),
            batch(&[Some(1)], &[3]),
        ];
        let outcome = run
            .replace(
                &mut entry,
                None,
                "a",
                None,
                stream(shuffled),
                &mut line,
                DayOrder::AsRead,
            )
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::OutOfOrder);
        assert!(run.written > written && line.rows > rows);
        let gone = run.undo(mark, &mut entry, &mut line);
        assert!(
            !gone.is_empty(),
            "the attempt's files are handed back to remove"
        );
        let on_disk = |f: &FileEntry| {
            dir.path()
                .join(Warehouse::snapshot_dir(run.id))
                .join(&f.path)
                .exists()
        };
        assert!(gone.iter().all(on_disk));
        run.remove(&gone).await.unwrap();
        assert!(
            !gone.iter().any(on_disk),
            "removed: a table's folder is read whole"
        );
        assert_eq!(
            (entry.files.len(), run.written, line.rows),
            (0, written, rows)
        );
        let sorted = vec![batch(&[Some(1), Some(1)], &[1, 3]), batch(&[Some(2)], &[2])];
        let outcome = run
            .replace(
                &mut entry,
                None,
                "a",
                None,
                stream(sorted),
                &mut line,
                DayOrder::Sorted,
            )
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Written);
        assert_eq!(
            days(&entry),
            [(Some("1970-01-02"), 2), (Some("1970-01-03"), 1)]
        );
        assert_eq!(run.written, written + 2);
    }

    #[tokio::test]
    async fn each_day_becomes_one_partition_in_day_order() {
        let dir = tempfile::tempdir().unwrap();
        let entry = replace(
            dir.path(),
            vec![
                batch(&[Some(1), Some(1)], &[1, 2]),
                batch(&[Some(1), Some(2)], &[3, 4]),
                batch(&[Some(3), None], &[5, 6]),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            days(&entry),
            [
                (Some("1970-01-02"), 3),
                (Some("1970-01-03"), 1),
                (Some("1970-01-04"), 1),
                (Some(NULL_DAY), 1)
            ]
        );
        for f in &entry.files {
            let path = dir.path().join(Warehouse::snapshot_dir(1)).join(&f.path);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), f.bytes, "{path:?}");
        }
    }

    #[tokio::test]
    async fn a_day_seen_again_after_its_partition_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = replace(
            dir.path(),
            vec![
                batch(&[Some(1)], &[1]),
                batch(&[Some(2)], &[2]),
                batch(&[Some(1)], &[3]),
            ],
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("rows of client a for day 1970-01-02 arrived after"),
            "{err}"
        );
    }
}
