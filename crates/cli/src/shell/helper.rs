//! The line editor's helper: completion from the catalog, SQL keywords in bold, and Enter that
//! submits only a complete statement (or a meta-command).

use super::complete::{Catalog, KEYWORDS};
use super::statements;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper, Hinter};
use std::borrow::Cow;
use std::sync::{Arc, RwLock};

#[derive(Helper, Hinter)]
pub struct ShellHelper {
    pub catalog: Arc<RwLock<Catalog>>,
    /// Colour keywords (off when the terminal is dumb or NO_COLOR is set).
    pub color: bool,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let catalog = self.catalog.read().map_err(|_| {
            rustyline::error::ReadlineError::Io(std::io::Error::other("catalog lock poisoned"))
        })?;
        let (start, candidates) = catalog.complete(line, pos);
        Ok((
            start,
            candidates
                .into_iter()
                .map(|c| Pair {
                    display: c.clone(),
                    replacement: c,
                })
                .collect(),
        ))
    }
}

/// `line` with SQL keywords in bold blue (outside quotes).
pub fn highlight_keywords(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let flush = |word: &mut String, out: &mut String| {
        if KEYWORDS.contains(&word.to_ascii_uppercase().as_str()) {
            out.push_str("\x1b[1;34m");
            out.push_str(word);
            out.push_str("\x1b[0m");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in line.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_ascii_alphanumeric() || c == '_' => word.push(c),
            None => {
                flush(&mut word, &mut out);
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(highlight_keywords(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if statements::is_complete(ctx.input()) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::complete::TableInfo;
    use rustyline::history::DefaultHistory;

    #[test]
    fn completes_through_rustyline() {
        let helper = ShellHelper {
            catalog: Arc::new(RwLock::new(Catalog {
                tables: vec![TableInfo {
                    schema: "public".into(),
                    name: "sessions".into(),
                    columns: vec!["channel".into()],
                }],
                functions: vec![],
            })),
            color: false,
        };
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (start, c) = helper.complete("SELECT * FROM ses", 17, &ctx).unwrap();
        assert_eq!((start, c[0].replacement.as_str()), (14, "sessions"));
    }

    #[test]
    fn keywords_are_bold_outside_quotes() {
        assert_eq!(
            highlight_keywords("select 'from' x"),
            "\x1b[1;34mselect\x1b[0m 'from' x"
        );
    }
}
