//! `first_by` against DataFusion's `first_value(value ORDER BY keys, value) FILTER (WHERE value
//! IS NOT NULL)` over the same rows: grouped and ungrouped, in one and several partitions,
//! through the partial state, the skipped partial aggregation (`convert_to_state`) and spills.

use super::FirstBy;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringViewArray};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::AggregateUDF;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::sync::Arc;

/// Rows with repeated and NULL keys, NULL values and equal keys with different values, in
/// several batches (a deterministic generator: no dependency on a random crate).
fn batches() -> Vec<RecordBatch> {
    let mut state = 7u64;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    (0..6)
        .map(|_| {
            let rows = 5_000;
            let group: Vec<i64> = (0..rows).map(|_| next(700) as i64).collect();
            let ts: Vec<Option<i64>> = (0..rows)
                .map(|_| (next(10) > 0).then(|| next(50) as i64))
                .collect();
            let name: Vec<Option<String>> = (0..rows)
                .map(|_| (next(8) > 0).then(|| format!("event name number {}", next(4))))
                .collect();
            let value: Vec<Option<String>> = (0..rows)
                .map(|_| (next(3) > 0).then(|| format!("v{}", next(20))))
                .collect();
            RecordBatch::try_from_iter([
                ("g", Arc::new(Int64Array::from(group)) as ArrayRef),
                ("ts", Arc::new(Int64Array::from(ts)) as ArrayRef),
                ("name", Arc::new(StringViewArray::from(name)) as ArrayRef),
                ("value", Arc::new(StringViewArray::from(value)) as ArrayRef),
            ])
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

async fn answer(config: SessionConfig, sql: &str) -> String {
    let ctx = SessionContext::new_with_config(config);
    ctx.register_udaf(AggregateUDF::from(FirstBy::new()));
    let data = batches();
    let table = MemTable::try_new(
        data[0].schema(),
        vec![data[..3].to_vec(), data[3..].to_vec()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ctx.register_table("t", Arc::new(table))
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    pretty_format_batches(&rows)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string()
}

const OURS: &str = "SELECT g, first_by(value, ts, name) AS v, \
    first_by(value, name) FILTER (WHERE ts > 10) AS w, first_by(ts, name, g) AS x \
    FROM t GROUP BY g ORDER BY g";
const THEIRS: &str = "SELECT g, \
    first_value(value ORDER BY ts, name, value) FILTER (WHERE value IS NOT NULL) AS v, \
    first_value(value ORDER BY name, value) FILTER (WHERE value IS NOT NULL AND ts > 10) AS w, \
    first_value(ts ORDER BY name, g, ts) FILTER (WHERE ts IS NOT NULL) AS x \
    FROM t GROUP BY g ORDER BY g";

#[tokio::test]
async fn grouped_it_answers_what_ordered_first_value_does() {
    for partitions in [1, 2, 4] {
        let config = || SessionConfig::new().with_target_partitions(partitions);
        let ours = answer(config(), OURS).await;
        assert_eq!(
            ours,
            answer(config(), THEIRS).await,
            "{partitions} partitions"
        );
        assert!(ours.lines().count() > 700, "every group shown");
    }
}

#[tokio::test]
async fn through_convert_to_state_when_partial_aggregation_is_skipped() {
    let mut config = SessionConfig::new().with_target_partitions(2);
    let options = config.options_mut();
    options
        .execution
        .skip_partial_aggregation_probe_rows_threshold = 1;
    options
        .execution
        .skip_partial_aggregation_probe_ratio_threshold = 0.0;
    let ours = answer(config, OURS).await;
    let plain = answer(SessionConfig::new().with_target_partitions(2), THEIRS).await;
    assert_eq!(ours, plain);
}

#[tokio::test]
async fn ungrouped_and_empty() {
    let one = "SELECT first_by(value, ts, name) AS v FROM t";
    let theirs = "SELECT first_value(value ORDER BY ts, name, value) FILTER (WHERE value IS NOT NULL) AS v FROM t";
    let config = || SessionConfig::new().with_target_partitions(2);
    assert_eq!(answer(config(), one).await, answer(config(), theirs).await);
    let none = answer(
        config(),
        "SELECT first_by(value, ts) AS v FROM t WHERE g < 0",
    )
    .await;
    assert!(none.contains("| v |") || none.contains("|   |"), "{none}");
    let nulls = answer(
        config(),
        "SELECT g, first_by(value, ts) FILTER (WHERE false) AS v FROM t WHERE g = 1 GROUP BY g",
    )
    .await;
    assert!(
        nulls.contains("| 1 |   |"),
        "NULL when no row counts: {nulls}"
    );
}

#[tokio::test]
async fn a_call_without_a_key_is_refused() {
    let ctx = SessionContext::new();
    ctx.register_udaf(AggregateUDF::from(FirstBy::new()));
    let err = ctx
        .sql("SELECT first_by(1)")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("at least one key"), "{err}");
}
