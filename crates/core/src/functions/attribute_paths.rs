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
use super::path_table::{self, Table};
use super::query::collect;
use super::table_args::literal_strings;
use crate::attribution::heuristic;
use crate::attribution::journeys::Milestones;
use crate::attribution::markov::{self, PathRef};
use crate::attribution::paths::{self, Path};
use crate::attribution::shapley::{self, Journey};
use crate::attribution::{Model, UNMATCHED, parse_models};
use crate::settings;
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
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
    let keys = &table.keys;
    let rows = 0..table.len();
    let longest = rows.clone().map(|i| table.path(i).len()).max().unwrap_or(0);
    let steps: Vec<i64> = (0..longest as i64).collect();
    // Each row's path after the transforms, in one arena: row i's is `bounds[i]..bounds[i + 1]`
    // of `prepared_ts` / `prepared_keys`.
    let (mut prepared_ts, mut prepared_keys, mut bounds) = (Vec::new(), Vec::new(), vec![0]);
    let mut path = Path::default();
    for i in rows.clone() {
        let given = table.path(i);
        let ts = &steps[..given.len()];
        paths::path_into(
            &mut path,
            ts,
            given,
            &keys.direct,
            given.len() as i64,
            &options,
        );
        prepared_ts.extend_from_slice(&path.ts);
        prepared_keys.extend_from_slice(&path.keys);
        bounds.push(prepared_keys.len());
    }
    let prepared = |i: usize| &prepared_keys[bounds[i]..bounds[i + 1]];
    // Row i's prepared path into `out` (for the heuristics, which read a Path).
    let prepared_path = |i: usize, out: &mut Path| {
        out.ts.clear();
        out.ts
            .extend_from_slice(&prepared_ts[bounds[i]..bounds[i + 1]]);
        out.keys.clear();
        out.keys.extend_from_slice(prepared(i));
    };
    // Which keys some path still has after the transforms.
    let mut on_a_path = vec![false; keys.len()];
    for &k in &prepared_keys {
        on_a_path[k as usize] = true;
    }
    let name = |k: u32| keys.text[k as usize].clone();
    let (conversions, value) = (&table.conversions, &table.value);
    let mut totals = Totals::new();
    // Conversions without a path are Unmatched under every model.
    let unmatched = |totals: &mut Totals, model: Model| {
        for i in rows.clone() {
            if prepared(i).is_empty() && (conversions[i] != 0.0 || value[i] != 0.0) {
                let e = totals.entry((model, UNMATCHED.to_string())).or_default();
                e.0 += conversions[i];
                e.1 += value[i];
            }
        }
    };
    // Credits per key id, rows in order; a key shows once some credit named it.
    let mut credited = vec![None::<(f64, f64)>; keys.len()];
    for &model in models {
        unmatched(&mut totals, model);
        let (matched, matched_value): (f64, f64) = rows
            .clone()
            .filter(|&i| !prepared(i).is_empty())
            .fold((0.0, 0.0), |(c, v), i| (c + conversions[i], v + value[i]));
        credited.fill(None);
        let mut credit = |k: u32, share: f64, i: usize| {
            let e = credited[k as usize].get_or_insert((0.0, 0.0));
            e.0 += share * conversions[i];
            e.1 += share * value[i];
        };
        match model {
            // The global A(k) = RE(k) / Σ RE · conversions, as channelattribution reports it.
            Model::Markov => {
                let order = usize::try_from(options.markov_order).unwrap_or(1);
                let walks: Vec<PathRef<'_>> = rows
                    .clone()
                    .map(|i| PathRef {
                        keys: prepared(i),
                        conversions: conversions[i],
                        nulls: table.nulls[i],
                    })
                    .collect();
                let fitted = markov::fit_within(&walks, order, keys.len(), reserve)
                    .map_err(datafusion::error::DataFusionError::ResourcesExhausted)?;
                let shares = fitted.shares();
                for (k, re) in fitted.removal_effects.iter().enumerate() {
                    if on_a_path[k] {
                        totals.insert(
                            (model, name(k as u32)),
                            (shares[k] * matched, shares[k] * matched_value, Some(*re)),
                        );
                    }
                }
                continue;
            }
            // Data-driven Shapley, each path's conversions split by φ over its own channels.
            Model::Shapley => {
                // A row of c conversions and m non-conversions is c + m journeys.
                let journeys: Vec<Journey> = rows
                    .clone()
                    .map(|i| {
                        let mut set = prepared(i).to_vec();
                        set.sort_unstable();
                        set.dedup();
                        Journey {
                            keys: set,
                            journeys: conversions[i].max(0.0) + table.nulls[i].max(0.0),
                            conversions: conversions[i].max(0.0),
                        }
                    })
                    .collect();
                let phi = shapley::values(&journeys, keys.len());
                for i in rows.clone().filter(|&i| !prepared(i).is_empty()) {
                    for (k, share) in shapley::split(prepared(i), &phi) {
                        credit(k, share, i);
                    }
                }
            }
            _ => {
                let mut path = Path::default();
                for i in rows.clone() {
                    if prepared(i).is_empty() || (conversions[i] == 0.0 && value[i] == 0.0) {
                        continue;
                    }
                    prepared_path(i, &mut path);
                    let end = path.ts.last().copied().unwrap_or(0);
                    for (k, share) in heuristic::credits(
                        model,
                        &path,
                        end,
                        &keys.direct,
                        &params,
                        &Milestones::default(),
                    ) {
                        credit(k, share, i);
                    }
                }
            }
        }
        for (k, c) in credited.iter().enumerate() {
            if let Some((c, v)) = *c {
                totals.insert((model, name(k as u32)), (c, v, None));
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
            &path_table::read(&self.table, &batches)?,
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
            t.push(path.split('>'), conversions, value, nulls);
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
