//! Tab completion: SQL keywords, schemas, tables and views (connector schemas included), the
//! columns of the tables the statement names (through aliases and `table.` prefixes), loopql's
//! and DataFusion's functions, and meta-commands. Works on a [`Catalog`] snapshot the shell
//! refreshes after DDL.

use super::meta::COMMANDS;

/// One table or view the session can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub schema: String,
    pub name: String,
    pub columns: Vec<String>,
}

/// What completion knows about the session.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub tables: Vec<TableInfo>,
    pub functions: Vec<String>,
}

pub const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "INNER",
    "OUTER",
    "CROSS",
    "ON",
    "USING",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "UNION",
    "ALL",
    "EXCEPT",
    "INTERSECT",
    "WITH",
    "VALUES",
    "CAST",
    "INTERVAL",
    "DATE",
    "TIMESTAMP",
    "TRUE",
    "FALSE",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "OVER",
    "PARTITION",
    "FILTER",
    "CREATE",
    "VIEW",
    "TABLE",
    "EXTERNAL",
    "DROP",
    "IF",
    "EXISTS",
    "SHOW",
    "SET",
    "EXPLAIN",
    "ANALYZE",
    "DESCRIBE",
    "STORED",
    "LOCATION",
    "OPTIONS",
    "COPY",
    "TO",
];

/// Keywords after which a table name comes.
const BEFORE_TABLE: &[&str] = &["FROM", "JOIN", "INTO", "TABLE", "UPDATE", "DESCRIBE", "\\D"];

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '\\'
}

/// Words of the statement, as written.
fn words(sql: &str) -> Vec<&str> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '\\'))
        .filter(|w| !w.is_empty())
        .collect()
}

impl Catalog {
    fn table(&self, name: &str) -> Option<&TableInfo> {
        let (schema, table) = match name.rsplit_once('.') {
            Some((s, t)) => (Some(s), t),
            None => (None, name),
        };
        self.tables.iter().find(|t| {
            t.name.eq_ignore_ascii_case(table)
                && schema.is_none_or(|s| t.schema.eq_ignore_ascii_case(s))
        })
    }

    /// Tables named in `sql` after FROM / JOIN, with their aliases (`FROM sessions s`).
    fn referenced<'a>(&'a self, sql: &str) -> Vec<(&'a TableInfo, Option<String>)> {
        let w = words(sql);
        let mut out = Vec::new();
        for (i, word) in w.iter().enumerate() {
            if !matches!(word.to_ascii_uppercase().as_str(), "FROM" | "JOIN") {
                continue;
            }
            let Some(name) = w.get(i + 1) else { continue };
            let Some(table) = self.table(name) else {
                continue;
            };
            let alias = match w.get(i + 2).map(|a| a.to_ascii_uppercase()) {
                Some(a) if a == "AS" => w.get(i + 3).map(|s| s.to_string()),
                Some(a) if !KEYWORDS.contains(&a.as_str()) => w.get(i + 2).map(|s| s.to_string()),
                _ => None,
            };
            out.push((table, alias));
        }
        out
    }

    /// Candidates for the word ending at `pos` in `line`: (start of the word, candidates).
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !is_word_char(*c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        let matches = |candidate: &str| {
            candidate.len() >= word.len()
                && candidate[..word.len()].eq_ignore_ascii_case(word)
                && candidate != word
        };
        // Meta-commands at the start of the input.
        if before[..start].trim().is_empty() && (word.starts_with('\\') || word.starts_with('.')) {
            let mut c: Vec<String> = COMMANDS
                .iter()
                .map(|m| m.name.to_string())
                .filter(|m| matches(m))
                .collect();
            c.sort();
            c.dedup();
            return (start, c);
        }
        // `schema.` lists its tables; `table.` or `alias.` its columns.
        if let Some((qualifier, rest)) = word.rsplit_once('.') {
            let column_start = start + qualifier.len() + 1;
            let starts =
                |c: &String| c.len() >= rest.len() && c[..rest.len()].eq_ignore_ascii_case(rest);
            let mut c: Vec<String> = self
                .tables
                .iter()
                .filter(|t| t.schema.eq_ignore_ascii_case(qualifier))
                .map(|t| t.name.clone())
                .filter(starts)
                .collect();
            let table = self
                .referenced(line)
                .into_iter()
                .find(|(_, alias)| {
                    alias
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(qualifier))
                })
                .map(|(t, _)| t)
                .or_else(|| self.table(qualifier));
            if let Some(t) = table {
                c.extend(t.columns.iter().filter(|col| starts(col)).cloned());
            }
            c.sort();
            c.dedup();
            return (column_start, c);
        }
        let previous = words(&before[..start])
            .last()
            .map(|w| w.to_ascii_uppercase())
            .unwrap_or_default();
        let tables = || {
            self.tables.iter().flat_map(|t| {
                let qualified = format!("{}.{}", t.schema, t.name);
                if t.schema == "public" {
                    vec![t.name.clone(), qualified]
                } else {
                    vec![qualified]
                }
            })
        };
        let mut c: Vec<String> = Vec::new();
        if BEFORE_TABLE.contains(&previous.as_str()) {
            c.extend(tables().filter(|t| matches(t)));
            // Schemas, to go on with `schema.`.
            c.extend(
                self.tables
                    .iter()
                    .map(|t| format!("{}.", t.schema))
                    .filter(|s| matches(s)),
            );
        } else {
            for (t, _) in self.referenced(line) {
                c.extend(t.columns.iter().filter(|col| matches(col)).cloned());
            }
            // A column of the statement's tables is what is meant when one matches.
            if !c.is_empty() {
                c.extend(self.functions.iter().filter(|f| matches(f)).cloned());
                c.sort();
                c.dedup();
                return (start, c);
            }
            let upper = word.chars().next().is_none_or(|ch| ch.is_ascii_uppercase());
            c.extend(KEYWORDS.iter().filter(|k| matches(k)).map(|k| {
                if upper {
                    k.to_string()
                } else {
                    k.to_ascii_lowercase()
                }
            }));
            c.extend(self.functions.iter().filter(|f| matches(f)).cloned());
            c.extend(tables().filter(|t| matches(t)));
        }
        c.sort();
        c.dedup();
        (start, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let t = |schema: &str, name: &str, columns: &[&str]| TableInfo {
            schema: schema.into(),
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
        };
        Catalog {
            tables: vec![
                t(
                    "public",
                    "sessions",
                    &["client_id", "channel", "campaign", "session_start"],
                ),
                t("public", "clients", &["client_id", "name", "currency"]),
                t(
                    "google_ads",
                    "campaign_stats",
                    &["segments_date", "campaign_name"],
                ),
            ],
            functions: vec!["channel_group".into(), "count".into()],
        }
    }

    fn complete(line: &str) -> Vec<String> {
        let (_, c) = catalog().complete(line, line.len());
        c
    }

    #[test]
    fn tables_after_from_and_join() {
        assert_eq!(complete("SELECT * FROM ses"), ["sessions"]);
        assert_eq!(complete("SELECT * FROM cl"), ["clients"]);
        assert_eq!(
            complete("SELECT * FROM goo"),
            ["google_ads.", "google_ads.campaign_stats"]
        );
        assert_eq!(
            complete("SELECT * FROM google_ads.camp"),
            ["campaign_stats"]
        );
        assert_eq!(complete("SELECT * FROM sessions s JOIN cli"), ["clients"]);
    }

    #[test]
    fn columns_of_the_tables_in_the_statement() {
        let line = "SELECT chan FROM sessions";
        let (start, c) = catalog().complete(line, "SELECT chan".len());
        // The column, and a function with that prefix.
        assert_eq!(
            (start, c),
            (7, vec!["channel".to_string(), "channel_group".to_string()])
        );
        // Through an alias, and a table prefix.
        let line = "SELECT s.camp FROM sessions s";
        let (start, c) = catalog().complete(line, "SELECT s.camp".len());
        assert_eq!((start, c), (9, vec!["campaign".to_string()]));
        assert_eq!(complete("SELECT clients.cur"), ["currency"]);
        // Columns win over tables that share the prefix.
        assert_eq!(
            complete("SELECT * FROM sessions WHERE sess"),
            ["session_start"]
        );
    }

    #[test]
    fn keywords_keep_the_case_typed_and_functions_complete() {
        assert_eq!(complete("SEL"), ["SELECT"]);
        assert_eq!(complete("sel"), ["select"]);
        assert_eq!(complete("SELECT channel_g"), ["channel_group"]);
    }

    #[test]
    fn meta_commands_complete_at_the_start() {
        assert_eq!(complete("\\ti"), ["\\timing"]);
        assert!(complete("\\d").contains(&"\\df".to_string()));
        assert_eq!(complete(".tab"), [".tables"]);
    }
}
