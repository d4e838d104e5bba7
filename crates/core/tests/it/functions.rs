//! Every loopql function is documented (`loopql_functions`) and its example runs: statements
//! separated by `;`, the last returning rows; a scalar example's `-- result` comment is what it
//! returns.

use datafusion::arrow::util::display::array_value_to_string;
use loopql_core::{Engine, EngineBuilder, Project};

async fn engine() -> Engine {
    let project = loopql_test_support::repo_root().join("tests/fixtures/attribution/loopql.toml");
    EngineBuilder::live(Project::load(&project).unwrap())
        .open()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_function_is_documented_and_its_example_runs() {
    let catalog = loopql_core::functions::catalog().unwrap();
    let column = |name: &str| {
        let c = catalog.column_by_name(name).unwrap();
        (0..catalog.num_rows())
            .map(|i| array_value_to_string(c, i).unwrap())
            .collect::<Vec<_>>()
    };
    let (names, kinds, syntax, descriptions, examples) = (
        column("name"),
        column("kind"),
        column("syntax"),
        column("description"),
        column("example"),
    );
    for expected in [
        "attribute_paths",
        "attribution",
        "channel_group",
        "conversion_paths",
        "forecast",
        "local_date",
        "loopql_setting",
        "url_param",
        "first_by",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} is not in loopql_functions"
        );
    }
    for i in 0..names.len() {
        let name = &names[i];
        assert!(
            syntax[i].starts_with(&format!("{name}(")),
            "{name}: {}",
            syntax[i]
        );
        assert!(descriptions[i].len() > 20, "{name} has no description");
        let (sql, result) = match examples[i].rsplit_once("-- ") {
            Some((sql, result)) => (sql.to_string(), Some(result.trim().to_string())),
            None => (examples[i].clone(), None),
        };
        // A fresh session per example: examples may SET or CREATE.
        let engine = engine().await;
        let statements: Vec<&str> = sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        assert!(!statements.is_empty(), "{name} has no example");
        let mut last = Vec::new();
        for s in &statements {
            last = engine
                .sql(s)
                .await
                .unwrap_or_else(|e| panic!("{name}: `{s}`: {e}"))
                .collect()
                .await
                .unwrap_or_else(|e| panic!("{name}: `{s}`: {e}"));
        }
        let rows: usize = last.iter().map(|b| b.num_rows()).sum();
        assert!(rows > 0, "{name}'s example returns no rows");
        if kinds[i] == "scalar" || kinds[i] == "aggregate" {
            let expected = result.unwrap_or_else(|| panic!("{name}'s example says no result"));
            let got = array_value_to_string(last[0].column(0), 0).unwrap();
            assert_eq!(got, expected, "{name}");
        }
    }
}

#[tokio::test]
async fn loopql_functions_is_a_table() {
    let engine = engine().await;
    let batches = engine
        .sql("SELECT name FROM loopql_functions WHERE kind = 'table' ORDER BY name")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let names: Vec<String> = batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(|i| array_value_to_string(b.column(0), i).unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            "attribute_paths",
            "attribution",
            "conversion_paths",
            "forecast"
        ]
    );
}
