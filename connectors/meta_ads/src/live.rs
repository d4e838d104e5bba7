//! Turns a scan request into the live API's configuration: token from the environment, accounts
//! from the options, and the date range from the query's `date_start` filters when it has them.

use crate::api::ApiConfig;
use chrono::{Duration, NaiveDate, Utc};
use loopql_connector_sdk::{ConnectorError, FilterOp, Scalar, ScanRequest};

fn day(s: &str, option: &str) -> Result<NaiveDate, ConnectorError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| ConnectorError::InvalidOption {
        name: option.into(),
        message: format!("expected a date YYYY-MM-DD, found `{s}`"),
    })
}

/// The narrowest [since, until] the `date_start` filters allow, if they bound it.
pub fn range_from_filters(request: &ScanRequest) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let (mut since, mut until): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    for f in request.filters_on("date_start") {
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

pub fn config(request: &ScanRequest) -> Result<ApiConfig, ConnectorError> {
    let text = |name: &str, default: &str| request.option_str(name).unwrap_or(default).to_string();
    let token_env = text("token_env", "META_ACCESS_TOKEN");
    let token = std::env::var(&token_env).map_err(|_| ConnectorError::InvalidOption {
        name: "token_env".into(),
        message: format!("${token_env} is not set; export the Meta access token in it"),
    })?;
    let account_ids: Vec<String> = text("account_ids", "")
        .split(',')
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    if account_ids.is_empty() {
        return Err(ConnectorError::InvalidOption {
            name: "account_ids".into(),
            message: "name at least one ad account".into(),
        });
    }
    let (from_filters_since, from_filters_until) = range_from_filters(request);
    let today = Utc::now().date_naive();
    let since = match (from_filters_since, request.option_str("since")) {
        (Some(d), _) => d,
        (None, Some(s)) => day(s, "since")?,
        (None, None) => today - Duration::days(30),
    };
    let until = match (from_filters_until, request.option_str("until")) {
        (Some(d), _) => d,
        (None, Some(s)) => day(s, "until")?,
        (None, None) => today,
    };
    let level = text("level", "ad");
    if !matches!(level.as_str(), "account" | "campaign" | "adset" | "ad") {
        return Err(ConnectorError::InvalidOption {
            name: "level".into(),
            message: format!("expected account, campaign, adset or ad, found `{level}`"),
        });
    }
    Ok(ApiConfig {
        base_url: text("api_base_url", crate::DEFAULT_BASE_URL),
        account_ids,
        token,
        token_env,
        level,
        since: since.format("%Y-%m-%d").to_string(),
        until: until.format("%Y-%m-%d").to_string(),
        page_size: 500,
        max_attempts: 5,
        retry_base: std::time::Duration::from_millis(1000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::{Filter, OptionsMap};

    fn request(filters: Vec<Filter>) -> ScanRequest {
        ScanRequest {
            table: "insights".into(),
            options: OptionsMap::new(),
            projection: None,
            filters,
            limit: None,
        }
    }

    fn f(op: FilterOp, d: &str) -> Filter {
        Filter {
            column: "date_start".into(),
            op,
            value: Scalar::Date(d.into()),
        }
    }

    #[test]
    fn the_querys_date_range_becomes_the_time_range() {
        let r = request(vec![
            f(FilterOp::GtEq, "2024-01-01"),
            f(FilterOp::Lt, "2024-02-01"),
            f(FilterOp::GtEq, "2024-01-05"),
        ]);
        let (since, until) = range_from_filters(&r);
        assert_eq!(since, NaiveDate::from_ymd_opt(2024, 1, 5));
        assert_eq!(until, NaiveDate::from_ymd_opt(2024, 1, 31));
        assert_eq!(range_from_filters(&request(vec![])), (None, None));
    }
}
