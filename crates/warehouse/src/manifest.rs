//! A snapshot's manifest: every file it holds (with rows, bytes and SHA-256), each table's schema
//! and layout, and what each source's last sync read. Written as `_manifest.json` inside the
//! snapshot folder before the snapshot is made current.

use arrow_schema::Schema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The manifest format this build writes and reads.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// The snapshot's number; snapshot folders are named after it (`000042`).
    pub snapshot: u64,
    /// The snapshot this one replaced.
    pub previous: Option<u64>,
    /// When the snapshot was committed (RFC 3339, UTC).
    pub created_at: String,
    /// The latest sync of each source (carried over from earlier snapshots for sources this
    /// sync did not read).
    pub sources: Vec<SourceSync>,
    /// Tables by name: `connector.table` (raw), the view name (harmonized), or the reference
    /// table's name.
    pub tables: BTreeMap<String, TableEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceSync {
    pub source: String,
    pub connector: String,
    pub client_id: String,
    /// When the source was read (RFC 3339, UTC).
    pub synced_at: String,
    /// First day re-read; `None` when every row was read.
    pub since: Option<String>,
    /// Rows read from the connector, over all its tables (for this client).
    pub rows_read: u64,
    /// Partitions whose content changed.
    pub partitions_changed: u64,
    /// Why the latest attempt to read the source failed, and when; its data is then the last
    /// successful read's (the fields above). `None` when the latest attempt succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<SourceFailure>,
}

/// A source read that failed (the platform down, a refused token, a malformed export, ...).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceFailure {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The error, as the sync showed it.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// A connector's raw table.
    Raw,
    /// A harmonized view, materialized.
    Harmonized,
    /// A table built from the project's own files (clients, rates, budgets, ...).
    Reference,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub kind: TableKind,
    /// Folder of the table, relative to the snapshot folder.
    pub dir: String,
    /// The table's columns as queries see them.
    pub schema: Schema,
    /// Column the table is partitioned by day on (`None`: by client only).
    pub day_column: Option<String>,
    /// Name of the day level in paths (`date`), when there is one.
    pub day_partition: Option<String>,
    /// For a table the sync computes: a hash of what defines it (the view's SQL and the
    /// connectors' mappings). A table whose definition changed is not comparable with the
    /// previous snapshot's: it is computed whole again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative to the snapshot folder.
    pub path: String,
    pub client_id: Option<String>,
    /// `YYYY-MM-DD`, or [`super::NULL_DAY`] for rows without a day.
    pub day: Option<String>,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

impl TableEntry {
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Files of one client.
    pub fn client_files<'a>(&'a self, client: &'a str) -> impl Iterator<Item = &'a FileEntry> {
        self.files
            .iter()
            .filter(move |f| f.client_id.as_deref() == Some(client))
    }
}

impl Manifest {
    /// Whether two manifests hold the same data (same tables, same files, same content).
    pub fn same_data(&self, other: &Manifest) -> bool {
        self.tables.len() == other.tables.len()
            && self.tables.iter().all(|(name, t)| {
                other.tables.get(name).is_some_and(|o| {
                    o.schema == t.schema && {
                        let mut a: Vec<_> = t.files.iter().map(|f| (&f.path, &f.sha256)).collect();
                        let mut b: Vec<_> = o.files.iter().map(|f| (&f.path, &f.sha256)).collect();
                        a.sort();
                        b.sort();
                        a == b
                    }
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field};

    #[test]
    fn round_trips_through_json_with_types_intact() {
        let schema = Schema::new(vec![
            Field::new("date", DataType::Date32, false),
            Field::new(
                "ts",
                DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("spend", DataType::Decimal128(18, 4), true),
        ]);
        let m = Manifest {
            format: FORMAT,
            snapshot: 3,
            previous: Some(2),
            created_at: "2026-01-01T00:00:00Z".into(),
            sources: vec![],
            tables: BTreeMap::from([(
                "ad_performance".into(),
                TableEntry {
                    kind: TableKind::Harmonized,
                    dir: "ad_performance".into(),
                    schema,
                    day_column: Some("date".into()),
                    day_partition: Some("date".into()),
                    definition: None,
                    files: vec![FileEntry {
                        path: "ad_performance/client_id=a/date=2026-01-01/part-000003.parquet"
                            .into(),
                        client_id: Some("a".into()),
                        day: Some("2026-01-01".into()),
                        rows: 3,
                        bytes: 100,
                        sha256: "ab".into(),
                    }],
                },
            )]),
        };
        let text = serde_json::to_string_pretty(&m).unwrap();
        let back: Manifest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert!(back.same_data(&m));
        let mut changed = m.clone();
        changed.tables.get_mut("ad_performance").unwrap().files[0].sha256 = "cd".into();
        assert!(!changed.same_data(&m));
    }
}
