//! loopql's SQL functions, one per file, named after the SQL name, registered in one list.

mod attribute_paths;
mod attribution;
mod channel_group;
mod conversion_paths;
mod forecast;
mod journeys;
mod local_date;
mod loopql_setting;
mod table_args;
mod url_param;

use datafusion::catalog::TableFunctionImpl;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Every scalar function loopql adds to SQL.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(channel_group::ChannelGroup::new())),
        Arc::new(ScalarUDF::from(local_date::LocalDate::new())),
        Arc::new(ScalarUDF::from(loopql_setting::LoopqlSetting::new())),
        Arc::new(ScalarUDF::from(url_param::UrlParam::new())),
    ]
}

/// Every table function loopql adds to SQL, by name.
pub fn table_functions() -> Vec<(&'static str, Arc<dyn TableFunctionImpl>)> {
    vec![
        ("attribution", Arc::new(attribution::AttributionFunction)),
        (
            "attribute_paths",
            Arc::new(attribute_paths::AttributePathsFunction),
        ),
        (
            "conversion_paths",
            Arc::new(conversion_paths::ConversionPathsFunction),
        ),
        ("forecast", Arc::new(forecast::ForecastFunction)),
    ]
}

pub fn register(ctx: &SessionContext) {
    for f in scalar_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    for (name, f) in table_functions() {
        ctx.register_udtf(name, f);
    }
}
