//! What the attribution table functions read when a query runs: every conversion (for
//! milestones and non-conversions) and the filtered ones to credit, and each person's touches,
//! keyed by channel or by channel and campaign.

use crate::attribution::credit::{Conversion, Inputs, PersonKey};
use crate::attribution::paths::RawTouch;
use crate::attribution::{Milestones, Model};
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, Float64Type, Schema, TimestampMicrosecondType,
};
use datafusion::common::Result;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What a touch is credited to.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    Channel,
    /// Channel and campaign, joined by the separator.
    ChannelCampaign(char),
}

/// The conversions to credit and everything their paths need.
pub struct Loaded {
    pub conversions: Vec<Conversion>,
    pub touches: HashMap<PersonKey, Vec<RawTouch>>,
    pub milestones: HashMap<PersonKey, Milestones>,
    pub converted: HashSet<(String, String, String)>,
}

impl Loaded {
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            conversions: &self.conversions,
            touches: &self.touches,
            milestones: &self.milestones,
            converted: &self.converted,
        }
    }
}

/// Runs `sql` in `state` and collects the result.
pub async fn collect(state: &SessionState, sql: &str) -> Result<Vec<RecordBatch>> {
    let plan = state.create_logical_plan(sql).await?;
    let physical = state.create_physical_plan(&plan).await?;
    datafusion::physical_plan::collect(physical, state.task_ctx()).await
}

/// Keeps the rows of `batch` that every filter over its columns accepts.
pub fn apply_filters(
    state: &SessionState,
    filters: &[Expr],
    batch: RecordBatch,
) -> Result<RecordBatch> {
    let schema = datafusion::common::DFSchema::try_from(batch.schema().as_ref().clone())?;
    let mut batch = batch;
    for f in filters {
        let covered = f
            .column_refs()
            .iter()
            .all(|c| batch.schema().column_with_name(&c.name).is_some());
        if !covered {
            continue;
        }
        let expr = state.create_physical_expr(f.clone(), &schema)?;
        let mask = expr.evaluate(&batch)?.into_array(batch.num_rows())?;
        let mask = mask.as_boolean_opt().cloned().unwrap_or_else(|| {
            datafusion::arrow::array::BooleanArray::from(vec![true; batch.num_rows()])
        });
        batch = datafusion::arrow::compute::filter_record_batch(&batch, &mask)?;
    }
    Ok(batch)
}

pub fn strings(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    let c = batch.column_by_name(name).ok_or_else(|| {
        datafusion::error::DataFusionError::Plan(format!("missing column {name}"))
    })?;
    Ok(datafusion::arrow::compute::cast(c, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

pub fn opt(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

pub fn micros(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>> {
    let c = batch.column_by_name(name).ok_or_else(|| {
        datafusion::error::DataFusionError::Plan(format!("missing column {name}"))
    })?;
    let c = datafusion::arrow::compute::cast(
        c,
        &DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
    )?;
    let a = c.as_primitive::<TimestampMicrosecondType>();
    Ok((0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect())
}

/// The models of `models` that the query's filters on `model` keep.
pub fn kept_models(state: &SessionState, filters: &[Expr], models: &[Model]) -> Result<Vec<Model>> {
    let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
    let kept = kept_values(state, filters, "model", &names)?;
    Ok(models
        .iter()
        .copied()
        .filter(|m| kept.contains(&m.name()))
        .collect())
}

/// The `values` of text column `column` that the query's filters on it keep (all of them when
/// no filter names the column).
pub fn kept_values<'v>(
    state: &SessionState,
    filters: &[Expr],
    column: &str,
    values: &[&'v str],
) -> Result<Vec<&'v str>> {
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(column, DataType::Utf8, false)])),
        vec![Arc::new(StringArray::from_iter_values(
            values.iter().copied(),
        ))],
    )?;
    let kept = strings(&apply_filters(state, filters, batch)?, column)?;
    Ok(values
        .iter()
        .copied()
        .filter(|v| kept.iter().any(|k| k == Some(*v)))
        .collect())
}

/// Reads conversions (those `filters` keep are credited) and the touches of their clients.
pub async fn load(state: &SessionState, filters: &[Expr], key: Key) -> Result<Loaded> {
    let all = collect(
        state,
        "SELECT client_id, person_key, conversion_ts, conversion_date, type AS conversion_type, \
             COALESCE(value, 0.0) AS value FROM conversions \
             WHERE person_key IS NOT NULL AND conversion_ts IS NOT NULL",
    )
    .await?;
    let mut conversions = Vec::new();
    let mut converted = HashSet::new();
    let mut milestones: HashMap<PersonKey, Milestones> = HashMap::new();
    for batch in all {
        // Milestones and "has converted" come from every conversion, before the filters.
        let (client, person, ctype) = (
            strings(&batch, "client_id")?,
            strings(&batch, "person_key")?,
            strings(&batch, "conversion_type")?,
        );
        let ts = micros(&batch, "conversion_ts")?;
        for (i, ts) in ts.iter().enumerate() {
            let (Some(c), Some(p), Some(t), Some(at)) =
                (opt(&client, i), opt(&person, i), opt(&ctype, i), *ts)
            else {
                continue;
            };
            converted.insert((c.to_string(), p.to_string(), t.to_string()));
            let m = milestones
                .entry((c.to_string(), p.to_string()))
                .or_default();
            let slot = match t {
                "lead" => &mut m.lead_at,
                "opportunity" => &mut m.opportunity_at,
                _ => continue,
            };
            *slot = Some(slot.map_or(at, |s: i64| s.min(at)));
        }
        let batch = apply_filters(state, filters, batch)?;
        let (client, person, ctype) = (
            strings(&batch, "client_id")?,
            strings(&batch, "person_key")?,
            strings(&batch, "conversion_type")?,
        );
        let ts = micros(&batch, "conversion_ts")?;
        let date = batch
            .column_by_name("conversion_date")
            .map(|c| c.as_primitive::<Date32Type>().clone());
        let value = batch
            .column_by_name("value")
            .map(|c| c.as_primitive::<Float64Type>().clone());
        for (i, ts) in ts.iter().enumerate() {
            let (Some(c), Some(p), Some(t), Some(at)) =
                (opt(&client, i), opt(&person, i), opt(&ctype, i), *ts)
            else {
                continue;
            };
            conversions.push(Conversion {
                client_id: c.to_string(),
                person_key: p.to_string(),
                ts: at,
                date: date
                    .as_ref()
                    .filter(|d| d.is_valid(i))
                    .map_or(i32::MIN, |d| d.value(i)),
                conversion_type: t.to_string(),
                value: value
                    .as_ref()
                    .filter(|v| v.is_valid(i))
                    .map_or(0.0, |v| v.value(i)),
            });
        }
    }
    let clients: HashSet<&str> = conversions.iter().map(|c| c.client_id.as_str()).collect();

    let mut touches: HashMap<PersonKey, Vec<RawTouch>> = HashMap::new();
    if !conversions.is_empty() {
        for batch in collect(
            state,
            "SELECT client_id, person_key, touch_ts, channel, campaign FROM touchpoints \
                 WHERE person_key IS NOT NULL AND touch_ts IS NOT NULL",
        )
        .await?
        {
            let (client, person, channel, campaign) = (
                strings(&batch, "client_id")?,
                strings(&batch, "person_key")?,
                strings(&batch, "channel")?,
                strings(&batch, "campaign")?,
            );
            let ts = micros(&batch, "touch_ts")?;
            for (i, ts) in ts.iter().enumerate() {
                let (Some(c), Some(p), Some(at)) = (opt(&client, i), opt(&person, i), *ts) else {
                    continue;
                };
                if !clients.contains(c) {
                    continue;
                }
                let ch = opt(&channel, i).unwrap_or("Unassigned").to_string();
                let key = match key {
                    Key::Channel => ch.clone(),
                    Key::ChannelCampaign(sep) => {
                        format!("{ch}{sep}{}", opt(&campaign, i).unwrap_or("(not set)"))
                    }
                };
                touches
                    .entry((c.to_string(), p.to_string()))
                    .or_default()
                    .push(RawTouch {
                        ts: at,
                        channel: ch,
                        key,
                    });
            }
        }
    }
    for list in touches.values_mut() {
        list.sort_by_key(|t| t.ts);
    }
    Ok(Loaded {
        conversions,
        touches,
        milestones,
        converted,
    })
}
