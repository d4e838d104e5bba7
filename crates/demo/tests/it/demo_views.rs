//! The shipped views over the demo's generated journeys: what the numbers must show when the
//! ground truth is known (platforms over-report, every conversion is credited once, spend is
//! carried whole into ROI), and that settings change them.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use loopql_core::{Engine, EngineBuilder, Project};

/// Rows of a query as f64 columns after the first (text) column.
async fn rows(engine: &Engine, sql: &str) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    for b in engine.collect(sql).await.unwrap() {
        let key = cast(b.column(0), &DataType::Utf8).unwrap();
        let key = key.as_string::<i32>();
        let nums: Vec<_> = (1..b.num_columns())
            .map(|i| cast(b.column(i), &DataType::Float64).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push((
                key.value(r).to_string(),
                nums.iter()
                    .map(|c| {
                        let c = c.as_primitive::<Float64Type>();
                        if c.is_null(r) { f64::NAN } else { c.value(r) }
                    })
                    .collect(),
            ));
        }
    }
    out
}

pub(crate) async fn demo() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let written = loopql_demo::write(
        &dir.path().join("demo"),
        &loopql_demo::Options::new(5, 0.05),
    )
    .unwrap();
    let engine = EngineBuilder::live(Project::load(&written.project_file).unwrap())
        .open()
        .await
        .unwrap();
    (dir, engine)
}

#[tokio::test]
async fn triangulation_shows_the_platforms_over_reporting() {
    let (_dir, engine) = demo().await;
    let paid = rows(
        &engine,
        "SELECT client_id, sum(platform_conversions), sum(crm_leads) FROM triangulation \
         WHERE channel = 'Paid Search' GROUP BY 1 ORDER BY 1",
    )
    .await;
    assert_eq!(paid.len(), 3);
    for (client, v) in &paid {
        // The platform claims 1.2-1.6x the leads its clicks led to; the CRM credits Paid Search
        // only the leads whose last non-direct touch was a paid search click.
        assert!(v[1] > 0.0, "{client}: {v:?}");
        assert!(
            v[0] > 1.1 * v[1],
            "{client}: platform {} vs CRM {}",
            v[0],
            v[1]
        );
    }
    let flagged = |sql: &'static str| {
        let engine = &engine;
        async move { rows(engine, sql).await[0].1[0] }
    };
    let count = "SELECT 'all', count(*) FILTER (WHERE flagged) FROM triangulation";
    let strict = flagged(count).await;
    engine
        .sql("SET loopql.triangulation.tolerance = 1000")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let loose = flagged(count).await;
    assert!(
        strict > loose,
        "tolerance had no effect: {strict} vs {loose}"
    );
}

#[tokio::test]
async fn every_model_credits_every_demo_conversion_once_and_roi_keeps_all_spend() {
    let (_dir, engine) = demo().await;
    let conversions = rows(
        &engine,
        "SELECT client_id, count(*), sum(value) FROM conversions GROUP BY 1 ORDER BY 1",
    )
    .await;
    let credited = rows(
        &engine,
        "SELECT client_id || '/' || model, sum(conversions), sum(value) FROM attribution_by_channel \
         GROUP BY 1 ORDER BY 1",
    )
    .await;
    assert_eq!(credited.len(), 3 * loopql_core::attribution::MODELS.len());
    for (key, v) in &credited {
        let client = key.split('/').next().unwrap();
        let truth = &conversions.iter().find(|(c, _)| c == client).unwrap().1;
        assert!((v[0] - truth[0]).abs() < 1e-6, "{key}: {v:?} vs {truth:?}");
        assert!(
            (v[1] - truth[1]).abs() < 1e-6 * truth[1].max(1.0),
            "{key}: {v:?} vs {truth:?}"
        );
    }
    let spend = rows(
        &engine,
        "SELECT client_id, sum(spend) FROM ad_performance GROUP BY 1 ORDER BY 1",
    )
    .await;
    let roi = rows(
        &engine,
        "SELECT client_id, sum(spend) FROM roi_by_channel WHERE model = 'markov' GROUP BY 1 ORDER BY 1",
    )
    .await;
    assert_eq!(spend.len(), roi.len());
    for ((a, s), (b, r)) in spend.iter().zip(&roi) {
        assert_eq!(a, b);
        assert!((s[0] - r[0]).abs() < 1e-6 * s[0], "{a}: {s:?} vs {r:?}");
    }
}

#[tokio::test]
async fn demo_spend_meets_credits_on_the_channel_each_platform_buys() {
    let (_dir, engine) = demo().await;
    let spend = rows(
        &engine,
        "SELECT client_id || '/' || platform || '/' || channel, sum(spend) FROM ad_performance \
         GROUP BY 1 ORDER BY 1",
    )
    .await;
    let keys: Vec<&str> = spend.iter().map(|(k, _)| k.as_str()).collect();
    // Every client buys search, Shopping and Performance Max on Google and social on Meta; the
    // EUR client LinkedIn too, the GBP client Microsoft; nobody else those two.
    let mut expected = Vec::new();
    for client in ["acme", "globex", "initech"] {
        for channel in ["Cross-network", "Paid Search", "Paid Shopping"] {
            expected.push(format!("{client}/google_ads/{channel}"));
        }
        expected.push(format!("{client}/meta_ads/Paid Social"));
    }
    expected.push("globex/linkedin_ads/Paid Social".into());
    expected.push("initech/microsoft_ads/Paid Search".into());
    expected.sort();
    assert_eq!(keys, expected);
    assert!(spend.iter().all(|(_, v)| v[0] > 0.0), "{spend:?}");
    // Their clicks arrive as sessions of the same channels, so the spend meets credited leads.
    let roi = rows(
        &engine,
        "SELECT client_id || '/' || channel, sum(spend), sum(leads) FROM roi_by_channel \
         WHERE model = 'linear' AND channel IN ('Paid Shopping', 'Cross-network') \
         GROUP BY 1 ORDER BY 1",
    )
    .await;
    assert_eq!(roi.len(), 6, "{roi:?}");
    for (key, v) in &roi {
        assert!(v[0] > 0.0 && v[1] > 0.0, "{key}: spend and leads {v:?}");
    }
}

#[tokio::test]
async fn filters_on_client_and_model_reach_attribution_through_the_roi_views() {
    let (_dir, engine) = demo().await;
    // A live engine caches nothing: every query that needs credits computes them, for the
    // clients its filters keep.
    for (view, key) in [
        ("roi_by_channel", "month, channel"),
        ("roi_by_campaign", "month, channel, campaign"),
    ] {
        let whole = rows(
            &engine,
            &format!(
                "SELECT concat_ws('/', {key}), spend, leads, revenue, cac FROM {view} \
                 WHERE client_id = 'acme' AND model = 'linear' ORDER BY 1"
            ),
        )
        .await;
        let before = engine.credits_computed();
        let all = rows(
            &engine,
            &format!(
                "SELECT concat_ws('/', client_id, model, {key}), spend, leads, revenue, \
                 cac FROM {view} ORDER BY 1"
            ),
        )
        .await;
        assert_eq!(engine.credits_computed(), before + 3, "{view}: all clients");
        let before = engine.credits_computed();
        let filtered = rows(
            &engine,
            &format!(
                "SELECT concat_ws('/', {key}), spend, leads, revenue, cac FROM {view} \
                 WHERE client_id = 'acme' AND model = 'linear' ORDER BY 1"
            ),
        )
        .await;
        assert_eq!(
            engine.credits_computed(),
            before + 1,
            "{view}: the client filter reached attribution()"
        );
        // The filtered rows are the unfiltered view's rows of that client and model (sums
        // may add up in another order: equal to 1e-9).
        let from_all: Vec<_> = all
            .iter()
            .filter(|(k, _)| k.starts_with("acme/linear/"))
            .map(|(k, v)| (k["acme/linear/".len()..].to_string(), v.clone()))
            .collect();
        for other in [&whole, &from_all] {
            assert_eq!(filtered.len(), other.len(), "{view}");
            for ((a, x), (b, y)) in filtered.iter().zip(other) {
                assert_eq!(a, b, "{view}");
                for (p, q) in x.iter().zip(y) {
                    assert!(
                        (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-9 * p.abs().max(1.0),
                        "{view} {a}: {x:?} vs {y:?}"
                    );
                }
            }
        }
    }
}
