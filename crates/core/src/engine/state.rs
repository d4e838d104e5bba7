//! The one place a DataFusion session state is assembled: loopql's configuration (catalog
//! `loopql`, schema `public`, `information_schema`, the `loopql.` settings) and its physical
//! optimizer rules. Every engine, whatever it reads, starts here; so do the Ballista roles
//! (loopql-cluster adds Ballista's configuration and function lists on top).

use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::prelude::SessionConfig;
use std::sync::Arc;

/// The catalog every engine's tables live in.
pub const CATALOG: &str = "loopql";
/// The schema of the views, reference tables and unqualified names.
pub const DEFAULT_SCHEMA: &str = "public";

/// loopql's session configuration over `base` (DataFusion's default, or Ballista's).
///
/// Joins emit batches of the configured size: otherwise a join can emit a partition's whole
/// probe side as one batch (166k stitched sessions as two batches of ~140 MB each), and the sort
/// after it must reserve twice that for a single batch it cannot spill — under a sync's memory
/// limit the query failed however little else it held.
pub fn config(base: SessionConfig) -> SessionConfig {
    let mut config = crate::settings::install(
        base.with_default_catalog_and_schema(CATALOG, DEFAULT_SCHEMA)
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(true),
    );
    config.options_mut().execution.enforce_batch_size_in_joins = true;
    config
}

/// A state builder with `config`, DataFusion's default features and loopql's physical rules.
pub fn builder(config: SessionConfig) -> SessionStateBuilder {
    SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_physical_optimizer_rules(physical_optimizer_rules())
}

/// `state` with loopql's own physical rules, for a query a table function runs while its scan is
/// planned: a Ballista scheduler's job state carries adaptive-planning rules whose placeholder
/// operators only its stage planner can run.
pub fn local(state: &datafusion::execution::SessionState) -> datafusion::execution::SessionState {
    SessionStateBuilder::new_from_existing(state.clone())
        .with_physical_optimizer_rules(physical_optimizer_rules())
        .build()
}

/// DataFusion's physical optimizer rules without `SanityCheckPlan`. In DataFusion 55 that check
/// rejects valid plans: after a filter makes a column constant (`WHERE client_id = 'acme'`, or a
/// UNION branch's literal), a sort that leaves the constant column out is refused against a
/// merge that orders by it, although the order is the same. It only checks, never rewrites, so
/// leaving it out changes no result; tests/slt/harmonized/ordering.slt holds the queries it
/// refused.
pub fn physical_optimizer_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    datafusion::physical_optimizer::optimizer::PhysicalOptimizer::new()
        .rules
        .into_iter()
        .filter(|r| r.name() != "SanityCheckPlan")
        .collect()
}
