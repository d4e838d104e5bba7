//! loopql's SQL functions, one per file, named after the SQL name, registered in one list, and
//! the `loopql_functions` table that documents them (name, kind, syntax, description, a runnable
//! example) for discovery (`SELECT * FROM loopql_functions`, the shell's `\df`).

mod attribute_paths;
mod attribution;
mod channel_group;
mod computed;
mod conversion_paths;
mod first_by;
mod forecast;
mod journeys;
mod local_date;
mod local_midnight;
mod loopql_setting;
mod path_table;
mod query;
pub use query::kept_clients;
pub mod recorded;
mod scalar_args;
mod table_args;
mod url_param;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::TableFunctionImpl;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Every scalar function loopql adds to SQL.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(channel_group::ChannelGroup::new())),
        Arc::new(ScalarUDF::from(local_date::LocalDate::new())),
        Arc::new(ScalarUDF::from(local_midnight::LocalMidnight::new())),
        Arc::new(ScalarUDF::from(loopql_setting::LoopqlSetting::new())),
        Arc::new(ScalarUDF::from(url_param::UrlParam::new())),
    ]
}

/// Every aggregate function loopql adds to SQL.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    vec![Arc::new(AggregateUDF::from(first_by::FirstBy::new()))]
}

/// A table function with its documentation (DataFusion documents scalar functions only).
pub struct TableFunction {
    pub name: &'static str,
    pub function: Arc<dyn TableFunctionImpl>,
    pub syntax: &'static str,
    pub description: &'static str,
    /// Statements separated by `;`; the last one returns rows.
    pub example: &'static str,
}

/// Every table function loopql adds to SQL.
pub fn table_functions() -> Vec<TableFunction> {
    vec![
        TableFunction {
            name: "attribution",
            function: Arc::new(attribution::AttributionFunction),
            syntax: "attribution(dimension [, model [, dated_by]])",
            description: "Conversions and value credited to each channel ('channel') or campaign ('campaign') by every attribution model (or one), per client, conversion day and type; dated_by 'touch' counts each credit on the day of the touch that earned it (column touch_date); follows the loopql.attribution.* settings.",
            example: "SET loopql.attribution.lookback_days = 14; SELECT channel, sum(conversions) AS conversions FROM attribution('channel', 'linear') GROUP BY channel ORDER BY channel",
        },
        TableFunction {
            name: "attribute_paths",
            function: Arc::new(attribute_paths::AttributePathsFunction),
            syntax: "attribute_paths(model, table)",
            description: "The attribution models over any table of paths: path ('a > b > c' or a list), conversions, value, nulls.",
            example: "CREATE VIEW example_paths AS SELECT * FROM (VALUES ('a > b', 2, 100.0, 5), ('b', 1, 10.0, 0)) AS t(path, conversions, value, nulls); SELECT * FROM attribute_paths('markov', 'example_paths') ORDER BY channel",
        },
        TableFunction {
            name: "conversion_paths",
            function: Arc::new(conversion_paths::ConversionPathsFunction),
            syntax: "conversion_paths()",
            description: "Every conversion with the path the models credit (lookback, transform and direct policy from the loopql.attribution.* settings).",
            example: "SET loopql.attribution.path_transform = 'exposure'; SELECT path, count(*) AS conversions FROM conversion_paths() GROUP BY path ORDER BY conversions DESC LIMIT 10",
        },
        TableFunction {
            name: "forecast",
            function: Arc::new(forecast::ForecastFunction),
            syntax: "forecast([horizon_days])",
            description: "Daily spend, conversions and revenue forecasts per client and channel with a prediction interval (damped additive Holt-Winters, weekly season).",
            example: "SELECT client_id, channel, metric, sum(forecast) AS next_7_days FROM forecast(7) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        },
    ]
}

/// One row per loopql function: name, kind (scalar, aggregate or table), syntax, description, example.
pub fn catalog() -> datafusion::common::Result<RecordBatch> {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for f in scalar_functions() {
        let doc = f.documentation();
        rows.push([
            f.name().to_string(),
            "scalar".into(),
            doc.map(|d| d.syntax_example.clone()).unwrap_or_default(),
            doc.map(|d| d.description.clone()).unwrap_or_default(),
            doc.and_then(|d| d.sql_example.clone()).unwrap_or_default(),
        ]);
    }
    for f in aggregate_functions() {
        let doc = f.documentation();
        rows.push([
            f.name().to_string(),
            "aggregate".into(),
            doc.map(|d| d.syntax_example.clone()).unwrap_or_default(),
            doc.map(|d| d.description.clone()).unwrap_or_default(),
            doc.and_then(|d| d.sql_example.clone()).unwrap_or_default(),
        ]);
    }
    for f in table_functions() {
        rows.push([
            f.name.into(),
            "table".into(),
            f.syntax.into(),
            f.description.into(),
            f.example.into(),
        ]);
    }
    rows.sort();
    let names = ["name", "kind", "syntax", "description", "example"];
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = (0..names.len())
        .map(|k| {
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r[k].as_str()),
            )) as ArrayRef
        })
        .collect();
    Ok(RecordBatch::try_new(schema, columns)?)
}

pub fn register(ctx: &SessionContext) -> datafusion::common::Result<()> {
    for f in scalar_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    for f in aggregate_functions() {
        ctx.register_udaf(f.as_ref().clone());
    }
    for f in table_functions() {
        ctx.register_udtf(
            f.name,
            Arc::new(recorded::Recorded {
                name: f.name,
                inner: f.function,
            }),
        );
    }
    let catalog = catalog()?;
    ctx.register_table(
        "loopql_functions",
        Arc::new(MemTable::try_new(catalog.schema(), vec![vec![catalog]])?),
    )?;
    Ok(())
}
