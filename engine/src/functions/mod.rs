//! loopql's SQL functions, one per file, named after the SQL name, registered in one list.

mod channel_group;
mod local_date;
mod url_param;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Every scalar function loopql adds to SQL.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(channel_group::ChannelGroup::new())),
        Arc::new(ScalarUDF::from(local_date::LocalDate::new())),
        Arc::new(ScalarUDF::from(url_param::UrlParam::new())),
    ]
}

pub fn register(ctx: &SessionContext) {
    for f in scalar_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
}
