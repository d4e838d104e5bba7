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

/// `v`, `y` and `z` order by the same key columns (their key rows are shared), `u` by a
/// computed key (its own arrays).
const OURS: &str = "SELECT g, first_by(value, ts, name) AS v, \
    first_by(value, name) FILTER (WHERE ts > 10) AS w, first_by(ts, name, g) AS x, \
    first_by(g, ts, name) AS y, first_by(value, ts, name) FILTER (WHERE g % 3 = 0) AS z, \
    first_by(value, 0 - ts, name) AS u \
    FROM t GROUP BY g ORDER BY g";
const THEIRS: &str = "SELECT g, \
    first_value(value ORDER BY ts, name, value) FILTER (WHERE value IS NOT NULL) AS v, \
    first_value(value ORDER BY name, value) FILTER (WHERE value IS NOT NULL AND ts > 10) AS w, \
    first_value(ts ORDER BY name, g, ts) FILTER (WHERE ts IS NOT NULL) AS x, \
    first_value(g ORDER BY ts, name, g) FILTER (WHERE g IS NOT NULL) AS y, \
    first_value(value ORDER BY ts, name, value) FILTER (WHERE value IS NOT NULL AND g % 3 = 0) AS z, \
    first_value(value ORDER BY 0 - ts, name, value) FILTER (WHERE value IS NOT NULL) AS u \
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
    let one = "SELECT first_by(value, ts, name) AS v, first_by(g, ts, name) AS w FROM t";
    let theirs = "SELECT first_value(value ORDER BY ts, name, value) FILTER (WHERE value IS NOT NULL) AS v, \
        first_value(g ORDER BY ts, name, g) FILTER (WHERE g IS NOT NULL) AS w FROM t";
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

/// A row converter for `columns`' types, each ascending with NULLs last (as `first_by` encodes).
fn ascending(columns: &[ArrayRef]) -> datafusion::arrow::row::RowConverter {
    use datafusion::arrow::compute::SortOptions;
    use datafusion::arrow::row::{RowConverter, SortField};
    let last = SortOptions {
        descending: false,
        nulls_first: false,
    };
    RowConverter::new(
        columns
            .iter()
            .map(|c| SortField::new_with_options(c.data_type().clone(), last))
            .collect(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The row of (keys ..., value) is the keys' row followed by the value's: what lets the keys be
/// encoded apart from the value (and shared) while the kept rows and states stay the same bytes.
#[test]
fn the_whole_row_is_the_keys_row_then_the_values() {
    use datafusion::arrow::array::{
        BooleanArray, Float64Array, StringArray, TimestampMicrosecondArray,
    };
    let data = &batches()[0];
    let columns: Vec<ArrayRef> = vec![
        data.column(1).clone(),
        data.column(2).clone(),
        Arc::new(StringArray::from(
            [Some("a"), None, Some("")].repeat(1_667)[..5_000].to_vec(),
        )),
        Arc::new(TimestampMicrosecondArray::from(
            [Some(1), None].repeat(2_500),
        )),
        Arc::new(BooleanArray::from(
            [Some(true), None, Some(false), Some(true)].repeat(1_250),
        )),
        Arc::new(Float64Array::from(
            [Some(-0.5), None, Some(2.0), Some(f64::NAN)].repeat(1_250),
        )),
        data.column(3).clone(),
    ];
    let encode = |cols: &[ArrayRef]| {
        ascending(cols)
            .convert_columns(cols)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (keys, value) = columns.split_at(columns.len() - 1);
    let (whole, keys, value) = (encode(&columns), encode(keys), encode(value));
    for i in 0..whole.num_rows() {
        let parts = [keys.row(i).as_ref(), value.row(i).as_ref()].concat();
        assert_eq!(whole.row(i).as_ref(), parts.as_slice(), "row {i}");
    }
}

/// Compares `keys ++ value` with a whole row as the concatenation would compare.
#[test]
fn a_row_in_two_parts_compares_as_their_concatenation() {
    let parts: [&[u8]; 6] = [b"", b"a", b"ab", b"abc", b"b", b"aa"];
    for keys in parts {
        for value in parts {
            for whole in parts.iter().flat_map(|a| parts.map(|b| [*a, b].concat())) {
                let joined = [keys, value].concat();
                assert_eq!(
                    super::compare(keys, value, &whole),
                    joined.as_slice().cmp(whole.as_slice()),
                    "{keys:?} ++ {value:?} against {whole:?}"
                );
            }
        }
    }
}

/// The second encoding of the same key arrays on a thread is the first one's rows; equal
/// arrays that are not the same arrays are encoded again.
#[test]
fn the_same_key_arrays_are_encoded_once_per_thread() {
    let data = &batches()[1];
    let keys = [data.column(1).clone(), data.column(2).clone()];
    let converter = || ascending(&keys);
    let first = super::shared::key_rows(&converter(), &keys).unwrap_or_else(|e| panic!("{e}"));
    let again = super::shared::key_rows(&converter(), &keys).unwrap_or_else(|e| panic!("{e}"));
    assert!(std::rc::Rc::ptr_eq(&first, &again), "encoded once");
    let copies: Vec<ArrayRef> = keys
        .iter()
        .map(|k| datafusion::arrow::array::make_array(k.to_data()))
        .collect();
    let other = super::shared::key_rows(&converter(), &copies).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !std::rc::Rc::ptr_eq(&first, &other),
        "other arrays, other rows"
    );
    assert_eq!(first.size(), other.size(), "the same bytes");
    for i in 0..first.num_rows() {
        assert_eq!(first.row(i).as_ref(), other.row(i).as_ref());
    }
}
