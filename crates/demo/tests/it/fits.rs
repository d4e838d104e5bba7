//! Numbers an analyst can defend, over the demo: a model's fit never depends on the query's
//! WHERE clause (days add up to the month; a row is the same with and without a filter on date,
//! channel or campaign), and campaign-level credits roll up to the channel-level ones for every
//! model whose credits do not depend on the key's grain.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use loopql_core::{Engine, EngineBuilder, Project};
use std::collections::BTreeMap;

/// Rows as (text key columns, then numbers) -> numbers.
fn table(batches: &[RecordBatch], keys: usize) -> BTreeMap<Vec<String>, Vec<f64>> {
    let mut out = BTreeMap::new();
    for b in batches {
        let text: Vec<_> = (0..keys)
            .map(|i| cast(b.column(i), &DataType::Utf8).unwrap())
            .collect();
        let nums: Vec<_> = (keys..b.num_columns())
            .map(|i| cast(b.column(i), &DataType::Float64).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            let k = text
                .iter()
                .map(|c| {
                    let c = c.as_string::<i32>();
                    if c.is_null(r) {
                        "NULL".to_string()
                    } else {
                        c.value(r).to_string()
                    }
                })
                .collect();
            let v = nums
                .iter()
                .map(|c| c.as_primitive::<Float64Type>().value(r))
                .collect();
            out.insert(k, v);
        }
    }
    out
}

async fn rows(engine: &Engine, sql: &str, keys: usize) -> BTreeMap<Vec<String>, Vec<f64>> {
    table(&engine.collect(sql).await.unwrap(), keys)
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= 1e-9 * x.abs().max(1.0))
}

async fn demo() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let written =
        loopql_demo::write(&dir.path().join("demo"), &loopql_demo::Options::new(8, 0.1)).unwrap();
    let engine = EngineBuilder::live(Project::load(&written.project_file).unwrap())
        .open()
        .await
        .unwrap();
    (dir, engine)
}

#[tokio::test]
async fn a_fit_never_depends_on_the_where_clause() {
    let (_dir, engine) = demo().await;
    let by = "client_id, CAST(conversion_date AS VARCHAR), conversion_type, model, channel";
    let whole = rows(
        &engine,
        &format!(
            "SELECT {by}, conversions, value FROM attribution_by_channel WHERE client_id = 'acme'"
        ),
        5,
    )
    .await;
    assert!(whole.len() > 100);
    // Every day of March on its own, every model: the same rows as in the whole table.
    let mut march = BTreeMap::new();
    for day in 1..=31 {
        let one = rows(
            &engine,
            &format!(
                "SELECT {by}, conversions, value FROM attribution_by_channel \
                 WHERE client_id = 'acme' AND conversion_date = DATE '2024-03-{day:02}'"
            ),
            5,
        )
        .await;
        march.extend(one);
    }
    let expected: BTreeMap<_, _> = whole
        .iter()
        .filter(|(k, _)| k[1].starts_with("2024-03"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        march.len(),
        expected.len(),
        "March's rows, day by day and whole"
    );
    for (k, v) in &expected {
        assert!(close(v, &march[k]), "{k:?}: {v:?} vs {:?}", march[k]);
    }
    // Sums over the days equal the month's sums, per model and channel (Markov and Shapley too).
    let month = rows(
        &engine,
        "SELECT model, channel, sum(conversions), sum(value) FROM attribution_by_channel \
         WHERE client_id = 'acme' AND conversion_date BETWEEN DATE '2024-03-01' AND DATE '2024-03-31' \
         GROUP BY 1, 2",
        2,
    )
    .await;
    let mut summed: BTreeMap<Vec<String>, Vec<f64>> = BTreeMap::new();
    for (k, v) in &march {
        let e = summed
            .entry(vec![k[3].clone(), k[4].clone()])
            .or_insert(vec![0.0, 0.0]);
        e[0] += v[0];
        e[1] += v[1];
    }
    assert_eq!(
        month.keys().collect::<Vec<_>>(),
        summed.keys().collect::<Vec<_>>()
    );
    for (k, v) in &month {
        assert!(
            close(v, &summed[k]),
            "{k:?}: month {v:?}, days {:?}",
            summed[k]
        );
    }
    // A filter on the channel or the campaign only selects rows.
    let email = rows(
        &engine,
        &format!("SELECT {by}, conversions, value FROM attribution_by_channel WHERE client_id = 'acme' AND channel = 'Email'"),
        5,
    )
    .await;
    assert!(!email.is_empty());
    for (k, v) in &email {
        assert!(close(v, &whole[k]), "{k:?}");
    }
    let by_campaign =
        "client_id, CAST(conversion_date AS VARCHAR), conversion_type, model, channel, campaign";
    let campaigns = rows(
        &engine,
        &format!("SELECT {by_campaign}, conversions, value FROM attribution_by_campaign WHERE client_id = 'acme'"),
        6,
    )
    .await;
    let brand = rows(
        &engine,
        &format!(
            "SELECT {by_campaign}, conversions, value FROM attribution_by_campaign \
             WHERE client_id = 'acme' AND campaign = 'brand - exact'"
        ),
        6,
    )
    .await;
    assert!(!brand.is_empty());
    for (k, v) in &brand {
        assert!(close(v, &campaigns[k]), "{k:?}");
    }
}

#[tokio::test]
async fn campaign_credits_roll_up_to_channel_credits() {
    let (_dir, engine) = demo().await;
    // Models whose credits do not depend on what a key is: the same touches get the same shares.
    let models = "('first_touch', 'last_touch', 'last_non_direct', 'linear', 'position_based', \
                  'time_decay', 'w_shaped')";
    let channels = rows(
        &engine,
        &format!(
            "SELECT client_id, model, channel, sum(conversions), sum(value) FROM attribution_by_channel \
             WHERE model IN {models} GROUP BY 1, 2, 3"
        ),
        3,
    )
    .await;
    let campaigns = rows(
        &engine,
        &format!(
            "SELECT client_id, model, channel, sum(conversions), sum(value) FROM attribution_by_campaign \
             WHERE model IN {models} GROUP BY 1, 2, 3"
        ),
        3,
    )
    .await;
    assert_eq!(
        channels.keys().collect::<Vec<_>>(),
        campaigns.keys().collect::<Vec<_>>()
    );
    for (k, v) in &channels {
        assert!(
            close(v, &campaigns[k]),
            "{k:?}: by channel {v:?}, by campaign {:?}",
            campaigns[k]
        );
    }
}
