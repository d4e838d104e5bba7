//! Reference tables every project has, built from the project itself: `clients` (reporting
//! currency and time zone per client) and `fx_rates` (daily exchange rates, see `fx`).

use crate::error::Result;
use crate::fx;
use crate::project::Project;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

pub fn clients_batch(project: &Project) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("currency", DataType::Utf8, false),
        Field::new("time_zone", DataType::Utf8, false),
    ]));
    let column = |f: fn(&crate::project::Client) -> &str| -> ArrayRef {
        Arc::new(
            project
                .clients
                .iter()
                .map(|c| Some(f(c)))
                .collect::<StringArray>(),
        )
    };
    Ok(RecordBatch::try_new(
        schema,
        vec![
            column(|c| &c.id),
            column(|c| &c.name),
            column(|c| &c.currency),
            column(|c| &c.time_zone),
        ],
    )?)
}

pub fn register(ctx: &SessionContext, project: &Project) -> Result<()> {
    let clients = clients_batch(project)?;
    ctx.register_table(
        "clients",
        Arc::new(MemTable::try_new(clients.schema(), vec![vec![clients]])?),
    )?;
    let rates = match &project.fx {
        Some(config) => fx::load(&config.path, config.fill_days)?,
        None => RecordBatch::new_empty(fx::schema()),
    };
    ctx.register_table(
        "fx_rates",
        Arc::new(MemTable::try_new(rates.schema(), vec![vec![rates]])?),
    )?;
    Ok(())
}
