//! "Did you mean": for an unknown table or column in an error, the closest known names.

use super::complete::Catalog;

/// Edit distance between two strings (case-insensitive).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (
        a.to_lowercase().chars().collect(),
        b.to_lowercase().chars().collect(),
    );
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

/// The names in `candidates` within a third of `name`'s length (at least 2 edits), closest
/// first, at most three.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let limit = (name.len() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.dedup();
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect()
}

/// The quoted name after `marker` in `error` (`table 'x' not found`, `No field named x.`).
fn named<'e>(error: &'e str, marker: &str) -> Option<&'e str> {
    let rest = &error[error.find(marker)? + marker.len()..];
    let rest = rest.trim_start_matches(['\'', '"', ' ']);
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    let name = rest[..end].trim_end_matches('.');
    (!name.is_empty()).then_some(name)
}

/// A "did you mean" line for `error`, when it names an unknown table or column.
pub fn did_you_mean(error: &str, catalog: &Catalog) -> Option<String> {
    if let Some(table) = named(error, "table '").or_else(|| named(error, "table \"")) {
        let table = table.rsplit('.').next().unwrap_or(table);
        let names = catalog.tables.iter().map(|t| t.name.as_str());
        let found = closest(table, names);
        return (!found.is_empty()).then(|| format!("did you mean: {}?", found.join(", ")));
    }
    if let Some(column) = named(error, "No field named ") {
        let column = column.rsplit('.').next().unwrap_or(column);
        let names = catalog
            .tables
            .iter()
            .flat_map(|t| t.columns.iter().map(String::as_str));
        let found = closest(column, names);
        return (!found.is_empty()).then(|| format!("did you mean: {}?", found.join(", ")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::complete::TableInfo;

    fn catalog() -> Catalog {
        Catalog {
            tables: vec![TableInfo {
                schema: "public".into(),
                name: "sessions".into(),
                columns: vec!["channel".into(), "campaign".into(), "client_id".into()],
            }],
            functions: vec![],
        }
    }

    #[test]
    fn tables_and_columns() {
        assert_eq!(
            did_you_mean(
                "Error during planning: table 'loopql.public.sesions' not found",
                &catalog()
            ),
            Some("did you mean: sessions?".into())
        );
        assert_eq!(
            did_you_mean(
                "Schema error: No field named chanel. Valid fields are sessions.channel.",
                &catalog()
            ),
            Some("did you mean: channel?".into())
        );
        assert_eq!(did_you_mean("table 'zzzzzz' not found", &catalog()), None);
        assert_eq!(did_you_mean("Division by zero", &catalog()), None);
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("sesions", "sessions"), 1);
        assert_eq!(distance("Channel", "channel"), 0);
        assert_eq!(distance("", "abc"), 3);
    }
}
