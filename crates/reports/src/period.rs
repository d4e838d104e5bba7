//! A report's period (from its date parameters) and the previous period of the same length.

use super::header::PeriodSpec;
use super::params::{Typed, Value};
use chrono::{Datelike, Months, NaiveDate};

/// Inclusive dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} – {}", self.start, self.end)
    }
}

fn date(values: &[Value], name: &str) -> Option<NaiveDate> {
    values.iter().find(|v| v.name == name).and_then(Value::date)
}

fn month_of(d: NaiveDate) -> Option<Period> {
    let start = d.with_day(1)?;
    let end = start.checked_add_months(Months::new(1))?.pred_opt()?;
    Some(Period { start, end })
}

/// The period the values select; `None` when a bounding parameter has no value.
pub fn current(spec: &PeriodSpec, values: &[Value]) -> Option<Period> {
    if let Some(m) = &spec.month {
        return month_of(date(values, m)?);
    }
    let start = date(values, spec.start.as_deref()?)?;
    let end = date(values, spec.end.as_deref()?)?;
    Some(Period { start, end })
}

/// The values selecting the previous period: the month before, or the same number of days just
/// before `start`.
pub fn previous(spec: &PeriodSpec, values: &[Value]) -> Option<Vec<Value>> {
    let now = current(spec, values)?;
    let mut out = values.to_vec();
    let set = |out: &mut Vec<Value>, name: &str, d: NaiveDate| {
        if let Some(v) = out.iter_mut().find(|v| v.name == name) {
            v.value = Some(Typed::Date(d));
        }
    };
    if let Some(m) = &spec.month {
        let d = date(values, m)?.checked_sub_months(Months::new(1))?;
        set(&mut out, m, d);
    } else {
        let len = (now.end - now.start).num_days() + 1;
        set(
            &mut out,
            spec.start.as_deref()?,
            now.start - chrono::Duration::days(len),
        );
        set(&mut out, spec.end.as_deref()?, now.start.pred_opt()?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::ParamKind;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn v(name: &str, s: &str) -> Value {
        Value {
            name: name.into(),
            kind: ParamKind::Date,
            value: Some(Typed::Date(d(s))),
        }
    }

    #[test]
    fn months_and_spans() {
        let spec = PeriodSpec {
            month: Some("m".into()),
            start: None,
            end: None,
        };
        let values = [v("m", "2024-03-15")];
        assert_eq!(
            current(&spec, &values),
            Some(Period {
                start: d("2024-03-01"),
                end: d("2024-03-31")
            })
        );
        let prev = previous(&spec, &values).unwrap();
        assert_eq!(
            current(&spec, &prev),
            Some(Period {
                start: d("2024-02-01"),
                end: d("2024-02-29")
            })
        );
        let spec = PeriodSpec {
            month: None,
            start: Some("s".into()),
            end: Some("e".into()),
        };
        let values = [v("s", "2024-03-08"), v("e", "2024-03-14")];
        let prev = previous(&spec, &values).unwrap();
        assert_eq!(prev[0].date(), Some(d("2024-03-01")));
        assert_eq!(prev[1].date(), Some(d("2024-03-07")));
    }
}
