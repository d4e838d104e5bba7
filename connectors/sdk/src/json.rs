//! Helpers for JSON API responses: numbers that arrive as strings (Meta, Google Ads REST, ...),
//! and serde_json errors turned into located connector errors.

use crate::ConnectorError;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
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
pub fn documents<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
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
}
