//! The paid-media KPIs read `ad_performance` once: DataFusion does not share a CTE between its
//! uses, so the view joins the credits to its one roll-up instead of joining a second roll-up of
//! the same files (at fifty clients that second read of ~4,500 small files was most of the
//! view's cost).

use datafusion::arrow::array::{Array, StringArray};
use loopql_core::EngineBuilder;
use std::sync::Arc;

#[tokio::test]
async fn kpi_paid_media_scans_ad_performance_once() {
    let (_dir, project) = super::synced_demo(5, 0.05).await;
    let engine = EngineBuilder::new(project, Arc::new(loopql_warehouse::Auto))
        .open()
        .await
        .unwrap();
    for filter in ["", " WHERE client_id = 'acme' AND period = 'month'"] {
        let batches = engine
            .collect(&format!("EXPLAIN SELECT * FROM kpi_paid_media{filter}"))
            .await
            .unwrap();
        let mut physical = String::new();
        for batch in &batches {
            let kinds = batch.column(0).as_any().downcast_ref::<StringArray>();
            let plans = batch.column(1).as_any().downcast_ref::<StringArray>();
            let (Some(kinds), Some(plans)) = (kinds, plans) else {
                panic!("EXPLAIN returns two text columns");
            };
            for i in 0..batch.num_rows() {
                if kinds.value(i) == "physical_plan" && !plans.is_null(i) {
                    physical.push_str(plans.value(i));
                }
            }
        }
        let scans = physical
            .lines()
            .filter(|l| l.contains("DataSourceExec") && l.contains("/ad_performance/"))
            .count();
        assert_eq!(scans, 1, "kpi_paid_media{filter}:\n{physical}");
        assert!(
            physical.contains("attribution"),
            "the credits are still joined:\n{physical}"
        );
    }
}
