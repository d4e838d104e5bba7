//! `forecast([horizon_days])`: daily spend, conversions and revenue per client and channel for
//! the days after each client's last day of data, with a prediction interval, by additive
//! Holt-Winters with weekly seasonality (see `crate::forecast`). Spend comes from
//! `ad_performance`; conversions (credited leads and purchases) and revenue (credited won deals
//! and purchases) from `attribution_by_channel` under `loopql.forecast.model` (default linear).
//! Settings: `loopql.forecast.horizon_days` (30), `loopql.forecast.interval` (0.95). Filters
//! on client_id and metric narrow what is read (a client's forecast is its own series only).
//!
//! ```sql
//! SELECT channel, sum(forecast) AS spend_next_30_days FROM forecast(30)
//! WHERE client_id = 'acme' AND metric = 'spend' GROUP BY channel;
//! ```

use super::computed::{Compute, Computed};
use super::journeys::{grow, reserve};
use super::query::{client_list, collect, kept_clients, kept_values, strings};
use crate::attribution::Model;
use crate::forecast::forecast;
use crate::settings;
use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringViewArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::datasource::TableProvider;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8View, false),
        Field::new("channel", DataType::Utf8View, false),
        Field::new("metric", DataType::Utf8View, false),
        Field::new("date", DataType::Date32, false),
        Field::new("horizon_day", DataType::Int64, false),
        Field::new("forecast", DataType::Float64, false),
        Field::new("lower", DataType::Float64, false),
        Field::new("upper", DataType::Float64, false),
        Field::new("method", DataType::Utf8View, false),
    ]))
});

#[derive(Debug, Default)]
pub struct ForecastFunction;

impl TableFunctionImpl for ForecastFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let horizon = match args.exprs() {
            [] => None,
            [Expr::Literal(v, _)] => match v {
                ScalarValue::Int64(Some(n)) if (1..=366).contains(n) => Some(*n as usize),
                ScalarValue::Int32(Some(n)) if (1..=366).contains(n) => Some(*n as usize),
                other => {
                    return plan_err!(
                        "forecast([horizon_days]): horizon_days must be 1 to 366, found {other}"
                    );
                }
            },
            _ => return plan_err!("forecast([horizon_days]) takes at most one integer"),
        };
        Ok(Computed::provider(ForecastTable { horizon }))
    }
}

#[derive(Debug)]
struct ForecastTable {
    horizon: Option<usize>,
}

/// (client, channel, metric) -> day -> value
type Series = BTreeMap<(String, String, &'static str), BTreeMap<i32, f64>>;

fn add(
    series: &mut Series,
    batch: &RecordBatch,
    metric: &'static str,
    column: usize,
) -> Result<()> {
    let (client, channel) = (strings(batch, "client_id")?, strings(batch, "channel")?);
    let date = cast(batch.column(2), &DataType::Date32)?;
    let date = date.as_primitive::<Date32Type>();
    let value = cast(batch.column(column), &DataType::Float64)?;
    let value = value.as_primitive::<Float64Type>();
    for i in 0..batch.num_rows() {
        if client.is_null(i) || channel.is_null(i) || date.is_null(i) {
            continue;
        }
        let v = if value.is_null(i) {
            0.0
        } else {
            value.value(i)
        };
        *series
            .entry((
                client.value(i).to_string(),
                channel.value(i).to_string(),
                metric,
            ))
            .or_default()
            .entry(date.value(i))
            .or_default() += v;
    }
    Ok(())
}

/// About what `series` holds: its keys, and a tree node per day.
fn series_bytes(series: &Series) -> usize {
    series
        .iter()
        .map(|((client, channel, _), days)| client.len() + channel.len() + 96 + days.len() * 48)
        .sum()
}

/// About what the rows of `horizon` days forecast from `series` hold, as built and as columns.
fn rows_bytes(series: &Series, horizon: usize) -> usize {
    series
        .keys()
        .map(|(client, channel, _)| horizon * 2 * (client.len() + channel.len() + 160))
        .sum()
}

#[async_trait]
impl Compute for ForecastTable {
    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn uses_filters(&self) -> bool {
        true
    }

    async fn compute(&self, state: &SessionState, filters: &[Expr]) -> Result<RecordBatch> {
        let options = settings::of(state.config_options()).forecast;
        let model: Model = options
            .model
            .parse()
            .map_err(|e: String| datafusion::error::DataFusionError::Configuration(e))?;
        let horizon = self
            .horizon
            .unwrap_or(usize::try_from(options.horizon_days).unwrap_or(30))
            .clamp(1, 366);
        // Only the metrics the query keeps are read: spend alone (budget pacing) needs no
        // attribution run.
        let metrics = kept_values(
            state,
            filters,
            "metric",
            &["spend", "conversions", "revenue"],
        )?;
        // A client's forecast depends on its own series only: the clients the query keeps are
        // read, and their credits are all `attribution()` computes.
        let clients = kept_clients(state, filters).await?;
        if clients.is_empty() {
            return Ok(RecordBatch::new_empty(SCHEMA.clone()));
        }
        // The series and the rows they become count against the query's memory pool.
        let reservation = reserve(state, "forecast", "the series", &clients, 0)?;
        let names = clients;
        let clients = client_list(&names);
        let mut series = Series::new();
        if metrics.contains(&"spend") {
            for b in collect(
                state,
                &format!(
                    "SELECT client_id, channel, date, sum(spend) AS spend FROM ad_performance \
                     WHERE spend IS NOT NULL AND {clients} GROUP BY 1, 2, 3"
                ),
            )
            .await?
            {
                add(&mut series, &b, "spend", 3)?;
            }
            grow(
                &reservation,
                "forecast",
                "the series",
                &names,
                series_bytes(&series),
            )?;
        }
        if metrics.contains(&"conversions") || metrics.contains(&"revenue") {
            for b in collect(
                state,
                &format!(
                    "SELECT client_id, channel, conversion_date AS date, \
                     sum(CASE WHEN conversion_type IN ('lead', 'purchase') THEN conversions ELSE 0.0 END) AS conversions, \
                     sum(CASE WHEN conversion_type IN ('won_deal', 'purchase') THEN value ELSE 0.0 END) AS revenue \
                     FROM attribution_by_channel WHERE model = '{}' AND channel <> 'Unmatched' AND {clients} \
                     GROUP BY 1, 2, 3",
                    model.name()
                ),
            )
            .await?
            {
                add(&mut series, &b, "conversions", 3)?;
                add(&mut series, &b, "revenue", 4)?;
            }
            let held = series_bytes(&series).saturating_sub(reservation.size());
            grow(&reservation, "forecast", "the series", &names, held)?;
        }
        // A client's history of a metric spans its first to its last day over all channels (a
        // channel without data on a day inside it had 0; the metric's source may end earlier
        // than another's, e.g. ad exports before the CRM).
        let mut span: HashMap<(String, &'static str), (i32, i32)> = HashMap::new();
        for ((client, _, metric), days) in &series {
            if let (Some((&first, _)), Some((&last, _))) =
                (days.first_key_value(), days.last_key_value())
            {
                let e = span
                    .entry((client.clone(), metric))
                    .or_insert((first, last));
                e.0 = e.0.min(first);
                e.1 = e.1.max(last);
            }
        }
        let out = rows_bytes(&series, horizon);
        grow(&reservation, "forecast", "the forecast rows", &names, out)?;
        let mut rows: Vec<(
            String,
            String,
            &'static str,
            i32,
            i64,
            f64,
            f64,
            f64,
            String,
        )> = Vec::new();
        for ((client, channel, metric), days) in &series {
            let Some(&(first, last)) = span.get(&(client.clone(), *metric)) else {
                continue;
            };
            let y: Vec<f64> = (first..=last)
                .map(|d| days.get(&d).copied().unwrap_or(0.0))
                .collect();
            let f = forecast(&y, horizon, options.interval);
            for h in 0..horizon {
                rows.push((
                    client.clone(),
                    channel.clone(),
                    metric,
                    last + 1 + h as i32,
                    h as i64 + 1,
                    f.point[h],
                    f.lower[h],
                    f.upper[h],
                    f.method.clone(),
                ));
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringViewArray::from_iter_values(
                rows.iter().map(|r| r.0.as_str()),
            )),
            Arc::new(StringViewArray::from_iter_values(
                rows.iter().map(|r| r.1.as_str()),
            )),
            Arc::new(StringViewArray::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| r.3))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.4))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.5))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.6))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.7))),
            Arc::new(StringViewArray::from_iter_values(
                rows.iter().map(|r| r.8.as_str()),
            )),
        ];
        Ok(RecordBatch::try_new(SCHEMA.clone(), columns)?)
    }
}
