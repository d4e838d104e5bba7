//! The days a live connector asks its API for: the narrowest range the query's filters on the
//! table's date column allow (a one-week query never pulls a full history; a sync passes its
//! restatement window the same way), else the source's `since` / `until` options, else the last
//! `default_days` up to today. For records read by modification time (an incremental sync),
//! the time the filters on the modification column start from ([`since_micros`]), and the
//! `incremental` option that asks for such reads.

use crate::{ConnectorError, FilterOp, Scalar, ScanRequest};
use chrono::{Duration, NaiveDate, Utc};

/// The latest time (µs since the epoch) the `>=`, `>` or `=` filters on timestamp `column`
/// start from: an incremental sync's "modified since".
pub fn since_micros(request: &ScanRequest, column: &str) -> Option<i64> {
    request
        .filters_on(column)
        .filter(|f| matches!(f.op, FilterOp::GtEq | FilterOp::Gt | FilterOp::Eq))
        .filter_map(|f| match &f.value {
            Scalar::TimestampMicros(v) => Some(*v),
            Scalar::Date(d) => Some(i64::from(crate::text::parse_date(d)?) * 86_400_000_000),
            Scalar::Utf8(s) => crate::text::parse_timestamp(s),
            _ => None,
        })
        .max()
}

/// Whether the source set `incremental = true`; an error when it reads exports (`api`: false),
/// which are read whole.
pub fn incremental(request: &ScanRequest, api: bool) -> Result<bool, ConnectorError> {
    let asked = request
        .options
        .get(crate::INCREMENTAL_OPTION)
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if asked && !api {
        return Err(ConnectorError::InvalidOption {
            name: crate::INCREMENTAL_OPTION.into(),
            message: "incremental reads ask the live API for the records modified since a time; \
                      set mode = \"api\", or remove incremental (an export is read whole)"
                .into(),
        });
    }
    Ok(asked)
}

/// The narrowest `[since, until]` the filters on `column` allow, each end if they bound it.
pub fn from_filters(request: &ScanRequest, column: &str) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let (mut since, mut until): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    for f in request.filters_on(column) {
        let Scalar::Date(s) = &f.value else { continue };
        let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") else {
            continue;
        };
        let (lo, hi) = match f.op {
            FilterOp::Eq => (Some(d), Some(d)),
            FilterOp::GtEq => (Some(d), None),
            FilterOp::Gt => (Some(d + Duration::days(1)), None),
            FilterOp::LtEq => (None, Some(d)),
            FilterOp::Lt => (None, Some(d - Duration::days(1))),
            FilterOp::NotEq => (None, None),
        };
        since = since.max(lo).or(lo);
        until = match (until, hi) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    (since, until)
}

fn day(s: &str, option: &str) -> Result<NaiveDate, ConnectorError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| ConnectorError::InvalidOption {
        name: option.into(),
        message: format!("expected a date YYYY-MM-DD, found `{s}`"),
    })
}

/// The first and last day to ask for (see the module).
pub fn days(
    request: &ScanRequest,
    column: &str,
    default_days: i64,
) -> Result<(NaiveDate, NaiveDate), ConnectorError> {
    let (filter_since, filter_until) = from_filters(request, column);
    let today = Utc::now().date_naive();
    let since = match (filter_since, request.option_str("since")) {
        (Some(d), _) => d,
        (None, Some(s)) => day(s, "since")?,
        (None, None) => today - Duration::days(default_days),
    };
    let until = match (filter_until, request.option_str("until")) {
        (Some(d), _) => d,
        (None, Some(s)) => day(s, "until")?,
        (None, None) => today,
    };
    Ok((since, until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incremental_read_starts_from_the_latest_lower_bound_and_needs_the_api() {
        let mut request = ScanRequest::new("t").with_option("incremental", true);
        request.filters = vec![
            crate::Filter {
                column: "m".into(),
                op: FilterOp::GtEq,
                value: Scalar::TimestampMicros(5_000_000),
            },
            crate::Filter {
                column: "m".into(),
                op: FilterOp::Gt,
                value: Scalar::Date("1970-01-02".into()),
            },
            crate::Filter {
                column: "m".into(),
                op: FilterOp::Lt,
                value: Scalar::TimestampMicros(999_999_999_999),
            },
        ];
        assert_eq!(since_micros(&request, "m"), Some(86_400_000_000));
        assert_eq!(since_micros(&request, "other"), None);
        assert!(incremental(&request, true).unwrap());
        let err = incremental(&request, false).unwrap_err().to_string();
        assert!(err.contains("incremental reads ask the live API"), "{err}");
        assert!(!incremental(&ScanRequest::new("t"), false).unwrap());
    }
    use crate::Filter;

    fn f(op: FilterOp, d: &str) -> Filter {
        Filter {
            column: "date_start".into(),
            op,
            value: Scalar::Date(d.into()),
        }
    }

    fn request(filters: Vec<Filter>) -> ScanRequest {
        let mut r = ScanRequest::new("t");
        r.filters = filters;
        r
    }

    #[test]
    fn the_querys_date_range_becomes_the_time_range() {
        let r = request(vec![
            f(FilterOp::GtEq, "2024-01-01"),
            f(FilterOp::Lt, "2024-02-01"),
            f(FilterOp::GtEq, "2024-01-05"),
        ]);
        let (since, until) = from_filters(&r, "date_start");
        assert_eq!(since, NaiveDate::from_ymd_opt(2024, 1, 5));
        assert_eq!(until, NaiveDate::from_ymd_opt(2024, 1, 31));
        assert_eq!(from_filters(&request(vec![]), "date_start"), (None, None));
        assert_eq!(from_filters(&r, "other"), (None, None));
    }

    #[test]
    fn options_fill_what_the_filters_leave_open() {
        let r = request(vec![f(FilterOp::GtEq, "2024-03-01")])
            .with_option("since", "2023-01-01")
            .with_option("until", "2024-03-31");
        let (since, until) = days(&r, "date_start", 30).unwrap();
        assert_eq!(since, NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());
        assert_eq!(until, NaiveDate::from_ymd_opt(2024, 3, 31).unwrap());
        let (since, until) = days(&request(vec![]), "date_start", 30).unwrap();
        assert_eq!(until - since, Duration::days(30));
        let bad = request(vec![]).with_option("since", "March");
        let err = days(&bad, "date_start", 30).unwrap_err().to_string();
        assert!(
            err.contains("option `since`: expected a date YYYY-MM-DD, found `March`"),
            "{err}"
        );
    }
}
