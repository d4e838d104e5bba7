//! Checks a statement's syntax before it is sent, with DataFusion's own SQL parser, and locates
//! the error: the line and column, and the line itself with a caret under the spot.

use datafusion::sql::parser::DFParser;
use datafusion::sql::sqlparser::dialect::GenericDialect;

/// A syntax error with its position (1-based), when the parser gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl SyntaxError {
    /// The message, the position, and the offending line with a caret.
    pub fn render(&self, sql: &str) -> String {
        let mut out = format!("syntax error: {}", self.message);
        if let (Some(line), Some(column)) = (self.line, self.column) {
            out.push_str(&format!(" (line {line}, column {column})"));
            if let Some(text) = sql.lines().nth(line.saturating_sub(1)) {
                out.push_str(&format!(
                    "\n  {text}\n  {}^",
                    " ".repeat(column.saturating_sub(1))
                ));
            }
        }
        out
    }
}

/// Parses `sql`; Ok when DataFusion's parser accepts it.
pub fn check(sql: &str) -> Result<(), SyntaxError> {
    match DFParser::parse_sql_with_dialect(sql, &GenericDialect {}) {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            let (line, column) = position(&text);
            let message = text
                .trim_start_matches("SQL error: ")
                .trim_start_matches("ParserError(\"")
                .trim_start_matches("sql parser error: ")
                .to_string();
            let message = match message.find(" at Line: ") {
                Some(i) => message[..i].to_string(),
                None => message,
            };
            Err(SyntaxError {
                message: message.trim_end_matches("\")").to_string(),
                line,
                column,
            })
        }
    }
}

/// `... at Line: 2, Column: 8` in sqlparser's messages.
fn position(text: &str) -> (Option<usize>, Option<usize>) {
    let Some(i) = text.rfind("Line: ") else {
        return (None, None);
    };
    let rest = &text[i + "Line: ".len()..];
    let line = rest
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok());
    let column = rest
        .find("Column: ")
        .map(|j| &rest[j + "Column: ".len()..])
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_sql_passes() {
        assert!(check("SELECT a, count(*) FROM t WHERE b = 'x;' GROUP BY a").is_ok());
        assert!(check("SET loopql.attribution.lookback_days = 14").is_ok());
    }

    #[test]
    fn errors_are_located_with_a_caret() {
        let sql = "SELECT a\nFROM t WHERE AND b";
        let err = check(sql).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.column.is_some(), "{err:?}");
        let text = err.render(sql);
        assert!(text.starts_with("syntax error: "), "{text}");
        assert!(text.contains("(line 2, column"), "{text}");
        assert!(text.contains("\n  FROM t WHERE AND b\n"), "{text}");
        assert!(text.ends_with('^'), "{text}");
    }

    #[test]
    fn a_misspelled_keyword_is_refused() {
        let err = check("SELEC 1").unwrap_err();
        assert!(err.message.contains("SELEC"), "{err:?}");
        assert_eq!(err.line, Some(1));
    }
}
