//! Cutting shell input into units: SQL statements (ended by `;` outside quotes and comments) and
//! meta-commands (a line starting with `\` or a DuckDB-style `.`, at the start of a statement).

/// One unit of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    Sql(String),
    Meta(String),
}

/// Scanner state across characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Single,
    Double,
    LineComment,
    BlockComment,
}

/// Splits `text` into complete units, and returns the unfinished rest (a statement without its
/// `;` yet), trimmed.
pub fn split(text: &str) -> (Vec<Unit>, String) {
    let mut units = Vec::new();
    let mut current = String::new();
    let mut state = State::Code;
    for line in text.split_inclusive('\n') {
        if state == State::Code && only_comments(&current) {
            let t = line.trim();
            if t.starts_with('\\') || (t.starts_with('.') && t.len() > 1) {
                units.push(Unit::Meta(t.trim_end_matches(';').trim().to_string()));
                current.clear();
                continue;
            }
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match state {
                State::Code => match c {
                    '\'' => state = State::Single,
                    '"' => state = State::Double,
                    '-' if next == Some('-') => state = State::LineComment,
                    '/' if next == Some('*') => {
                        state = State::BlockComment;
                        current.push(c);
                        i += 1;
                        current.push('*');
                        i += 1;
                        continue;
                    }
                    ';' => {
                        let sql = current.trim().to_string();
                        if !sql.is_empty() {
                            units.push(Unit::Sql(sql));
                        }
                        current.clear();
                        i += 1;
                        continue;
                    }
                    _ => {}
                },
                State::Single if c == '\'' => state = State::Code,
                State::Double if c == '"' => state = State::Code,
                State::LineComment if c == '\n' => state = State::Code,
                State::BlockComment if c == '*' && next == Some('/') => {
                    current.push_str("*/");
                    state = State::Code;
                    i += 2;
                    continue;
                }
                _ => {}
            }
            current.push(c);
            i += 1;
        }
        if state == State::LineComment {
            state = State::Code;
        }
    }
    let rest = current.trim();
    // A rest made only of comments is nothing left to run.
    (
        units,
        if only_comments(rest) {
            String::new()
        } else {
            rest.to_string()
        },
    )
}

/// Whether `text` holds nothing but blanks and `--` comments.
fn only_comments(text: &str) -> bool {
    text.lines()
        .all(|l| l.trim().is_empty() || l.trim().starts_with("--"))
}

/// Every unit of `text`, a last statement without its `;` included (scripts and `-c` need no
/// final `;`).
pub fn all(text: &str) -> Vec<Unit> {
    let (mut units, rest) = split(text);
    if !rest.is_empty() {
        units.push(Unit::Sql(rest));
    }
    units
}

/// Whether `text` holds no unfinished statement (what the line editor uses to decide whether
/// Enter submits or continues on a new line).
pub fn is_complete(text: &str) -> bool {
    split(text).1.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(s: &str) -> Unit {
        Unit::Sql(s.into())
    }

    #[test]
    fn semicolons_inside_quotes_and_comments_do_not_end_statements() {
        let (units, rest) =
            split("SELECT ';' AS a, \"x;y\" FROM t; -- done; really\nSELECT 2 /* ; */;\nSELECT 3");
        assert_eq!(
            units,
            vec![
                sql("SELECT ';' AS a, \"x;y\" FROM t"),
                sql("-- done; really\nSELECT 2 /* ; */")
            ]
        );
        assert_eq!(rest, "SELECT 3");
    }

    #[test]
    fn meta_commands_are_lines_of_their_own() {
        let (units, rest) = split("\\d\nSELECT 1\n;\n.tables\n\\pset format csv\n");
        assert_eq!(
            units,
            vec![
                Unit::Meta("\\d".into()),
                sql("SELECT 1"),
                Unit::Meta(".tables".into()),
                Unit::Meta("\\pset format csv".into())
            ]
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn a_comment_before_a_meta_command() {
        let (units, rest) = split("-- report\n\\pset format csv\nSELECT 1;");
        assert_eq!(
            units,
            vec![Unit::Meta("\\pset format csv".into()), sql("SELECT 1")]
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn a_backslash_inside_a_statement_is_sql() {
        let (units, rest) = split("SELECT\n'\\d'\n");
        assert!(units.is_empty());
        assert_eq!(rest, "SELECT\n'\\d'");
    }

    #[test]
    fn completeness_for_the_line_editor() {
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';"));
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("\\d"));
        assert!(is_complete(""));
        assert!(is_complete("-- just a comment"));
        assert!(!is_complete("SELECT 1; SELECT"));
    }
}
