//! Client scoping, enforced by the engine: a principal's engine is built from the project cut
//! down to its clients (their sources, reference rows and notes only; see
//! [`crate::engine::EngineBuilder::scope`]), and then loses its raw connector schemas, so every
//! table it can name holds only its clients' rows. Such engines are read-only: no DDL, DML,
//! `COPY`, external tables or `SET` (checked on every plan by [`crate::Engine::plan`]).

use crate::engine::{CATALOG, DEFAULT_SCHEMA};
use crate::error::Result;
use datafusion::prelude::SessionContext;

/// Schemas a scoped session keeps: the views and reference tables, and `information_schema`.
const KEPT_SCHEMAS: &[&str] = &[DEFAULT_SCHEMA, "information_schema"];

/// Drops every schema but the views' and `information_schema` from the catalog. The views keep
/// working: each holds its resolved plan, not the names it was written with.
pub(crate) fn hide_raw_tables(ctx: &SessionContext) -> Result<()> {
    let Some(catalog) = ctx.catalog(CATALOG) else {
        return Ok(());
    };
    for name in catalog.schema_names() {
        if !KEPT_SCHEMAS.contains(&name.as_str()) {
            catalog.deregister_schema(&name, true)?;
        }
    }
    Ok(())
}
