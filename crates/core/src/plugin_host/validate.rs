//! Manifest checks: a connector's promises must be coherent before any of its tables is
//! registered. Every problem is reported, not just the first.

use crate::project::is_identifier;
use loopql_connector_sdk::Manifest;
use std::collections::HashSet;

/// Column every raw table gets from the host: which client a row belongs to.
pub const CLIENT_COLUMN: &str = "client_id";

pub fn manifest(m: &Manifest, known_views: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    if !is_identifier(&m.name) {
        problems.push(format!(
            "name `{}`: expected a lowercase SQL identifier like `google_ads`",
            m.name
        ));
    }
    let numeric = m
        .version
        .split('.')
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .count();
    if m.version.split('.').count() != 3 || numeric != 3 {
        problems.push(format!(
            "version `{}`: expected MAJOR.MINOR.PATCH",
            m.version
        ));
    }
    let mut options = HashSet::new();
    for o in &m.options {
        if !is_identifier(&o.name) {
            problems.push(format!(
                "option `{}`: expected a lowercase identifier",
                o.name
            ));
        }
        if !options.insert(o.name.as_str()) {
            problems.push(format!("option `{}` is declared twice", o.name));
        }
    }
    if m.tables.is_empty() {
        problems.push("declares no tables".into());
    }
    let mut tables = HashSet::new();
    for t in &m.tables {
        if !is_identifier(&t.name) {
            problems.push(format!(
                "table `{}`: expected a lowercase SQL identifier",
                t.name
            ));
        }
        if !tables.insert(t.name.as_str()) {
            problems.push(format!("table `{}` is declared twice", t.name));
        }
        if t.schema.fields().is_empty() {
            problems.push(format!("table `{}` has no columns", t.name));
        }
        let mut columns = HashSet::new();
        for f in t.schema.fields() {
            if !columns.insert(f.name().as_str()) {
                problems.push(format!(
                    "table `{}`: column `{}` appears twice",
                    t.name,
                    f.name()
                ));
            }
            if f.name() == CLIENT_COLUMN {
                problems.push(format!(
                    "table `{}`: column `{CLIENT_COLUMN}` is reserved (the host adds it from the project's sources)",
                    t.name
                ));
            }
        }
        if let Some(day) = &t.activity_date {
            match t.schema.field_with_name(day) {
                Err(_) => problems.push(format!(
                    "table `{}`: activity_date `{day}` is not one of its columns",
                    t.name
                )),
                Ok(f) if !is_day_type(f.data_type()) => problems.push(format!(
                    "table `{}`: activity_date `{day}` is {}; expected a date or timestamp column",
                    t.name,
                    f.data_type()
                )),
                Ok(_) => {}
            }
        }
        if let Some(changes) = &t.changes {
            match t.schema.field_with_name(&changes.modified) {
                Err(_) => problems.push(format!(
                    "table `{}`: changes.modified `{}` is not one of its columns",
                    t.name, changes.modified
                )),
                Ok(f)
                    if !matches!(
                        f.data_type(),
                        datafusion::arrow::datatypes::DataType::Timestamp(..)
                    ) =>
                {
                    problems.push(format!(
                        "table `{}`: changes.modified `{}` is {}; expected a timestamp column",
                        t.name,
                        changes.modified,
                        f.data_type()
                    ))
                }
                Ok(_) => {}
            }
            if !t
                .filters
                .iter()
                .any(|f| f.column == changes.modified && f.exact)
            {
                problems.push(format!(
                    "table `{}`: changes.modified `{}` must be an exact filter (a sync asks for the records modified since a time)",
                    t.name, changes.modified
                ));
            }
            if let Some(deleted) = &changes.deleted
                && !t.schema.field_with_name(deleted).is_ok_and(|f| {
                    f.data_type() == &datafusion::arrow::datatypes::DataType::Boolean
                })
            {
                problems.push(format!(
                    "table `{}`: changes.deleted `{deleted}` is not a Boolean column of it",
                    t.name
                ));
            }
            if changes.key.is_empty() {
                problems.push(format!("table `{}`: changes.key names no column", t.name));
            }
            for k in changes.key.iter().filter(|k| !columns.contains(k.as_str())) {
                problems.push(format!(
                    "table `{}`: changes.key `{k}` is not one of its columns",
                    t.name
                ));
            }
        }
        for filter in &t.filters {
            if !columns.contains(filter.column.as_str()) {
                problems.push(format!(
                    "table `{}`: filter on `{}`, which is not one of its columns",
                    t.name, filter.column
                ));
            }
        }
    }
    for mapping in &m.mappings {
        if !known_views.contains(&mapping.view.as_str()) {
            problems.push(format!(
                "mapping onto `{}`, which is not a harmonized view (known: {})",
                mapping.view,
                known_views.join(", ")
            ));
        }
        if mapping.sql.trim().is_empty() {
            problems.push(format!("mapping onto `{}` has no SQL", mapping.view));
        }
    }
    problems
}

/// Types a day can be read from: dates and timestamps.
pub fn is_day_type(t: &datafusion::arrow::datatypes::DataType) -> bool {
    use datafusion::arrow::datatypes::DataType;
    matches!(
        t,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use loopql_connector_sdk::{FilterSpec, Mapping, OptionKind, OptionSpec, TableSpec};
    use std::sync::Arc;

    fn good() -> Manifest {
        Manifest {
            name: "ads".into(),
            version: "1.2.3".into(),
            description: String::new(),
            options: vec![OptionSpec {
                name: "path".into(),
                kind: OptionKind::Glob,
                required: true,
                default: None,
                description: String::new(),
            }],
            tables: vec![TableSpec {
                name: "stats".into(),
                description: String::new(),
                filters: vec![FilterSpec {
                    column: "day".into(),
                    exact: true,
                }],
                activity_date: Some("day".into()),
                changes: None,
                schema: Arc::new(Schema::new(vec![
                    Field::new("day", DataType::Date32, false),
                    Field::new("name", DataType::Utf8, false),
                ])),
            }],
            mappings: vec![Mapping {
                view: "ad_performance".into(),
                sql: "SELECT 1".into(),
            }],
        }
    }

    type Edit = Box<dyn FnOnce(&mut Manifest)>;

    fn problems(edit: impl FnOnce(&mut Manifest)) -> Vec<String> {
        let mut m = good();
        edit(&mut m);
        manifest(&m, &["ad_performance"])
    }

    #[test]
    fn a_coherent_manifest_has_no_problems() {
        assert_eq!(problems(|_| {}), Vec::<String>::new());
    }

    #[test]
    fn each_broken_promise_is_named() {
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|m| m.name = "Ads".into()), "name `Ads`"),
            (Box::new(|m| m.version = "1.2".into()), "version `1.2`"),
            (Box::new(|m| m.tables.clear()), "declares no tables"),
            (
                Box::new(|m| m.options.push(m.options[0].clone())),
                "option `path` is declared twice",
            ),
            (
                Box::new(|m| m.tables[0].filters[0].column = "x".into()),
                "filter on `x`",
            ),
            (
                Box::new(|m| {
                    m.tables[0].schema = Arc::new(Schema::new(vec![Field::new(
                        "client_id",
                        DataType::Utf8,
                        false,
                    )]))
                }),
                "`client_id` is reserved",
            ),
            (
                Box::new(|m| m.mappings[0].view = "nope".into()),
                "mapping onto `nope`",
            ),
            (Box::new(|m| m.mappings[0].sql = " ".into()), "has no SQL"),
            (
                Box::new(|m| m.tables[0].activity_date = Some("nope".into())),
                "activity_date `nope` is not one of its columns",
            ),
            (
                Box::new(|m| m.tables[0].activity_date = Some("name".into())),
                "activity_date `name` is Utf8; expected a date or timestamp",
            ),
            (
                Box::new(|m| {
                    m.tables[0].changes = Some(loopql_connector_sdk::Changes {
                        modified: "name".into(),
                        key: vec!["nope".into()],
                        deleted: Some("name".into()),
                    })
                }),
                "changes.modified `name` is Utf8; expected a timestamp",
            ),
            (
                Box::new(|m| {
                    m.tables[0].changes = Some(loopql_connector_sdk::Changes {
                        modified: "name".into(),
                        key: vec!["nope".into()],
                        deleted: Some("name".into()),
                    })
                }),
                "changes.key `nope` is not one of its columns",
            ),
            (
                Box::new(|m| {
                    m.tables[0].changes = Some(loopql_connector_sdk::Changes {
                        modified: "day".into(),
                        key: vec!["name".into()],
                        deleted: Some("name".into()),
                    })
                }),
                "changes.deleted `name` is not a Boolean column",
            ),
            (
                Box::new(|m| {
                    m.tables[0].changes = Some(loopql_connector_sdk::Changes {
                        modified: "nope".into(),
                        key: vec![],
                        deleted: None,
                    })
                }),
                "changes.modified `nope` must be an exact filter",
            ),
        ];
        for (edit, expected) in cases {
            let found = problems(edit);
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{expected}: {found:?}"
            );
        }
    }
}
