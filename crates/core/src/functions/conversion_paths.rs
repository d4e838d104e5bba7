//! `conversion_paths()`: every conversion with the path the attribution models see — its
//! person's touches within `loopql.attribution.lookback_days`, after the direct policy, the path
//! transform and `lookback_steps` — read when the query runs, like `attribution`.
//!
//! ```sql
//! SET loopql.attribution.path_transform = 'exposure';
//! SELECT path, count(*) AS conversions FROM conversion_paths()
//! WHERE conversion_type = 'lead' GROUP BY path ORDER BY conversions DESC LIMIT 10;
//! ```

use super::computed::{Compute, Computed};
use super::journeys::{self, Key};
use super::table_args::literal_strings;
use crate::attribution::paths;
use crate::settings;
use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringViewArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::datasource::TableProvider;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use std::sync::{Arc, LazyLock};

/// A row's fixed part while it is built (the tuple) and in the output columns.
const ROW_BYTES: usize = 160;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8View, false),
        Field::new("person_key", DataType::Utf8View, false),
        Field::new("conversion_ts", ts.clone(), false),
        Field::new("conversion_date", DataType::Date32, true),
        Field::new("conversion_type", DataType::Utf8View, false),
        Field::new("value", DataType::Float64, false),
        Field::new("path", DataType::Utf8View, false),
        Field::new("touches", DataType::Int64, false),
        Field::new("first_touch_ts", ts, true),
    ]))
});

#[derive(Debug, Default)]
pub struct ConversionPathsFunction;

impl TableFunctionImpl for ConversionPathsFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if !literal_strings("conversion_paths()", args.exprs())?.is_empty() {
            return plan_err!(
                "conversion_paths() takes no arguments; paths follow the loopql.attribution.* settings"
            );
        }
        Ok(Computed::provider(PathsTable))
    }
}

#[derive(Debug)]
struct PathsTable;

#[async_trait]
impl Compute for PathsTable {
    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn uses_filters(&self) -> bool {
        true
    }

    async fn compute(&self, state: &SessionState, filters: &[Expr]) -> Result<RecordBatch> {
        let options = settings::of(state.config_options()).attribution;
        options.validate()?;
        let loaded = journeys::load(
            state,
            journeys::Credited::Filtered(filters),
            Key::Channel,
            true,
        )
        .await?;
        // The journeys and the paths built from them count against the query's memory pool.
        let names: Vec<String> = loaded.keys().cloned().collect();
        let bytes = loaded.values().map(|j| j.heap_bytes()).sum();
        let reservation =
            journeys::reserve(state, "conversion_paths", "the journeys", &names, bytes)?;
        let mut unreserved = 0usize;
        let mut rows = Vec::new();
        for (client, j) in &loaded {
            let Some(person_keys) = &j.person_keys else {
                return Err(DataFusionError::Internal(
                    "journeys read without their person keys".into(),
                ));
            };
            for c in j.conversions.iter().filter(|c| c.credited) {
                let (ts, keys) = j.touches(c.person);
                let path = paths::path(ts, keys, &j.keys.direct, c.ts, &options);
                let text = path
                    .keys
                    .iter()
                    .map(|k| j.keys.text[*k as usize].as_str())
                    .collect::<Vec<_>>()
                    .join(" > ");
                let person = person_keys.value(c.person as usize);
                // A row, its path's text and the output columns' copies of it and the key.
                unreserved += 2 * text.len() + person.len() + ROW_BYTES;
                if unreserved >= 1 << 20 {
                    reservation.try_grow(unreserved).map_err(|why| {
                        DataFusionError::ResourcesExhausted(format!(
                            "conversion_paths: the paths of {client} do not fit in the memory allowed: {why}"
                        ))
                    })?;
                    unreserved = 0;
                }
                rows.push((
                    client.as_str(),
                    person,
                    c,
                    j.types[c.kind as usize].as_str(),
                    text,
                    path.len() as i64,
                    path.ts.first().copied(),
                ));
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringViewArray::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringViewArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.2.ts))
                    .with_timezone("UTC"),
            ),
            Arc::new(Date32Array::from_iter(
                rows.iter()
                    .map(|r| (r.2.date != i32::MIN).then_some(r.2.date)),
            )),
            Arc::new(StringViewArray::from_iter_values(rows.iter().map(|r| r.3))),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.2.value),
            )),
            Arc::new(StringViewArray::from_iter_values(
                rows.iter().map(|r| r.4.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.5))),
            Arc::new(
                TimestampMicrosecondArray::from_iter(rows.iter().map(|r| r.6)).with_timezone("UTC"),
            ),
        ];
        Ok(RecordBatch::try_new(SCHEMA.clone(), columns)?)
    }
}
