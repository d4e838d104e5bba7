//! The phases of one sync, in order: the raw tables from the connectors ([`Sync::raw`]), the
//! harmonized tables computed from the new raw ones ([`Sync::harmonized`]), the reference tables
//! ([`Sync::reference`]), then the new snapshot's manifest ([`Sync::manifest`]).

use super::changed;
use super::isolate::fatal;
use super::{
    HARMONIZED_MARGIN_DAYS, REFERENCE, SyncOptions, merge_window, now, read_sql, table_schema,
    window,
};
use crate::manifest::{FORMAT, Manifest, SourceSync, TableEntry, TableKind};
use crate::partition::day_text;
use crate::progress::Lines;
use crate::register::{Layout, quote};
use crate::snapshot_writer::{DayOrder, Outcome, Run};
use loopql_core::error::{EngineError, Result};
use loopql_core::project::{Project, Source};
use loopql_core::views;
use loopql_core::{Engine, FrontEnd, QueryOptions};
use std::collections::{BTreeMap, BTreeSet};

/// One sync in progress.
pub(super) struct Sync<'a> {
    pub(super) project: &'a Project,
    pub(super) options: &'a SyncOptions,
    pub(super) lines: Lines,
    /// The current snapshot before this sync.
    pub(super) old: Option<&'a Manifest>,
    pub(super) run: Run<'a>,
    /// The new snapshot's tables so far.
    pub(super) tables: BTreeMap<String, TableEntry>,
    pub(super) source_runs: Vec<SourceSync>,
}

/// The source option asking for incremental reads (see `changed.rs`).
const INCREMENTAL: &str = "incremental";

fn options() -> QueryOptions {
    QueryOptions::new(FrontEnd::Sync)
}

impl Sync<'_> {
    /// Phase 1: each connector's raw tables for each client; the chosen sources re-read
    /// (whole, or their restatement window), the others carried over from the previous snapshot.
    pub(super) async fn raw(&mut self, live: &Engine, chosen: &BTreeSet<String>) -> Result<()> {
        let project = self.project;
        let connectors: BTreeSet<&str> = project
            .sources
            .iter()
            .map(|s| s.connector.as_str())
            .collect();
        for connector in connectors {
            let clients: BTreeSet<&str> = project
                .sources
                .iter()
                .filter(|s| s.connector == connector)
                .map(|s| s.client_id.as_str())
                .collect();
            for client in clients {
                let before = self.checkpoint(live, connector);
                if let Err(e) = self.raw_client(live, connector, client, chosen).await {
                    if fatal(&e) {
                        return Err(e);
                    }
                    self.source_failed(live, connector, client, chosen, before, e)
                        .await?;
                }
            }
        }
        // A client's raw partitions that are gone without a read (its source left the project,
        // or the connector's table did) change its harmonized tables too.
        if let Some(old) = self.old {
            for (key, entry) in old.tables.iter().filter(|(_, t)| t.kind == TableKind::Raw) {
                let present: BTreeSet<&str> = self
                    .tables
                    .get(key)
                    .into_iter()
                    .flat_map(|t| t.files.iter().filter_map(|f| f.client_id.as_deref()))
                    .collect();
                let gone: BTreeSet<&str> = entry
                    .files
                    .iter()
                    .filter_map(|f| f.client_id.as_deref())
                    .filter(|c| !present.contains(c))
                    .collect();
                for client in gone {
                    self.run.changes.push(&entry.dir, client, None);
                }
            }
        }
        Ok(())
    }

    /// One connector's raw tables for one client.
    async fn raw_client(
        &mut self,
        live: &Engine,
        connector: &str,
        client: &str,
        chosen: &BTreeSet<String>,
    ) -> Result<()> {
        let Some(library) = live.plugins().get(connector) else {
            return Ok(());
        };
        let sources: Vec<&Source> = self
            .project
            .sources
            .iter()
            .filter(|s| s.connector == connector && s.client_id == client)
            .collect();
        let selected = sources.iter().any(|s| chosen.contains(&s.name));
        let label = sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut line = self.lines.line(&label);
        line.watch(&sources.iter().map(|s| s.name.as_str()).collect::<Vec<_>>());
        let mut since_used: Option<Option<i32>> = None;
        let changes_before = self.run.written + self.run.dropped;
        for spec in &library.manifest().tables {
            let key = format!("{connector}.{}", spec.name);
            let schema = table_schema(live, &key).await?;
            let entry = self
                .tables
                .entry(key.clone())
                .or_insert_with(|| TableEntry {
                    kind: TableKind::Raw,
                    dir: format!("raw/{connector}/{}", spec.name),
                    day_partition: spec
                        .activity_date
                        .as_deref()
                        .map(|c| Layout::day_partition(&schema, c)),
                    day_column: spec.activity_date.clone(),
                    schema: schema.clone(),
                    definition: None,
                    files: Vec::new(),
                });
            let old_entry = self.old.and_then(|m| m.tables.get(&key));
            let comparable = old_entry.filter(|o| o.schema == schema && o.dir == entry.dir);
            if !selected && comparable.is_some() {
                self.run.carry(entry, comparable, client, None).await?;
                continue;
            }
            let restate = sources
                .iter()
                .map(|s| s.restatement_days)
                .max()
                .unwrap_or(0);
            let since = window(entry, comparable, client, self.options, restate);
            line.table(&spec.name);
            // Records that change at any time, read by what changed since the last read.
            let incremental = !self.options.full
                && self.options.since.is_none()
                && sources.iter().all(|s| {
                    s.options
                        .get(INCREMENTAL)
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false)
                });
            if let (Some(changes), Some(old), true) = (&spec.changes, comparable, incremental)
                && let Some(read) = changed::read(
                    &mut self.run,
                    old,
                    live,
                    &key,
                    (&changes.modified, &changes.key, changes.deleted.as_deref()),
                    entry,
                    client,
                    restate,
                    &mut line,
                )
                .await?
            {
                tracing::debug!(table = %key, client, changed = read.changed, "incremental read");
                since_used = merge_window(since_used, Some(Some(read.since)));
                continue;
            }
            since_used = merge_window(since_used, Some(since));
            // Exports usually come by day (a file per day or month, in name order): read them as
            // they come, and only when a day turns up again after its partition was written,
            // read again sorted (a sort of a whole source is most of a sync's memory).
            let table = format!("{}.{}", quote(connector), quote(&spec.name));
            let day = entry.day_column.clone();
            let mark = self.run.mark(entry, &line);
            let sql = read_sql(&table, client, day.as_deref(), since, false);
            let rows = live.plan(&sql, &options()).await?.stream().await?;
            let order = if day.is_some() {
                DayOrder::AsRead
            } else {
                DayOrder::Sorted
            };
            let outcome = self
                .run
                .replace(
                    entry,
                    comparable,
                    client,
                    since,
                    rows.boxed(),
                    &mut line,
                    order,
                )
                .await?;
            if outcome == Outcome::OutOfOrder {
                tracing::debug!(table = %table, client, "not read in day order: read again, sorted");
                let written = self.run.undo(mark, entry, &mut line);
                self.run.remove(&written).await?;
                let sql = read_sql(&table, client, day.as_deref(), since, true);
                let rows = live.plan(&sql, &options()).await?.stream().await?;
                self.run
                    .replace(
                        entry,
                        comparable,
                        client,
                        since,
                        rows.boxed(),
                        &mut line,
                        DayOrder::Sorted,
                    )
                    .await?;
            }
        }
        if !selected {
            line.finish("kept");
            return Ok(());
        }
        let changed = self.run.written + self.run.dropped - changes_before;
        self.run.rows_read += line.rows;
        for s in &sources {
            self.source_runs.push(SourceSync {
                source: s.name.clone(),
                connector: connector.to_string(),
                client_id: client.to_string(),
                synced_at: now(),
                since: since_used.flatten().map(day_text),
                rows_read: line.rows,
                partitions_changed: changed,
                failure: None,
            });
        }
        let (pages, _) = line.fetched();
        let fetched = if pages > 0 {
            format!(
                " from {pages} API page{}",
                if pages == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        line.finish(&format!(
            "{} rows read{fetched}, {} partitions changed",
            line.rows, changed
        ));
        Ok(())
    }

    /// Phase 3: each harmonized table, computed from the new raw tables for each client from
    /// the first day the client's partitions of the connector tables the view reads (through
    /// its mappings) changed — two days earlier: a reporting day can start the UTC day
    /// before —, or whole when an undated one changed; the other clients' carried over.
    /// Everything is computed again when the table's definition changed, when a reference
    /// table the view reads changed (a client's time zone or currency, rates, source
    /// categories), or with `--full`; `--since` computes from that day.
    pub(super) async fn harmonized(
        &mut self,
        derived: &Engine,
        mappings: &[(String, String)],
    ) -> Result<()> {
        let clients: Vec<String> = self.project.clients.iter().map(|c| c.id.clone()).collect();
        let forced = self
            .options
            .since
            .and_then(|d| crate::partition::parse_day(&d.format("%Y-%m-%d").to_string()));
        let mut line = self.lines.line("harmonized tables");
        for view in views::HARMONIZED {
            let schema = table_schema(derived, view.name).await?;
            let mut entry = computed_entry(view.name, &schema, views::activity_day(view.name));
            let own: Vec<(String, String)> = mappings
                .iter()
                .filter(|(v, _)| v == view.name)
                .cloned()
                .collect();
            entry.definition = Some(definition(view.sql, &own));
            // What the view reads: connector tables (through its mappings) and reference tables.
            let sql: Vec<String> = own.iter().map(|(_, m)| m.clone()).collect();
            let (raw, reference): (Vec<String>, Vec<String>) =
                views::references(&view.expand(&sql))?
                    .into_iter()
                    .partition(|t| t.contains('.'));
            let raw: BTreeSet<String> = raw.iter().map(|t| table_dir(t)).collect();
            // A name that is no reference table (none today) could be anything: all again.
            let everything = self.options.full
                || reference
                    .iter()
                    .any(|r| !REFERENCE.contains(&r.as_str()) || self.run.changes.reference(r));
            let old_entry = self.old.and_then(|m| m.tables.get(view.name));
            let comparable = old_entry.filter(|o| comparable(o, &entry));
            for client in &clients {
                let changed = self.run.changes.first_day(|d| raw.contains(d), client);
                let touched = match (everything, forced, changed) {
                    (true, _, _) => Some(None),
                    (_, Some(f), Some(Some(c))) => Some(Some(f.min(c))),
                    (_, Some(f), None) => Some(Some(f)),
                    (_, _, c) => c,
                };
                let since = match (touched, comparable) {
                    (Some(Some(day)), Some(_)) if entry.day_column.is_some() => {
                        Some(day - HARMONIZED_MARGIN_DAYS as i32)
                    }
                    (None, Some(_)) => {
                        self.run.carry(&mut entry, comparable, client, None).await?;
                        continue;
                    }
                    _ => None,
                };
                line.table(view.name);
                let started = std::time::Instant::now();
                let sql = read_sql(
                    &quote(view.name),
                    client,
                    entry.day_column.as_deref(),
                    since,
                    true,
                );
                let computed = async {
                    let rows = derived.plan(&sql, &options()).await?.stream().await?;
                    self.run
                        .replace(
                            &mut entry,
                            comparable,
                            client,
                            since,
                            rows.boxed(),
                            &mut line,
                            DayOrder::Sorted,
                        )
                        .await
                };
                computed.await.map_err(|e| {
                    computing(self.project.warehouse.display(), view.name, client, e)
                })?;
                tracing::debug!(table = view.name, client, elapsed = ?started.elapsed(), "computed");
            }
            self.tables.insert(view.name.to_string(), entry);
        }
        line.finish(&format!("{} rows computed", line.rows));
        Ok(())
    }

    /// Phase 4: a derived view a snapshot stores (one of `views::MATERIALIZED`), computed in
    /// `engine` (over the new harmonized tables and the ones materialized before it) for every
    /// client whose inputs changed in this sync (`views::inputs`: the tables its SQL reads) —
    /// whole, since a login re-keys a person's past sessions — and carried over for the others
    /// (all of them again when its definition changed, or with `--full`). Partitions whose
    /// bytes did not change are linked, not written.
    pub(super) async fn materialized(&mut self, engine: &Engine, name: &str) -> Result<()> {
        let clients: Vec<String> = self.project.clients.iter().map(|c| c.id.clone()).collect();
        // The folders of the tables it reads (connector tables as `raw/...`), and whether a
        // reference table among them changed.
        let read = views::inputs(name)?;
        let inputs: BTreeSet<String> = read.iter().map(|t| table_dir(t)).collect();
        let sql = views::DERIVED
            .iter()
            .find(|v| v.name == name)
            .map_or("", |v| v.sql);
        // What the sync computes it with (the view, or a query giving the same rows that reads
        // the stored inputs more than once), and what its recorded definition covers.
        let (from, recorded) = match views::materialized_sql(name) {
            Some(stored) => (
                format!("({stored}) AS {}", quote(name)),
                format!("{sql}\n{stored}"),
            ),
            None => (quote(name), sql.to_string()),
        };
        let reference_changed = read
            .iter()
            .any(|t| REFERENCE.contains(&t.as_str()) && self.run.changes.reference(t));
        let mut line = self.lines.line("stored derived tables");
        {
            let schema = table_schema(engine, name).await?;
            let mut entry = computed_entry(name, &schema, views::materialized_day(name));
            entry.definition = Some(definition(&recorded, &[]));
            let old_entry = self.old.and_then(|m| m.tables.get(name));
            let comparable = old_entry.filter(|o| comparable(o, &entry));
            for client in &clients {
                let changed = self.options.full
                    || reference_changed
                    || self.run.changes.any(|d| inputs.contains(d), client);
                if comparable.is_some() && !changed {
                    self.run.carry(&mut entry, comparable, client, None).await?;
                    continue;
                }
                line.table(name);
                let started = std::time::Instant::now();
                let sql = read_sql(&from, client, entry.day_column.as_deref(), None, true);
                let computed = async {
                    let rows = engine.plan(&sql, &options()).await?.stream().await?;
                    self.run
                        .replace(
                            &mut entry,
                            comparable,
                            client,
                            None,
                            rows.boxed(),
                            &mut line,
                            DayOrder::Sorted,
                        )
                        .await
                };
                computed
                    .await
                    .map_err(|e| computing(self.project.warehouse.display(), name, client, e))?;
                tracing::debug!(table = name, client, elapsed = ?started.elapsed(), "computed");
            }
            self.tables.insert(name.to_string(), entry);
        }
        line.finish(&format!("{} rows computed", line.rows));
        Ok(())
    }

    /// Phase 2: the reference tables (clients, rates, budgets, ...), written whole (linked when
    /// unchanged): what a cluster reads instead of the project's files, and what tells the
    /// next phases whether a client's settings, the rates or the categories changed.
    pub(super) async fn reference(&mut self, derived: &Engine) -> Result<()> {
        for name in REFERENCE {
            let schema = table_schema(derived, name).await?;
            let mut entry = TableEntry {
                kind: TableKind::Reference,
                dir: format!("reference/{name}"),
                schema,
                day_column: None,
                day_partition: None,
                definition: None,
                files: Vec::new(),
            };
            let old_entry = self.old.and_then(|m| m.tables.get(*name));
            let batches = derived
                .plan(&format!("SELECT * FROM {}", quote(name)), &options())
                .await?
                .collect()
                .await?;
            self.run
                .write_reference(&mut entry, old_entry, &batches)
                .await?;
            self.tables.insert((*name).to_string(), entry);
        }
        Ok(())
    }

    /// The new snapshot's manifest; sources this sync did not read keep their last record.
    pub(super) fn manifest(&mut self, created_at: String) -> Manifest {
        let mut sources = std::mem::take(&mut self.source_runs);
        if let Some(m) = self.old {
            for s in &m.sources {
                let still = self.project.sources.iter().any(|p| p.name == s.source);
                if still && !sources.iter().any(|r| r.source == s.source) {
                    sources.push(s.clone());
                }
            }
        }
        sources.sort_by(|a, b| a.source.cmp(&b.source));
        Manifest {
            format: FORMAT,
            snapshot: self.run.id,
            previous: self.old.map(|m| m.snapshot),
            created_at,
            sources,
            tables: std::mem::take(&mut self.tables),
        }
    }
}

/// A table the sync computes (harmonized, or a stored derived one) before its files are
/// written: partitioned by client and, when it has one, by `day_column`.
fn computed_entry(
    name: &str,
    schema: &datafusion::arrow::datatypes::Schema,
    day_column: Option<&str>,
) -> TableEntry {
    TableEntry {
        kind: TableKind::Harmonized,
        dir: name.to_string(),
        day_partition: day_column.map(|c| Layout::day_partition(schema, c)),
        day_column: day_column.map(str::to_string),
        schema: schema.clone(),
        definition: None,
        files: Vec::new(),
    }
}

/// The folder of a table a view names: `raw/CONNECTOR/TABLE` for a connector's table, the
/// name for a computed one.
fn table_dir(name: &str) -> String {
    match name.split_once('.') {
        Some((connector, table)) => format!("raw/{connector}/{table}"),
        None => name.to_string(),
    }
}

/// Whether a computed table of the previous snapshot can be carried into `entry`: same folder,
/// columns and definition.
fn comparable(old: &TableEntry, entry: &TableEntry) -> bool {
    old.schema == entry.schema && old.dir == entry.dir && old.definition == entry.definition
}

/// A hash of a computed table's definition: its view's SQL and the mappings it is expanded
/// over.
fn definition(sql: &str, mappings: &[(String, String)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(sql.as_bytes());
    let mut mappings: Vec<&(String, String)> = mappings.iter().collect();
    mappings.sort();
    for (view, mapping) in mappings {
        h.update([0]);
        h.update(view.as_bytes());
        h.update([0]);
        h.update(mapping.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A derived table that could not be computed for a client: which one, and for a full disk
/// (DataFusion spills large sorts to the temporary folder) what to do. A scale-300 demo's sync
/// once ended with nothing but "Arrow error: Io error: ... No space left on device".
fn computing(location: String, table: &str, client: &str, e: EngineError) -> EngineError {
    if crate::memory::exhausted(&e) {
        // Kept as it is: the sync explains it with the memory limit (`memory::explain`).
        return e;
    }
    let text = e.to_string();
    let hint = if text.contains("No space left on device") || text.contains("os error 28") {
        format!(
            " — the disk is full: the sync writes the new partitions into the warehouse and \
             spills large sorts to the temporary folder ({}; set TMPDIR to move it); free \
             space and sync again (the previous snapshot is unchanged)",
            std::env::temp_dir().display()
        )
    } else {
        String::new()
    };
    EngineError::Warehouse {
        location,
        message: format!("computing `{table}` for client `{client}`: {text}{hint}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::error::DataFusionError;

    #[test]
    fn a_derived_table_that_fails_is_named_and_a_full_disk_says_what_to_do() {
        let full = EngineError::DataFusion(DataFusionError::ArrowError(
            Box::new(datafusion::arrow::error::ArrowError::IoError(
                "IO error: No space left on device (os error 28)".into(),
                std::io::Error::other("full"),
            )),
            None,
        ));
        let text = computing("/w".into(), "sessions", "acme", full).to_string();
        assert!(
            text.starts_with("warehouse /w: computing `sessions` for client `acme`: "),
            "{text}"
        );
        assert!(text.contains("the disk is full"), "{text}");
        assert!(text.contains("TMPDIR"), "{text}");
        let other = EngineError::DataFusion(DataFusionError::Plan("no column x".into()));
        let text = computing("/w".into(), "touchpoints", "globex", other).to_string();
        assert!(text.ends_with("no column x"), "{text}");
        assert!(!text.contains("disk"), "{text}");
        // Running out of memory stays what the sync explains with its limit.
        let memory = EngineError::DataFusion(DataFusionError::ResourcesExhausted("x".into()));
        assert!(crate::memory::exhausted(&computing(
            "/w".into(),
            "sessions",
            "acme",
            memory
        )));
    }
}
