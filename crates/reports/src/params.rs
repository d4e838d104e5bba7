//! Report parameters: text from the command line, a client override or the header, checked
//! against the declared type and `allowed` values, bound as typed `ScalarValue`s — never spliced
//! into SQL text.

use super::header::{ParamKind, ParamSpec};
use chrono::NaiveDate;
use datafusion::scalar::ScalarValue;

/// A parameter's value, typed; `None` when not given and not required.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub name: String,
    pub kind: ParamKind,
    pub value: Option<Typed>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    String(String),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
    Bool(bool),
}

impl std::fmt::Display for Typed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Typed::String(s) => f.write_str(s),
            Typed::Int(i) => write!(f, "{i}"),
            Typed::Float(x) => write!(f, "{x}"),
            Typed::Date(d) => write!(f, "{d}"),
            Typed::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Typed {
    pub fn scalar(&self) -> ScalarValue {
        match self {
            Typed::String(s) => ScalarValue::Utf8(Some(s.clone())),
            Typed::Int(i) => ScalarValue::Int64(Some(*i)),
            Typed::Float(x) => ScalarValue::Float64(Some(*x)),
            Typed::Date(d) => ScalarValue::Date32(Some(days(*d))),
            Typed::Bool(b) => ScalarValue::Boolean(Some(*b)),
        }
    }
}

impl Value {
    /// The value to bind: typed NULL when absent.
    pub fn scalar(&self) -> ScalarValue {
        match &self.value {
            Some(v) => v.scalar(),
            None => match self.kind {
                ParamKind::String => ScalarValue::Utf8(None),
                ParamKind::Int => ScalarValue::Int64(None),
                ParamKind::Float => ScalarValue::Float64(None),
                ParamKind::Date => ScalarValue::Date32(None),
                ParamKind::Bool => ScalarValue::Boolean(None),
            },
        }
    }

    pub fn date(&self) -> Option<NaiveDate> {
        match self.value {
            Some(Typed::Date(d)) => Some(d),
            _ => None,
        }
    }
}

pub fn days(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (d - epoch).num_days() as i32
}

/// Parses `text` as a value of `kind`; the error says what was expected.
pub fn parse(kind: ParamKind, text: &str) -> Result<Typed, String> {
    let t = text.trim();
    let bad = |what: &str| format!("expected {what}, found `{text}`");
    match kind {
        ParamKind::String => Ok(Typed::String(text.to_string())),
        ParamKind::Int => t.parse().map(Typed::Int).map_err(|_| bad("a whole number")),
        ParamKind::Float => t
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Typed::Float)
            .ok_or_else(|| bad("a number")),
        ParamKind::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Typed::Bool(true)),
            "false" | "no" | "off" | "0" => Ok(Typed::Bool(false)),
            _ => Err(bad("true or false")),
        },
        ParamKind::Date => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d"))
            .map(Typed::Date)
            .map_err(|_| bad("a date YYYY-MM-DD (or a month YYYY-MM)")),
    }
}

/// A TOML value (from a header or an override) as a value of `kind`.
pub fn from_toml(kind: ParamKind, v: &toml::Value) -> Result<Typed, String> {
    match (kind, v) {
        (_, toml::Value::String(s)) => parse(kind, s),
        (ParamKind::Int, toml::Value::Integer(i)) => Ok(Typed::Int(*i)),
        (ParamKind::Float, toml::Value::Integer(i)) => Ok(Typed::Float(*i as f64)),
        (ParamKind::Float, toml::Value::Float(x)) => Ok(Typed::Float(*x)),
        (ParamKind::Bool, toml::Value::Boolean(b)) => Ok(Typed::Bool(*b)),
        (ParamKind::Date, toml::Value::Datetime(d)) => parse(kind, &d.to_string()),
        (_, other) => Err(format!("expected a {kind}, found `{other}`")),
    }
}

/// Checks a value against the spec's `allowed` list.
pub fn check_allowed(spec: &ParamSpec, v: &Typed) -> Result<(), String> {
    let Some(allowed) = &spec.allowed else {
        return Ok(());
    };
    let mut shown = Vec::new();
    for a in allowed {
        let a = from_toml(spec.kind, a)?;
        if &a == v {
            return Ok(());
        }
        shown.push(a.to_string());
    }
    Err(format!(
        "`{v}` is not allowed; use one of: {}",
        shown.join(", ")
    ))
}

/// `k=v` from the command line.
pub fn split_assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("--param `{text}`: expected NAME=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_type() {
        assert_eq!(parse(ParamKind::Int, " 42 "), Ok(Typed::Int(42)));
        assert!(
            parse(ParamKind::Int, "4.2")
                .unwrap_err()
                .contains("whole number")
        );
        assert_eq!(parse(ParamKind::Float, "0.5"), Ok(Typed::Float(0.5)));
        assert!(parse(ParamKind::Float, "NaN").is_err());
        assert_eq!(parse(ParamKind::Bool, "yes"), Ok(Typed::Bool(true)));
        let d = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        assert_eq!(parse(ParamKind::Date, "2024-03-01"), Ok(Typed::Date(d)));
        assert_eq!(parse(ParamKind::Date, "2024-03"), Ok(Typed::Date(d)));
        assert!(parse(ParamKind::Date, "2024-03-01' OR 1=1 --").is_err());
        assert_eq!(
            parse(ParamKind::String, "'; DROP TABLE x; --"),
            Ok(Typed::String("'; DROP TABLE x; --".into()))
        );
        assert_eq!(days(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
    }

    #[test]
    fn allowed_values() {
        let spec = ParamSpec {
            name: "model".into(),
            kind: ParamKind::String,
            default: None,
            default_sql: None,
            required: false,
            allowed: Some(vec!["markov".into(), "linear".into()]),
            description: None,
        };
        assert!(check_allowed(&spec, &Typed::String("linear".into())).is_ok());
        let e = check_allowed(&spec, &Typed::String("x' OR 1=1".into())).unwrap_err();
        assert!(e.contains("markov, linear"), "{e}");
    }

    #[test]
    fn assignments() {
        assert_eq!(
            split_assignment("a=b=c"),
            Ok(("a".to_string(), "b=c".to_string()))
        );
        assert!(split_assignment("=x").is_err());
        assert!(split_assignment("x").is_err());
    }
}
