//! `attribution(dimension [, model])`: a table of the credits every attribution model gives each
//! channel (`dimension` = 'channel') or campaign ('campaign'), per client, conversion day and
//! conversion type. It reads `touchpoints` and `conversions` when the query runs, with the
//! session's `loopql.attribution.*` settings at that moment, so `SET` changes the next query
//! even through a view. Filters on client_id, conversion_date, conversion_type and model narrow
//! the work (Markov is fitted over the conversions the filters keep).
//!
//! ```sql
//! SET loopql.attribution.lookback_days = 14;
//! SELECT channel, round(sum(conversions), 2) AS conversions, round(sum(value), 2) AS value
//! FROM attribution('channel', 'linear') WHERE conversion_type = 'won_deal' GROUP BY channel;
//! ```

use super::computed::{Compute, Computed};
use super::journeys;
use super::table_args::literal_strings;
use crate::attribution::credit::{self, Credit};
use crate::attribution::{Model, parse_models};
use crate::settings;
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{Result, plan_err};
use datafusion::datasource::TableProvider;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use std::sync::{Arc, LazyLock};

/// Separates channel and campaign in a campaign-level path key.
const SEP: char = '\u{1f}';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Channel,
    Campaign,
}

pub static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8, false),
        Field::new("conversion_date", DataType::Date32, true),
        Field::new("conversion_type", DataType::Utf8, false),
        Field::new("model", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("campaign", DataType::Utf8, true),
        Field::new("conversions", DataType::Float64, false),
        Field::new("value", DataType::Float64, false),
    ]))
});

#[derive(Debug, Default)]
pub struct AttributionFunction;

impl TableFunctionImpl for AttributionFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let strings = literal_strings("attribution(dimension [, model])", args.exprs())?;
        let dimension = match strings.first().map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("channel") => Dimension::Channel,
            Some("campaign") => Dimension::Campaign,
            other => {
                return plan_err!(
                    "attribution(dimension [, model]): dimension must be 'channel' or 'campaign', found {other:?}"
                );
            }
        };
        let models = match strings.get(1) {
            Some(m) => parse_models(m).map_err(datafusion::error::DataFusionError::Plan)?,
            None => crate::attribution::MODELS.to_vec(),
        };
        if strings.len() > 2 {
            return plan_err!("attribution(dimension [, model]) takes at most two arguments");
        }
        Ok(Computed::provider(AttributionTable { dimension, models }))
    }
}

#[derive(Debug)]
struct AttributionTable {
    dimension: Dimension,
    models: Vec<Model>,
}

impl AttributionTable {
    async fn read(&self, state: &SessionState, filters: &[Expr]) -> Result<Vec<Credit>> {
        let options = settings::of(state.config_options()).attribution;
        options.validate()?;
        let kept = journeys::kept_models(state, filters, &self.models)?;
        let key = match self.dimension {
            Dimension::Channel => journeys::Key::Channel,
            Dimension::Campaign => journeys::Key::ChannelCampaign(SEP),
        };
        let loaded = journeys::load(state, filters, key).await?;
        Ok(credit::credits(&loaded.inputs(), &kept, &options))
    }
}

fn batch(credits: &[Credit]) -> Result<RecordBatch> {
    let (mut channel, mut campaign) = (Vec::new(), Vec::new());
    for c in credits {
        match c.key.split_once(SEP) {
            Some((ch, cp)) => {
                channel.push(ch.to_string());
                campaign.push(Some(cp.to_string()));
            }
            None => {
                channel.push(c.key.clone());
                campaign.push(None);
            }
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            credits.iter().map(|c| c.client_id.as_str()),
        )),
        Arc::new(Date32Array::from_iter(
            credits
                .iter()
                .map(|c| (c.date != i32::MIN).then_some(c.date)),
        )),
        Arc::new(StringArray::from_iter_values(
            credits.iter().map(|c| c.conversion_type.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            credits.iter().map(|c| c.model.name()),
        )),
        Arc::new(StringArray::from(channel)),
        Arc::new(StringArray::from(campaign)),
        Arc::new(Float64Array::from_iter_values(
            credits.iter().map(|c| c.conversions),
        )),
        Arc::new(Float64Array::from_iter_values(
            credits.iter().map(|c| c.value),
        )),
    ];
    Ok(RecordBatch::try_new(SCHEMA.clone(), columns)?)
}

#[async_trait]
impl Compute for AttributionTable {
    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn uses_filters(&self) -> bool {
        true
    }

    async fn compute(&self, state: &SessionState, filters: &[Expr]) -> Result<RecordBatch> {
        batch(&self.read(state, filters).await?)
    }
}
