//! Helpers for JSON API responses: numbers that arrive as strings (Meta, Google Ads REST, ...),
//! and serde_json errors turned into located connector errors.

use crate::ConnectorError;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::value::RawValue;
use std::path::Path;

/// An i64 written as a JSON number or a decimal string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlexI64(pub i64);

/// An f64 written as a JSON number or a decimal string.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlexF64(pub f64);

impl<'de> Deserialize<'de> for FlexI64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexI64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer (number or decimal string)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexI64, E> {
                v.trim()
                    .parse()
                    .map(FlexI64)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlexI64, E> {
                Ok(FlexI64(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexI64, E> {
                i64::try_from(v)
                    .map(FlexI64)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for FlexF64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexF64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number (or a decimal string)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexF64, E> {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(FlexF64)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FlexF64, E> {
                Ok(FlexF64(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlexF64, E> {
                Ok(FlexF64(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexF64, E> {
                Ok(FlexF64(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// A live API's answer that is not JSON, located by its byte offset: `{label}, byte N: ...`.
pub fn not_json(label: &str, text: &str, e: &serde_json::Error) -> ConnectorError {
    let offset: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        + e.column().saturating_sub(1);
    ConnectorError::Other(format!(
        "{label}, byte {offset}: the answer is not valid JSON ({e}); try again, and report it if it persists"
    ))
}

/// A serde_json error as `file:line:column: message (context)`; `line_offset` shifts lines for
/// documents that start partway into a file (NDJSON).
pub fn located(
    path: &Path,
    e: &serde_json::Error,
    line_offset: u64,
    context: &str,
) -> ConnectorError {
    let message = e.to_string();
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    ConnectorError::Malformed {
        path: path.to_path_buf(),
        line: e.line() as u64 + line_offset,
        column: e.column() as u64,
        message: format!("{message} ({context})"),
    }
}

/// Parses a file holding one JSON document, a JSON array of documents, or one document per line
/// (NDJSON), into documents of type `T`, with located errors.
pub fn documents<'a, T: Deserialize<'a>>(
    path: &Path,
    text: &'a str,
    context: &str,
) -> Result<Vec<T>, ConnectorError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(text).map_err(|e| located(path, &e, 0, context));
    }
    // One document, or several separated by newlines (NDJSON).
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<T>();
    loop {
        match stream.next() {
            None => break,
            Some(Ok(doc)) => out.push(doc),
            Some(Err(e)) => return Err(located(path, &e, 0, context)),
        }
    }
    Ok(out)
}

/// One element of a response's list (`results`, `data`, `elements`), parsed on its own, so that
/// a bad element is reported at its place in the file and can be skipped when the source asks
/// (`on_bad_row = "skip"`) without losing its neighbours.
pub struct Element<'a, T> {
    raw: &'a RawValue,
    parsed: Result<T, serde_json::Error>,
}

impl<'de: 'a, 'a, T: DeserializeOwned> Deserialize<'de> for Element<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: &'de RawValue = Deserialize::deserialize(d)?;
        Ok(Element {
            raw,
            parsed: serde_json::from_str(raw.get()),
        })
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (u64, u64) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    (line, (before.len() - line_start) as u64 + 1)
}

/// The parsed elements, in order. A bad element fails the read with its location in `text`
/// (the file, or a response body named by `path`), or — when `skip` — is recorded as skipped
/// ([`crate::diagnostics::skipped`]) and left out.
pub fn elements<'a, T>(
    path: &Path,
    text: &'a str,
    items: impl IntoIterator<Item = Element<'a, T>>,
    context: &str,
    skip: bool,
) -> Result<Vec<T>, ConnectorError> {
    let mut out = Vec::new();
    for item in items {
        match item.parsed {
            Ok(v) => out.push(v),
            Err(e) => {
                let offset =
                    (item.raw.get().as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
                let (line, column) = line_column(text, offset);
                let (line, column) = if e.line() <= 1 {
                    (line, column + (e.column() as u64).saturating_sub(1))
                } else {
                    (line + e.line() as u64 - 1, e.column() as u64)
                };
                let mut error = located(path, &e, 0, context);
                if let ConnectorError::Malformed {
                    line: l, column: c, ..
                } = &mut error
                {
                    (*l, *c) = (line, column);
                }
                if !skip {
                    return Err(error);
                }
                crate::diagnostics::skipped(&error);
            }
        }
    }
    Ok(out)
}

/// A JSON value as a CSV cell: text as is, `null` empty, numbers and booleans as written.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Row {
        n: FlexI64,
        x: FlexF64,
    }

    #[test]
    fn numbers_as_strings_or_numbers() {
        let rows: Vec<Row> = documents(
            Path::new("f.json"),
            r#"[{"n":"12","x":"1.5"},{"n":3,"x":2}]"#,
            "test",
        )
        .unwrap();
        assert_eq!(
            (rows[0].n.0, rows[0].x.0, rows[1].n.0, rows[1].x.0),
            (12, 1.5, 3, 2.0)
        );
    }

    #[test]
    fn ndjson_errors_carry_the_line() {
        let err = documents::<Row>(
            Path::new("f.json"),
            "{\"n\":\"1\",\"x\":\"1\"}\n{\"n\":\"1x\",\"x\":\"1\"}\n",
            "test",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.starts_with("f.json:2:"), "{err}");
        assert!(
            err.contains("invalid value: string \"1x\", expected an integer"),
            "{err}"
        );
    }

    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        data: Vec<Element<'a, Row>>,
    }

    const PAGES: &str = "{\"data\": [\n  {\"n\": 1, \"x\": 1},\n  {\"n\": \"one\", \"x\": 2},\n  {\"n\": 3,\n   \"x\": []}\n]}\n";

    fn read(skip: bool) -> Result<Vec<Row>, ConnectorError> {
        let pages: Vec<Page> = documents(Path::new("p.json"), PAGES, "test").unwrap();
        let items = pages.into_iter().flat_map(|p| p.data);
        elements(Path::new("p.json"), PAGES, items, "test", skip)
    }

    #[test]
    fn a_bad_element_is_located_in_the_file() {
        let err = read(false).err().unwrap().to_string();
        // The element starts at line 3, column 3; the bad value `"one"` ends at column 13.
        assert!(err.starts_with("p.json:3:13: "), "{err}");
        assert!(err.contains("\"one\", expected an integer"), "{err}");
    }

    #[test]
    fn bad_elements_are_skipped_and_counted_when_asked() {
        let _ = crate::diagnostics::take();
        let rows = read(true).unwrap();
        assert_eq!(rows.iter().map(|r| r.n.0).collect::<Vec<_>>(), vec![1]);
        let skipped = crate::diagnostics::take();
        assert_eq!(skipped.skipped_rows, 2);
        assert!(
            skipped.examples[0].starts_with("p.json:3:13: "),
            "{skipped:?}"
        );
        // The second bad element spans two lines: its error is on the second.
        assert!(skipped.examples[1].starts_with("p.json:5:"), "{skipped:?}");
    }
}
