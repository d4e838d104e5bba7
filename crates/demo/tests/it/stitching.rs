//! Identity stitching against the demo's ground truth: each lead's and won deal's observable
//! journey (`ground_truth/conversion_journeys.csv`, what the generator knows happened) is
//! recovered by the views — a person's anonymous sessions before the form fill join their path.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use loopql_core::{EngineBuilder, Project};
use std::collections::{BTreeMap, HashMap};

/// (client, person, type) -> (observable touches, first channel)
fn truth(dir: &std::path::Path) -> HashMap<(String, String, String), (usize, String)> {
    let mut out = HashMap::new();
    let mut reader =
        csv::Reader::from_path(dir.join("ground_truth/conversion_journeys.csv")).unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        out.insert(
            (r[0].to_string(), r[1].to_string(), r[2].to_string()),
            (r[4].parse().unwrap(), r[5].to_string()),
        );
    }
    out
}

#[tokio::test]
async fn multi_touch_paths_are_recovered_and_first_touches_match_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let written =
        loopql_demo::write(&dir.path().join("demo"), &loopql_demo::Options::new(5, 0.2)).unwrap();
    let truth = truth(&written.dir);
    assert!(
        truth.len() > 100,
        "{} conversions in the truth",
        truth.len()
    );
    let engine = EngineBuilder::live(Project::load(&written.project_file).unwrap())
        .open()
        .await
        .unwrap();

    // Paths: of the conversions whose true journey has two or more observable touches, at least
    // 95% get a path of two or more touches.
    let mut ours: HashMap<(String, String, String), i64> = HashMap::new();
    for b in engine
        .collect(
            "SELECT client_id, person_key, conversion_type, touches FROM conversion_paths() \
             WHERE conversion_type IN ('lead', 'won_deal')",
        )
        .await
        .unwrap()
    {
        let text = |i| cast(b.column(i), &DataType::Utf8).unwrap();
        let (c, p, t) = (text(0), text(1), text(2));
        let (c, p, t) = (
            c.as_string::<i32>(),
            p.as_string::<i32>(),
            t.as_string::<i32>(),
        );
        let n = b
            .column(3)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        for r in 0..b.num_rows() {
            ours.insert(
                (c.value(r).into(), p.value(r).into(), t.value(r).into()),
                n.value(r),
            );
        }
    }
    let multi: Vec<_> = truth.iter().filter(|(_, (n, _))| *n >= 2).collect();
    assert!(multi.len() > 30, "{} multi-touch conversions", multi.len());
    let recovered = multi
        .iter()
        .filter(|(k, _)| ours.get(*k).is_some_and(|n| *n >= 2))
        .count();
    assert!(
        recovered as f64 >= 0.95 * multi.len() as f64,
        "{recovered} of {} multi-touch conversions have a multi-touch path",
        multi.len()
    );

    // First touch: per client x channel, the credited conversions equal the truth's first
    // observable touches within 2% of the client's conversions.
    let mut expected: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut per_client: BTreeMap<String, f64> = BTreeMap::new();
    for ((client, _, _), (n, first)) in &truth {
        let channel = if *n == 0 { "Unmatched" } else { first.as_str() };
        *expected
            .entry((client.clone(), channel.to_string()))
            .or_default() += 1.0;
        *per_client.entry(client.clone()).or_default() += 1.0;
    }
    let mut got: BTreeMap<(String, String), f64> = BTreeMap::new();
    for b in engine
        .collect(
            "SELECT client_id, channel, sum(conversions) FROM attribution('channel', 'first_touch') \
             WHERE conversion_type IN ('lead', 'won_deal') GROUP BY 1, 2",
        )
        .await
        .unwrap()
    {
        let text = |i| cast(b.column(i), &DataType::Utf8).unwrap();
        let (c, ch) = (text(0), text(1));
        let (c, ch) = (c.as_string::<i32>(), ch.as_string::<i32>());
        let n = cast(b.column(2), &DataType::Float64).unwrap();
        let n = n.as_primitive::<Float64Type>();
        for r in 0..b.num_rows() {
            got.insert((c.value(r).into(), ch.value(r).into()), n.value(r));
        }
    }
    for key in expected.keys().chain(got.keys()) {
        let (want, have) = (
            expected.get(key).copied().unwrap_or(0.0),
            got.get(key).copied().unwrap_or(0.0),
        );
        let allowed = 0.02 * per_client[&key.0];
        assert!(
            (want - have).abs() <= allowed,
            "{key:?}: first touch credits {have}, the truth {want} (allowed ±{allowed})"
        );
    }
}
