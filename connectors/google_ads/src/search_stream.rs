//! Files holding a `googleAds:searchStream` REST response: a JSON array of batches, each with
//! `results[]` of `{customer, campaign, metrics, segments}` objects in the API's camelCase JSON
//! mapping, int64 values as strings and zero metrics omitted. A single `search` response object
//! (`{"results": [...]}`) is read too.

use crate::rows::{CampaignRow, parse_date};
use loopql_connector_sdk::json::{Element, FlexI64 as Int64, elements, located};
use loopql_connector_sdk::{ConnectorError, files};
use serde::Deserialize;
use serde::de::{self, Deserializer};
use std::path::Path;

#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(default, borrow)]
    results: Vec<Element<'a, ApiRow>>,
}

#[derive(Deserialize)]
struct ApiRow {
    customer: Customer,
    campaign: Campaign,
    #[serde(default)]
    metrics: Metrics,
    segments: Segments,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Customer {
    id: Int64,
    currency_code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Campaign {
    id: Int64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    advertising_channel_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Metrics {
    impressions: Int64,
    clicks: Int64,
    cost_micros: Int64,
    conversions: f64,
    conversions_value: f64,
}

#[derive(Deserialize)]
struct Segments {
    date: Date,
}

/// A `YYYY-MM-DD` date, as days since the epoch.
struct Date(i32);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_date(&s)
            .map(Date)
            .ok_or_else(|| de::Error::invalid_value(de::Unexpected::Str(&s), &"a date YYYY-MM-DD"))
    }
}

/// The campaign rows of one response file; a bad row fails the read with its location, or is
/// skipped and counted when `skip`.
pub fn read(path: &Path, skip: bool) -> Result<Vec<CampaignRow>, ConnectorError> {
    let text = files::read_to_string(path)?;
    parse(path, &text, "reading a searchStream response", skip)
}

/// The campaign rows of one searchStream response `text`; errors name `path` (a file, or the
/// live call that answered) with the line and column, and `context`.
pub fn parse(
    path: &Path,
    text: &str,
    context: &str,
    skip: bool,
) -> Result<Vec<CampaignRow>, ConnectorError> {
    let malformed = |e: serde_json::Error| located(path, &e, 0, context);
    let batches: Vec<Batch> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(malformed)?
    } else {
        vec![serde_json::from_str(text).map_err(malformed)?]
    };
    let mut rows = Vec::new();
    let results = batches.into_iter().flat_map(|b| b.results);
    for r in elements(path, text, results, context, skip)? {
        rows.push(CampaignRow {
            date: r.segments.date.0,
            customer_id: r.customer.id.0,
            currency: r.customer.currency_code.to_ascii_uppercase(),
            campaign_id: r.campaign.id.0,
            campaign_name: r.campaign.name,
            channel_type: r.campaign.advertising_channel_type,
            impressions: r.metrics.impressions.0,
            clicks: r.metrics.clicks.0,
            cost_micros: r.metrics.cost_micros.0,
            conversions: r.metrics.conversions,
            conversions_value: r.metrics.conversions_value,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stream.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_stream_batches_with_omitted_zero_metrics() {
        let (_d, path) = write(
            r#"[{"results":[{"customer":{"resourceName":"customers/1","id":"1","currencyCode":"EUR"},
                "campaign":{"resourceName":"customers/1/campaigns/7","id":"7","name":"Brand"},
                "metrics":{"impressions":"10","clicks":"2","costMicros":"1500000","conversions":1.0,"conversionsValue":12.5},
                "segments":{"date":"2024-05-01"}},
               {"customer":{"id":"1","currencyCode":"EUR"},"campaign":{"id":"7"},"segments":{"date":"2024-05-02"}}],
               "fieldMask":"segments.date,customer.id","requestId":"x"}]"#,
        );
        let rows = read(&path, false).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cost_micros, 1_500_000);
        assert_eq!(rows[0].conversions_value, 12.5);
        assert_eq!(rows[1].impressions, 0);
        assert_eq!(rows[1].campaign_name, None);
    }

    #[test]
    fn bad_int64_names_line_column_value_and_type() {
        let (_d, path) = write(
            "[{\"results\":[\n{\"customer\":{\"id\":\"1\",\"currencyCode\":\"EUR\"},\"campaign\":{\"id\":\"7\"},\n\"metrics\":{\"clicks\":\"two\"},\"segments\":{\"date\":\"2024-05-02\"}}]}]",
        );
        let err = read(&path, false).unwrap_err().to_string();
        assert!(err.contains(&format!("{}:3:", path.display())), "{err}");
        assert!(err.contains("\"two\""), "{err}");
        assert!(
            err.contains("expected an integer (number or decimal string)"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_row_is_skipped_and_counted_when_asked() {
        let row = |clicks: &str| {
            format!(
                "{{\"customer\":{{\"id\":\"1\",\"currencyCode\":\"EUR\"}},\"campaign\":{{\"id\":\"7\"}},\"metrics\":{{\"clicks\":\"{clicks}\"}},\"segments\":{{\"date\":\"2024-05-02\"}}}}"
            )
        };
        let (_d, path) = write(&format!(
            "[{{\"results\":[\n{},\n{},\n{}]}}]",
            row("1"),
            row("two"),
            row("3")
        ));
        let _ = loopql_connector_sdk::diagnostics::take();
        let rows = read(&path, true).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.clicks).collect::<Vec<_>>(),
            vec![1, 3]
        );
        let skipped = loopql_connector_sdk::diagnostics::take();
        assert_eq!(skipped.skipped_rows, 1);
        assert!(
            skipped.examples[0].contains(&format!("{}:3:", path.display())),
            "{skipped:?}"
        );
    }
}
