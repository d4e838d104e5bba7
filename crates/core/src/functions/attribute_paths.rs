//! `attribute_paths(model, table)`: the attribution models over any table of paths — one that
//! another tool produced, read as an external table — rather than over loopql's own journeys.
//! The table needs a `path` column (text `'a > b > c'`, or a list of strings) and may have
//! `conversions` (default 1; also `total_conversions`), `value` (default 0; also
//! `conversion_value`, `total_conversion_value`) and `nulls` (non-conversions, default 0; also
//! `total_null`, `non_conversions`). The session's path transform, lookback steps and direct
//! policy apply; time-decay and W-shaped need touch times and CRM milestones, so they are not
//! offered here. Result: model, channel, conversions, value, removal_effect (Markov only).
//!
//! ```sql
//! CREATE EXTERNAL TABLE paths STORED AS CSV LOCATION 'paths.csv' OPTIONS ('format.delimiter' ';');
//! SELECT * FROM attribute_paths('markov', 'paths') ORDER BY conversions DESC;
//! ```

use super::computed::{Compute, Computed};
use super::journeys::collect;
use super::table_args::literal_strings;
use crate::attribution::heuristic;
use crate::attribution::journeys::{Keys, Milestones};
use crate::attribution::markov::{self, PathCount};
use crate::attribution::paths::{self, Path};
use crate::attribution::shapley::{self, Journey};
use crate::attribution::{DIRECT, Model, UNMATCHED, parse_models};
use crate::settings;
use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{Result, plan_err};
use datafusion::datasource::TableProvider;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("conversions", DataType::Float64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("removal_effect", DataType::Float64, true),
    ]))
});

const SIGNATURE: &str = "attribute_paths(model, table)";

/// Models that need only the order of touches.
fn path_only(m: Model) -> bool {
    !matches!(m, Model::TimeDecay | Model::WShaped)
}

#[derive(Debug, Default)]
pub struct AttributePathsFunction;

impl TableFunctionImpl for AttributePathsFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let strings = literal_strings(SIGNATURE, args.exprs())?;
        let [model, table] = strings.as_slice() else {
            return plan_err!(
                "{SIGNATURE} takes two arguments, e.g. attribute_paths('linear', 'paths')"
            );
        };
        let mut models = parse_models(model).map_err(datafusion::error::DataFusionError::Plan)?;
        if model.trim().eq_ignore_ascii_case("all") {
            models.retain(|m| path_only(*m));
        } else if !path_only(models[0]) {
            return plan_err!(
                "{SIGNATURE}: `{model}` needs touch times and CRM milestones, which a table of paths does not have; use attribution('channel', '{model}') over loopql's journeys"
            );
        }
        let valid = !table.is_empty()
            && table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid {
            return plan_err!(
                "{SIGNATURE}: table must be a table or view name (letters, digits, _ and .), found `{table}`"
            );
        }
        Ok(Computed::provider(PathsTable {
            models,
            table: table.clone(),
        }))
    }
}

#[derive(Debug)]
struct PathsTable {
    models: Vec<Model>,
    table: String,
}

/// One input row, its path as key ids.
struct Row {
    path: Vec<u32>,
    conversions: f64,
    value: f64,
    nulls: f64,
}

/// The input: its rows and the channels their paths name. Rows whose path is the same text
/// are one row (their conversions, values and non-conversions summed: every model is linear in
/// them), so a large table of repeated paths is parsed and fitted once per distinct path.
#[derive(Default)]
struct Table {
    keys: Keys,
    rows: Vec<Row>,
    /// Path text -> its row.
    by_text: std::collections::HashMap<String, usize, ahash::RandomState>,
}

impl Table {
    /// A path's channel ids, interned from its names (blanks around a name are ignored, as are
    /// empty names).
    fn ids<'a>(&mut self, names: impl Iterator<Item = &'a str>) -> Vec<u32> {
        names
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| self.keys.intern(n, n == DIRECT))
            .collect()
    }
}

fn column<'a>(batch: &'a RecordBatch, names: &[&str]) -> Option<&'a ArrayRef> {
    names.iter().find_map(|n| {
        let schema = batch.schema();
        let i = schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(n))?;
        Some(batch.column(i))
    })
}

fn numbers(batch: &RecordBatch, names: &[&str], default: f64) -> Result<Vec<f64>> {
    match column(batch, names) {
        None => Ok(vec![default; batch.num_rows()]),
        Some(c) => {
            let c = cast(c, &DataType::Float64)?;
            let c = c.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            Ok((0..c.len())
                .map(|i| if c.is_valid(i) { c.value(i) } else { 0.0 })
                .collect())
        }
    }
}

fn rows(table: &str, batches: &[RecordBatch]) -> Result<Table> {
    let mut out = Table::default();
    for b in batches {
        let Some(path) = column(b, &["path"]) else {
            return plan_err!(
                "{SIGNATURE}: `{table}` has no `path` column (found: {})",
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let conversions = numbers(b, &["conversions", "total_conversions", "conversion"], 1.0)?;
        let value = numbers(
            b,
            &["value", "conversion_value", "total_conversion_value"],
            0.0,
        )?;
        let nulls = numbers(
            b,
            &["nulls", "total_null", "total_nulls", "non_conversions"],
            0.0,
        )?;
        if !matches!(path.data_type(), DataType::List(_) | DataType::LargeList(_)) {
            let s = cast(path, &DataType::Utf8View)?;
            let s = s.as_string_view();
            for i in 0..s.len() {
                let text = if s.is_null(i) { "" } else { s.value(i) };
                let row = match out.by_text.get(text) {
                    Some(&row) => row,
                    None => {
                        let path = out.ids(text.split('>'));
                        out.rows.push(Row {
                            path,
                            conversions: 0.0,
                            value: 0.0,
                            nulls: 0.0,
                        });
                        out.by_text.insert(text.to_string(), out.rows.len() - 1);
                        out.rows.len() - 1
                    }
                };
                let r = &mut out.rows[row];
                r.conversions += conversions[i];
                r.value += value[i];
                r.nulls += nulls[i];
            }
            continue;
        }
        // A list of names per row.
        let list = cast(path, &DataType::new_list(DataType::Utf8, true))?;
        let list = list.as_list::<i32>();
        let ids: Vec<Vec<u32>> = (0..list.len())
            .map(|i| {
                if list.is_null(i) {
                    return Vec::new();
                }
                let v = list.value(i);
                out.ids(v.as_string::<i32>().iter().flatten())
            })
            .collect();
        for (i, path) in ids.into_iter().enumerate() {
            out.rows.push(Row {
                path,
                conversions: conversions[i],
                value: value[i],
                nulls: nulls[i],
            });
        }
    }
    Ok(out)
}

/// (model, channel) -> (conversions, value, removal effect)
type Totals = BTreeMap<(Model, String), (f64, f64, Option<f64>)>;

fn attribute(
    models: &[Model],
    table: &Table,
    options: &settings::AttributionOptions,
    reserve: &markov::Reserve<'_>,
) -> Result<Totals> {
    let params = crate::attribution::credit::params(options);
    // Paths as given (no lookback in days: a table of paths has no times).
    let options = settings::AttributionOptions {
        lookback_days: u64::MAX,
        ..options.clone()
    };
    let (keys, rows) = (&table.keys, &table.rows);
    let longest = rows.iter().map(|r| r.path.len()).max().unwrap_or(0);
    let steps: Vec<i64> = (0..longest as i64).collect();
    let prepared: Vec<Path> = rows
        .iter()
        .map(|r| {
            let ts = &steps[..r.path.len()];
            paths::path(ts, &r.path, &keys.direct, r.path.len() as i64, &options)
        })
        .collect();
    // Which keys some path still has after the transforms.
    let mut on_a_path = vec![false; keys.len()];
    for p in &prepared {
        for &k in &p.keys {
            on_a_path[k as usize] = true;
        }
    }
    let name = |k: u32| keys.text[k as usize].clone();
    let mut totals = Totals::new();
    // Conversions without a path are Unmatched under every model.
    let unmatched = |totals: &mut Totals, model: Model| {
        for (r, p) in rows.iter().zip(&prepared) {
            if p.is_empty() && (r.conversions != 0.0 || r.value != 0.0) {
                let e = totals.entry((model, UNMATCHED.to_string())).or_default();
                e.0 += r.conversions;
                e.1 += r.value;
            }
        }
    };
    for &model in models {
        unmatched(&mut totals, model);
        let (conversions, value): (f64, f64) = rows
            .iter()
            .zip(&prepared)
            .filter(|(_, p)| !p.is_empty())
            .fold((0.0, 0.0), |(c, v), (r, _)| {
                (c + r.conversions, v + r.value)
            });
        match model {
            // The global A(k) = RE(k) / Σ RE · conversions, as channelattribution reports it.
            Model::Markov => {
                let order = usize::try_from(options.markov_order).unwrap_or(1);
                let counts = markov::group(rows.iter().zip(&prepared).map(|(r, p)| PathCount {
                    keys: p.keys.clone(),
                    conversions: r.conversions,
                    nulls: r.nulls,
                }));
                let fitted = markov::fit_within(&counts, order, keys.len(), reserve)
                    .map_err(datafusion::error::DataFusionError::ResourcesExhausted)?;
                let shares = fitted.shares();
                for (k, re) in fitted.removal_effects.iter().enumerate() {
                    if on_a_path[k] {
                        totals.insert(
                            (model, name(k as u32)),
                            (shares[k] * conversions, shares[k] * value, Some(*re)),
                        );
                    }
                }
            }
            // Data-driven Shapley, each path's conversions split by φ over its own channels.
            Model::Shapley => {
                // A row of c conversions and m non-conversions is c + m journeys.
                let journeys: Vec<Journey> = rows
                    .iter()
                    .zip(&prepared)
                    .map(|(r, p)| {
                        let mut set = p.keys.clone();
                        set.sort_unstable();
                        set.dedup();
                        Journey {
                            keys: set,
                            journeys: r.conversions.max(0.0) + r.nulls.max(0.0),
                            conversions: r.conversions.max(0.0),
                        }
                    })
                    .collect();
                let phi = shapley::values(&journeys, keys.len());
                for (r, p) in rows.iter().zip(&prepared) {
                    if p.is_empty() {
                        continue;
                    }
                    for (k, share) in shapley::split(&p.keys, &phi) {
                        let e = totals.entry((model, name(k))).or_default();
                        e.0 += share * r.conversions;
                        e.1 += share * r.value;
                    }
                }
            }
            _ => {
                for (r, p) in rows.iter().zip(&prepared) {
                    if p.is_empty() || (r.conversions == 0.0 && r.value == 0.0) {
                        continue;
                    }
                    let end = p.ts.last().copied().unwrap_or(0);
                    for (k, share) in heuristic::credits(
                        model,
                        p,
                        end,
                        &keys.direct,
                        &params,
                        &Milestones::default(),
                    ) {
                        let e = totals.entry((model, name(k))).or_default();
                        e.0 += share * r.conversions;
                        e.1 += share * r.value;
                    }
                }
            }
        }
    }
    Ok(totals)
}

#[async_trait]
impl Compute for PathsTable {
    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn uses_filters(&self) -> bool {
        false
    }

    async fn compute(&self, state: &SessionState, _filters: &[Expr]) -> Result<RecordBatch> {
        let options = settings::of(state.config_options()).attribution;
        options.validate()?;
        let batches = collect(state, &format!("SELECT * FROM {}", self.table)).await?;
        // A Markov chain counts against the query's memory pool.
        let mut reservation =
            datafusion::execution::memory_pool::MemoryConsumer::new("attribute_paths")
                .register(&state.runtime_env().memory_pool);
        let reservation = std::sync::Mutex::new(&mut reservation);
        let grant = |bytes: usize| -> std::result::Result<(), String> {
            reservation
                .lock()
                .map_err(|_| "the memory reservation was poisoned".to_string())?
                .try_grow(bytes)
                .map_err(|e| e.to_string())
        };
        let totals = attribute(
            &self.models,
            &rows(&self.table, &batches)?,
            &options,
            &grant,
        )?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                totals.keys().map(|k| k.0.name()),
            )),
            Arc::new(StringArray::from_iter_values(
                totals.keys().map(|k| k.1.as_str()),
            )),
            Arc::new(Float64Array::from_iter_values(totals.values().map(|v| v.0))),
            Arc::new(Float64Array::from_iter_values(totals.values().map(|v| v.1))),
            Arc::new(Float64Array::from_iter(totals.values().map(|v| v.2))),
        ];
        Ok(RecordBatch::try_new(SCHEMA.clone(), columns)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of (path text, conversions, value, nulls) rows.
    fn table(rows: &[(&str, f64, f64, f64)]) -> Table {
        let mut t = Table::default();
        for &(path, conversions, value, nulls) in rows {
            let path = t.ids(path.split('>'));
            t.rows.push(Row {
                path,
                conversions,
                value,
                nulls,
            });
        }
        t
    }

    #[test]
    fn heuristics_weight_each_path_by_its_conversions() {
        let rows = table(&[
            ("a > b", 2.0, 100.0, 5.0),
            ("b", 1.0, 10.0, 0.0),
            ("", 1.0, 7.0, 0.0),
        ]);
        let t = attribute(
            &[Model::Linear, Model::First],
            &rows,
            &Default::default(),
            &|_| Ok(()),
        )
        .unwrap();
        assert_eq!(t[&(Model::Linear, "a".into())].0, 1.0);
        assert_eq!(t[&(Model::Linear, "b".into())].0, 2.0);
        assert_eq!(t[&(Model::Linear, "b".into())].1, 60.0);
        assert_eq!(t[&(Model::First, "a".into())].1, 100.0);
        assert_eq!(t[&(Model::Linear, UNMATCHED.into())], (1.0, 7.0, None));
    }

    #[test]
    fn markov_totals_are_the_matched_conversions() {
        let rows = table(&[
            ("a > b", 1.0, 10.0, 0.0),
            ("a", 1.0, 10.0, 0.0),
            ("b", 0.0, 0.0, 1.0),
        ]);
        let t = attribute(&[Model::Markov], &rows, &Default::default(), &|_| Ok(())).unwrap();
        // The hand-solved chain of markov.rs: shares 0.6 / 0.4 of 2 conversions.
        assert!((t[&(Model::Markov, "a".into())].0 - 1.2).abs() < 1e-12);
        assert!((t[&(Model::Markov, "b".into())].1 - 8.0).abs() < 1e-12);
        assert!((t[&(Model::Markov, "a".into())].2.unwrap() - 0.75).abs() < 1e-12);
    }
}
