//! `attribution(dimension [, model [, dated_by]])`: a table of the credits every attribution
//! model gives each channel (`dimension` = 'channel') or campaign ('campaign'), per client,
//! conversion day and conversion type. With `dated_by` = 'touch' a credit is counted on the day
//! of the touch that earned it (column `touch_date` instead of `conversion_date`): what a day's
//! marketing brought, whenever it converted (response curves need it; conversions lag). It reads `touchpoints` and `conversions` when the query runs, with the
//! session's `loopql.attribution.*` settings at that moment, so `SET` changes the next query
//! even through a view. Filters on client_id, conversion_type and model narrow the work; a
//! filter on the date only chooses which conversions are credited: Markov and Shapley are
//! always fitted on all of a client's journeys of the type, so a row has the same numbers
//! whatever the WHERE clause, and a month's rows add up to its days'.
//!
//! ```sql
//! SET loopql.attribution.lookback_days = 14;
//! SELECT channel, round(sum(conversions), 2) AS conversions, round(sum(value), 2) AS value
//! FROM attribution('channel', 'linear') WHERE conversion_type = 'won_deal' GROUP BY channel;
//! ```

use super::computed::{Compute, Computed};
use super::table_args::literal_strings;
use super::{journeys, query};
use crate::attribution::cache::{self, EngineCache};
use crate::attribution::credit::{self, Credits, Dating, UNMATCHED_KEY};
use crate::attribution::journeys::Journeys;
use crate::attribution::{Model, UNMATCHED, parse_models};
use crate::settings;
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, RecordBatch, StringViewArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::datasource::TableProvider;
use datafusion::execution::SessionState;
use datafusion::execution::memory_pool::MemoryReservation;
use datafusion::logical_expr::Expr;
use std::sync::{Arc, LazyLock};

/// Separates channel and campaign in a campaign-level path key.
const SEP: char = '\u{1f}';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Channel,
    Campaign,
}

pub static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| schema("conversion_date"));

/// The schema of `attribution(dimension, model, 'touch')`.
pub static TOUCH_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| schema("touch_date"));

fn schema(date: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8View, false),
        Field::new(date, DataType::Date32, true),
        Field::new("conversion_type", DataType::Utf8View, false),
        Field::new("model", DataType::Utf8View, false),
        Field::new("channel", DataType::Utf8View, false),
        Field::new("campaign", DataType::Utf8View, true),
        Field::new("conversions", DataType::Float64, false),
        Field::new("value", DataType::Float64, false),
    ]))
}

#[derive(Debug, Default)]
pub struct AttributionFunction;

impl TableFunctionImpl for AttributionFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        const CALL: &str = "attribution(dimension [, model [, dated_by]])";
        let strings = literal_strings(CALL, args.exprs())?;
        let dimension = match strings.first().map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("channel") => Dimension::Channel,
            Some("campaign") => Dimension::Campaign,
            other => {
                return plan_err!(
                    "{CALL}: dimension must be 'channel' or 'campaign', found {other:?}"
                );
            }
        };
        let models = match strings.get(1) {
            Some(m) => parse_models(m).map_err(datafusion::error::DataFusionError::Plan)?,
            None => crate::attribution::MODELS.to_vec(),
        };
        let dating = match strings
            .get(2)
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("conversion") => Dating::Conversion,
            Some("touch") => Dating::Touch,
            Some(other) => {
                return plan_err!(
                    "{CALL}: dated_by must be 'conversion' or 'touch', found {other:?}"
                );
            }
        };
        if strings.len() > 3 {
            return plan_err!("{CALL} takes at most three arguments");
        }
        Ok(Computed::provider(AttributionTable {
            dimension,
            models,
            dating,
        }))
    }
}

#[derive(Debug)]
struct AttributionTable {
    dimension: Dimension,
    models: Vec<Model>,
    dating: Dating,
}

impl AttributionTable {
    /// What the cache knows this table's credits by.
    fn cache_name(&self) -> &'static str {
        match (self.dimension, self.dating) {
            (Dimension::Channel, Dating::Conversion) => "channel",
            (Dimension::Campaign, Dating::Conversion) => "campaign",
            (Dimension::Channel, Dating::Touch) => "channel by touch day",
            (Dimension::Campaign, Dating::Touch) => "campaign by touch day",
        }
    }

    fn schema(&self) -> SchemaRef {
        match self.dating {
            Dating::Conversion => SCHEMA.clone(),
            Dating::Touch => TOUCH_SCHEMA.clone(),
        }
    }
}

impl AttributionTable {
    /// Every credit of the clients and models the filters keep: from the engine's cache when
    /// the data and settings are the same, else computed (for all of those clients' conversions,
    /// whatever the date filters: DataFusion applies them to the result) and cached.
    async fn read(&self, state: &SessionState, filters: &[Expr]) -> Result<RecordBatch> {
        let options = settings::of(state.config_options()).attribution;
        options.validate()?;
        let models = query::kept_models(state, filters, &self.models)?;
        let clients = query::kept_clients(state, filters).await?;
        let cache = state
            .config()
            .get_extension::<EngineCache>()
            .map(|c| c.0.clone());
        let settings_key = format!("{options:?}");
        let key = |client: &str, model: Model| cache::Key {
            dimension: self.cache_name(),
            settings: settings_key.clone(),
            client: client.to_string(),
            model,
        };
        let mut parts: Vec<Arc<RecordBatch>> = Vec::new();
        let mut missing_clients: Vec<String> = Vec::new();
        let mut missing_models: Vec<Model> = Vec::new();
        for client in &clients {
            for &model in &models {
                match cache.as_ref().and_then(|c| c.get(&key(client, model))) {
                    Some(batch) => parts.push(batch),
                    None => {
                        if !missing_clients.contains(client) {
                            missing_clients.push(client.clone());
                        }
                        if !missing_models.contains(&model) {
                            missing_models.push(model);
                        }
                    }
                }
            }
        }
        if !missing_clients.is_empty() {
            let dimension = match self.dimension {
                Dimension::Channel => journeys::Key::Channel,
                Dimension::Campaign => journeys::Key::ChannelCampaign(SEP),
            };
            let loaded = journeys::load(
                state,
                journeys::Credited::All(&missing_clients),
                dimension,
                false,
            )
            .await?;
            let (names, clients): (Vec<String>, Vec<Journeys>) = loaded.into_iter().unzip();
            // The journeys and the fits count against the query's memory pool: a per-query
            // limit limits them too.
            let bytes: usize = clients.iter().map(Journeys::heap_bytes).sum();
            let reservation = std::sync::Mutex::new(journeys::reserve(
                state,
                "attribution",
                "the journeys",
                &names,
                bytes,
            )?);
            let threads = state.config().target_partitions();
            let wanted = missing_models.clone();
            let dating = self.dating;
            let (clients, credits) = tokio::task::spawn_blocking(move || {
                let grant = |bytes: usize| reserve(&reservation, bytes);
                let credits = credit::credits(&clients, &wanted, &options, dating, threads, &grant);
                (clients, credits)
            })
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
            let credits = credits.map_err(|e| {
                if e.contains("more than the memory allowed") {
                    DataFusionError::ResourcesExhausted(e)
                } else {
                    DataFusionError::Execution(e)
                }
            })?;
            if let Some(c) = &cache {
                c.count_computed(names.len());
            }
            for (c, name) in names.iter().enumerate() {
                for &model in &missing_models {
                    let batch =
                        Arc::new(batch(self.schema(), name, &clients[c], c, &credits, model)?);
                    if let Some(cache) = &cache {
                        cache.put(key(name, model), batch.clone());
                    }
                    parts.push(batch);
                }
            }
        }
        let parts: Vec<RecordBatch> = parts.iter().map(|b| b.as_ref().clone()).collect();
        Ok(datafusion::arrow::compute::concat_batches(
            &self.schema(),
            &parts,
        )?)
    }
}

/// Grows `reservation` by `bytes`, or says why the pool refused.
fn reserve(reservation: &std::sync::Mutex<MemoryReservation>, bytes: usize) -> Result<(), String> {
    reservation
        .lock()
        .map_err(|_| "the attribution memory reservation was poisoned".to_string())?
        .try_grow(bytes)
        .map_err(|e| e.to_string())
}

/// One output row before it becomes columns.
struct Row<'a> {
    client: &'a str,
    date: i32,
    kind: &'a str,
    model: Model,
    channel: &'a str,
    campaign: Option<&'a str>,
    conversions: f64,
    value: f64,
}

/// The credits of one client (index `index` among the computed ones) under one model.
fn batch(
    schema: SchemaRef,
    name: &str,
    journeys: &Journeys,
    index: usize,
    credits: &[(usize, Credits)],
    model: Model,
) -> Result<RecordBatch> {
    let mut rows: Vec<Row> = Vec::new();
    for (_, credit) in credits.iter().filter(|(c, _)| *c == index) {
        let kind = journeys.types[credit.kind as usize].as_str();
        for (&(date, m, key), &(conversions, value)) in &credit.sums {
            if m != model {
                continue;
            }
            let text = if key == UNMATCHED_KEY {
                UNMATCHED
            } else {
                journeys.keys.text[key as usize].as_str()
            };
            let (channel, campaign) = match text.split_once(SEP) {
                Some((ch, cp)) => (ch, Some(cp)),
                None => (text, None),
            };
            rows.push(Row {
                client: name,
                date,
                kind,
                model,
                channel,
                campaign,
                conversions,
                value,
            });
        }
    }
    rows.sort_by(|a, b| {
        (a.date, a.kind, a.channel, a.campaign).cmp(&(b.date, b.kind, b.channel, b.campaign))
    });
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringViewArray::from_iter_values(
            rows.iter().map(|r| r.client),
        )),
        Arc::new(Date32Array::from_iter(
            rows.iter().map(|r| (r.date != i32::MIN).then_some(r.date)),
        )),
        Arc::new(StringViewArray::from_iter_values(
            rows.iter().map(|r| r.kind),
        )),
        Arc::new(StringViewArray::from_iter_values(
            rows.iter().map(|r| r.model.name()),
        )),
        Arc::new(StringViewArray::from_iter_values(
            rows.iter().map(|r| r.channel),
        )),
        Arc::new(StringViewArray::from_iter(rows.iter().map(|r| r.campaign))),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.conversions),
        )),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.value))),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[async_trait]
impl Compute for AttributionTable {
    fn schema(&self) -> SchemaRef {
        AttributionTable::schema(self)
    }

    fn uses_filters(&self) -> bool {
        true
    }

    async fn compute(&self, state: &SessionState, filters: &[Expr]) -> Result<RecordBatch> {
        self.read(state, filters).await
    }
}
