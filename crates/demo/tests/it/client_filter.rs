//! A filter on `client_id` reaches `attribution()` through every shipped view: a query of one
//! client computes that client's credits only, whatever joins the view makes (the credits'
//! text columns are of the engine's string type, so a join key is never wrapped in a cast that
//! stops DataFusion carrying the filter across the join).

use loopql_core::Engine;
use loopql_core::views::DERIVED;

/// How many rows `sql` returns (every column is read: nothing of the view is optimized away).
async fn count(engine: &Engine, sql: &str) -> usize {
    let batches = engine.collect(sql).await.unwrap();
    batches.iter().map(|b| b.num_rows()).sum()
}

#[tokio::test]
async fn a_client_filter_reaches_attribution_through_every_shipped_view() {
    // A live engine caches no credits: every query that needs them computes them, for the
    // clients its filters keep.
    let (_dir, engine) = crate::demo_views::demo().await;
    let mut crediting = Vec::new();
    for view in DERIVED
        .iter()
        .filter(|v| v.columns().iter().any(|c| c == "client_id"))
    {
        let before = engine.credits_computed();
        let all = count(
            &engine,
            &format!("SELECT * FROM {} WHERE client_id IS NOT NULL", view.name),
        )
        .await;
        let computed = engine.credits_computed() - before;
        if computed == 0 {
            continue;
        }
        crediting.push(view.name);
        assert_eq!(computed, 3, "{}: every client's credits", view.name);
        let before = engine.credits_computed();
        let acme = count(
            &engine,
            &format!("SELECT * FROM {} WHERE client_id = 'acme'", view.name),
        )
        .await;
        assert_eq!(
            engine.credits_computed() - before,
            1,
            "{}: the filter on client_id reached attribution()",
            view.name
        );
        assert!(
            0 < acme && acme < all,
            "{}: {acme} of {all} rows",
            view.name
        );
    }
    // The views known to credit conversions are among those checked (the test is not vacuous).
    for name in [
        "attribution_by_channel",
        "attribution_by_campaign",
        "roi_by_channel",
        "roi_by_campaign",
        "kpi_paid_media",
    ] {
        assert!(
            crediting.contains(&name),
            "{name} not seen crediting: {crediting:?}"
        );
    }
}
