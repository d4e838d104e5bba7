//! What the attribution table functions read when a query runs: every conversion of the
//! clients the query asks about (each marked credited or not by the query's filters) and those
//! clients' touches, as one [`Journeys`] per client, keyed by channel or by channel and campaign.

use crate::attribution::journeys::{Builder, Journeys};
use crate::attribution::{DIRECT, Model};
use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, RecordBatch, StringArray, StringViewArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, Float64Type, Schema, TimestampMicrosecondType,
};
use datafusion::common::Result;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What a touch is credited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Channel,
    /// Channel and campaign, joined by the separator.
    ChannelCampaign(char),
}

/// Runs `sql` in `state` and collects the result.
pub async fn collect(state: &SessionState, sql: &str) -> Result<Vec<RecordBatch>> {
    let plan = state.create_logical_plan(sql).await?;
    let physical = state.create_physical_plan(&plan).await?;
    datafusion::physical_plan::collect(physical, state.task_ctx()).await
}

/// Which rows of `batch` every filter over its columns accepts (filters naming other columns
/// are left to DataFusion, which applies them again on the result).
pub fn filter_mask(
    state: &SessionState,
    filters: &[Expr],
    batch: &RecordBatch,
) -> Result<BooleanArray> {
    let schema = datafusion::common::DFSchema::try_from(batch.schema().as_ref().clone())?;
    let mut mask = BooleanArray::from(vec![true; batch.num_rows()]);
    for f in filters {
        let covered = f
            .column_refs()
            .iter()
            .all(|c| batch.schema().column_with_name(&c.name).is_some());
        if !covered {
            continue;
        }
        let expr = state.create_physical_expr(f.clone(), &schema)?;
        let kept = expr.evaluate(batch)?.into_array(batch.num_rows())?;
        if let Some(kept) = kept.as_boolean_opt() {
            // NULL (unknown) does not pass a filter.
            mask = if kept.null_count() > 0 {
                let kept = datafusion::arrow::compute::prep_null_mask_filter(kept);
                datafusion::arrow::compute::and(&mask, &kept)?
            } else {
                datafusion::arrow::compute::and(&mask, kept)?
            };
        }
    }
    Ok(mask)
}

/// Keeps the rows of `batch` that every filter over its columns accepts.
pub fn apply_filters(
    state: &SessionState,
    filters: &[Expr],
    batch: RecordBatch,
) -> Result<RecordBatch> {
    let mask = filter_mask(state, filters, &batch)?;
    Ok(datafusion::arrow::compute::filter_record_batch(
        &batch, &mask,
    )?)
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

/// `client_id IN (...)` for these clients.
fn client_list(clients: &[String]) -> String {
    let quoted: Vec<String> = clients
        .iter()
        .map(|c| format!("'{}'", c.replace('\'', "''")))
        .collect();
    format!("client_id IN ({})", quoted.join(", "))
}

/// The project's clients (the `clients` table) that the query's filters on `client_id` keep.
pub async fn kept_clients(state: &SessionState, filters: &[Expr]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for b in collect(state, "SELECT client_id FROM clients").await? {
        let c = strings(&b, "client_id")?;
        ids.extend((0..c.len()).filter_map(|i| opt(&c, i).map(str::to_string)));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    Ok(kept_values(state, filters, "client_id", &refs)?
        .into_iter()
        .map(str::to_string)
        .collect())
}

/// Which conversions are credited.
pub enum Credited<'a> {
    /// Those the query's filters keep (every conversion of a client is still read: fits never
    /// depend on the filters).
    Filtered(&'a [Expr]),
    /// All of them, for these clients only.
    All(&'a [String]),
}

/// A text column as string views (Utf8 and dictionaries are cast without copying the text).
fn texts(batch: &RecordBatch, name: &str) -> Result<StringViewArray> {
    let c = batch.column_by_name(name).ok_or_else(|| {
        datafusion::error::DataFusionError::Plan(format!("missing column {name}"))
    })?;
    Ok(match c.data_type() {
        DataType::Utf8View => c.as_string_view().clone(),
        _ => datafusion::arrow::compute::cast(c, &DataType::Utf8View)?
            .as_string_view()
            .clone(),
    })
}

/// A timestamp column in µs (time zone dropped: instants compare the same).
fn instants(batch: &RecordBatch, name: &str) -> Result<TimestampMicrosecondArray> {
    let c = batch.column_by_name(name).ok_or_else(|| {
        datafusion::error::DataFusionError::Plan(format!("missing column {name}"))
    })?;
    let c = datafusion::arrow::compute::cast(
        c,
        &DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
    )?;
    Ok(c.as_primitive::<TimestampMicrosecondType>().clone())
}

fn view_opt(a: &StringViewArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

/// Reads the conversions (marking the credited ones) and touches of the clients with a
/// conversion to credit. One [`Journeys`] per client, by client id. Text is read in place from
/// the Arrow columns (interned once per client: persons, keys and types become integer ids).
pub async fn load(
    state: &SessionState,
    credited: Credited<'_>,
    key: Key,
) -> Result<BTreeMap<String, Journeys>> {
    let mut sql = String::from(
        "SELECT client_id, person_key, conversion_ts, conversion_date, type AS conversion_type, \
             COALESCE(value, 0.0) AS value FROM conversions \
             WHERE person_key IS NOT NULL AND conversion_ts IS NOT NULL",
    );
    if let Credited::All(clients) = credited {
        if clients.is_empty() {
            return Ok(BTreeMap::new());
        }
        sql.push_str(&format!(" AND {}", client_list(clients)));
    }
    let all = collect(state, &sql).await?;
    // Which rows are credited, per batch (`None`: all of them).
    let mut marks: Vec<Option<BooleanArray>> = Vec::with_capacity(all.len());
    for batch in &all {
        marks.push(match credited {
            Credited::Filtered(filters) => Some(filter_mask(state, filters, batch)?),
            Credited::All(_) => None,
        });
    }
    let is_credited = |mark: &Option<BooleanArray>, i: usize| {
        mark.as_ref().is_none_or(|m| m.is_valid(i) && m.value(i))
    };
    // Clients with a conversion to credit; a client's conversions of every type stay (a
    // person's lead and opportunity are milestones of their deals).
    let mut names: Vec<String> = Vec::new();
    for (batch, mark) in all.iter().zip(&marks) {
        let client = texts(batch, "client_id")?;
        let mut last: Option<&str> = None;
        for i in 0..batch.num_rows() {
            let Some(c) = view_opt(&client, i) else {
                continue;
            };
            if last == Some(c) || !is_credited(mark, i) {
                continue;
            }
            last = Some(c);
            if !names.iter().any(|n| n == c) {
                names.push(c.to_string());
            }
        }
    }
    names.sort_unstable();
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut builders: Vec<Builder> = names.iter().map(|_| Builder::default()).collect();
    for (batch, mark) in all.iter().zip(&marks) {
        let (client, person, ctype) = (
            texts(batch, "client_id")?,
            texts(batch, "person_key")?,
            texts(batch, "conversion_type")?,
        );
        let ts = instants(batch, "conversion_ts")?;
        let date = batch
            .column_by_name("conversion_date")
            .map(|c| c.as_primitive::<Date32Type>().clone());
        let value = batch
            .column_by_name("value")
            .map(|c| c.as_primitive::<Float64Type>().clone());
        for i in 0..batch.num_rows() {
            let (Some(c), Some(p), Some(t), true) = (
                view_opt(&client, i),
                view_opt(&person, i),
                view_opt(&ctype, i),
                ts.is_valid(i),
            ) else {
                continue;
            };
            let Some(&slot) = index.get(c) else {
                continue;
            };
            let day = date
                .as_ref()
                .filter(|d| d.is_valid(i))
                .map_or(i32::MIN, |d| d.value(i));
            let v = value
                .as_ref()
                .filter(|v| v.is_valid(i))
                .map_or(0.0, |v| v.value(i));
            builders[slot].conversion(p, t, ts.value(i), day, v, is_credited(mark, i));
        }
    }
    drop(all);
    let sql = format!(
        "SELECT client_id, person_key, touch_ts, touch_date, channel, campaign FROM touchpoints \
         WHERE person_key IS NOT NULL AND touch_ts IS NOT NULL AND {}",
        client_list(&names)
    );
    // Campaign-level keys by (client, channel part, campaign part): the key's text is made once.
    let mut combined: HashMap<(usize, u32, u32), u32> = HashMap::new();
    for batch in collect(state, &sql).await? {
        let (client, person, channel, campaign) = (
            texts(&batch, "client_id")?,
            texts(&batch, "person_key")?,
            texts(&batch, "channel")?,
            texts(&batch, "campaign")?,
        );
        let ts = instants(&batch, "touch_ts")?;
        let day = batch
            .column_by_name("touch_date")
            .map(|c| c.as_primitive::<Date32Type>().clone());
        let mut current: Option<(&str, usize)> = None;
        // The last channel read and its key: touches of one channel come in runs.
        let mut last_channel: Option<(&str, u32)> = None;
        for i in 0..batch.num_rows() {
            let (Some(c), Some(p), true) =
                (view_opt(&client, i), view_opt(&person, i), ts.is_valid(i))
            else {
                continue;
            };
            let at = ts.value(i);
            let slot = match current {
                Some((name, slot)) if name == c => slot,
                _ => {
                    let Some(&slot) = index.get(c) else {
                        continue;
                    };
                    current = Some((c, slot));
                    last_channel = None;
                    slot
                }
            };
            let builder = &mut builders[slot];
            let ch = view_opt(&channel, i).unwrap_or("Unassigned");
            let key = match key {
                Key::Channel => match last_channel {
                    Some((text, id)) if text == ch => id,
                    _ => {
                        let id = builder.key_id(ch, ch == DIRECT);
                        last_channel = Some((ch, id));
                        id
                    }
                },
                Key::ChannelCampaign(sep) => {
                    let cp = view_opt(&campaign, i).unwrap_or("(not set)");
                    let parts = (slot, builder.part_id(ch), builder.part_id(cp));
                    match combined.get(&parts) {
                        Some(k) => *k,
                        None => {
                            let k = builder.key_id(&format!("{ch}{sep}{cp}"), ch == DIRECT);
                            combined.insert(parts, k);
                            k
                        }
                    }
                }
            };
            let person = builder.person_id(p);
            let day = day
                .as_ref()
                .filter(|d| d.is_valid(i))
                .map_or(at.div_euclid(86_400_000_000) as i32, |d| d.value(i));
            builder.add_touch(person, at, day, key);
        }
    }
    Ok(names
        .into_iter()
        .zip(builders)
        .map(|(c, b)| (c, b.finish()))
        .collect())
}
