//! loopql's attribution models against an independent implementation: the `channelattribution`
//! package (installed by `cargo xtask test` from tests/python/requirements.txt) over its own
//! 10,000-path data set. Heuristic models must match exactly; its Markov model is a Monte-Carlo
//! estimate, loopql's an exact solve, so they must agree within 1% of the total conversions.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Float64Type;
use loopql_core::{EngineBuilder, Project};
use std::collections::BTreeMap;
use std::process::Command;

fn python() -> String {
    std::env::var("LOOPQL_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[tokio::test]
async fn models_agree_with_channelattribution() {
    let dir = tempfile::tempdir().unwrap();
    let (data, results) = (dir.path().join("paths.csv"), dir.path().join("theirs.csv"));
    let out = Command::new(python())
        .arg(loopql_test_support::repo_root().join("tests/python/channelattribution_oracle.py"))
        .args([&data, &results])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the oracle failed (run the suite with `cargo xtask test`, which installs channelattribution): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut theirs: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for r in csv::Reader::from_path(&results).unwrap().records() {
        let r = r.unwrap();
        theirs.insert(
            (r[0].to_string(), r[1].to_string()),
            (r[2].parse().unwrap(), r[3].parse().unwrap()),
        );
    }

    let project = dir.path().join("loopql.toml");
    std::fs::write(&project, "[plugins]\nsearch_default_dirs = false\n").unwrap();
    let engine = EngineBuilder::live(Project::load(&project).unwrap())
        .open()
        .await
        .unwrap();
    engine
        .sql(&format!(
            "CREATE EXTERNAL TABLE paths (path VARCHAR, total_conversions BIGINT, \
             total_conversion_value DOUBLE, total_null BIGINT) STORED AS CSV LOCATION '{}' \
             OPTIONS ('format.delimiter' ';', 'format.has_header' 'true')",
            data.display()
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    // channelattribution's markov_model collapses consecutive repeats; for a first-order chain
    // that changes nothing (a self-loop only rescales a state's other transitions).
    let mut ours: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for b in engine
        .sql("SELECT model, channel, conversions, value FROM attribute_paths('all', 'paths')")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
    {
        let (m, c) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
        );
        let (n, v) = (
            b.column(2).as_primitive::<Float64Type>(),
            b.column(3).as_primitive::<Float64Type>(),
        );
        for i in 0..b.num_rows() {
            assert!(!m.is_null(i));
            ours.insert(
                (m.value(i).into(), c.value(i).into()),
                (n.value(i), v.value(i)),
            );
        }
    }

    let total: f64 = theirs
        .iter()
        .filter(|((m, _), _)| m == "first_touch")
        .map(|(_, v)| v.0)
        .sum();
    assert!(total > 10_000.0, "{total}");
    let mut compared = 0;
    for ((model, channel), (conversions, value)) in &theirs {
        let (c, v) = ours
            .get(&(model.clone(), channel.clone()))
            .unwrap_or_else(|| panic!("loopql has no {model} credit for {channel}"));
        if model == "markov" {
            assert!(
                (c - conversions).abs() <= 0.01 * total,
                "markov {channel}: loopql {c}, channelattribution {conversions}"
            );
        } else {
            assert!(
                (c - conversions).abs() <= 1e-6 * conversions.max(1.0),
                "{model} {channel}: loopql {c}, channelattribution {conversions}"
            );
            assert!(
                (v - value).abs() <= 1e-6 * value.max(1.0),
                "{model} {channel} value: loopql {v}, channelattribution {value}"
            );
        }
        compared += 1;
    }
    assert_eq!(compared, 48);
}
