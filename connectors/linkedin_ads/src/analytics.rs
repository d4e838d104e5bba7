//! The adAnalytics and adCampaigns response shapes, and their raw tables.

use loopql_connector_sdk::arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
};
use loopql_connector_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::json::{Element as Item, FlexF64, FlexI64, documents, elements};
use loopql_connector_sdk::{ConnectorError, files};
use serde::Deserialize;
use std::path::Path;
use std::sync::{Arc, LazyLock};

pub static ANALYTICS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("date", DataType::Date32, false),
        Field::new("date_end", DataType::Date32, false),
        Field::new("pivot_value", DataType::Utf8, false),
        Field::new("campaign_id", DataType::Utf8, true),
        Field::new("impressions", DataType::Int64, false),
        Field::new("clicks", DataType::Int64, false),
        Field::new("cost_in_local_currency", DataType::Float64, false),
        Field::new("cost_in_usd", DataType::Float64, true),
        Field::new("external_website_conversions", DataType::Float64, false),
        Field::new(
            "conversion_value_in_local_currency",
            DataType::Float64,
            false,
        ),
        Field::new("one_click_leads", DataType::Int64, false),
        Field::new("currency", DataType::Utf8, false),
    ]))
});

pub static CAMPAIGNS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("campaign_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("account_id", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, true),
    ]))
});

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
struct Page<'a, T> {
    #[serde(borrow)]
    elements: Vec<Item<'a, T>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Element {
    pivot_values: Vec<String>,
    date_range: DateRange,
    #[serde(default)]
    impressions: FlexI64,
    #[serde(default)]
    clicks: FlexI64,
    #[serde(default)]
    cost_in_local_currency: FlexF64,
    #[serde(default)]
    cost_in_usd: Option<FlexF64>,
    #[serde(default)]
    external_website_conversions: FlexF64,
    #[serde(default)]
    conversion_value_in_local_currency: FlexF64,
    #[serde(default)]
    one_click_leads: FlexI64,
}

#[derive(Deserialize)]
struct DateRange {
    start: Ymd,
    #[serde(default)]
    end: Option<Ymd>,
}

/// A `{year, month, day}` object, checked while parsing (so a bad one is located).
#[derive(Deserialize, Clone, Copy)]
#[serde(try_from = "RawYmd")]
struct Ymd(i32);

#[derive(Deserialize)]
struct RawYmd {
    year: i32,
    month: u32,
    day: u32,
}

impl TryFrom<RawYmd> for Ymd {
    type Error = String;
    fn try_from(r: RawYmd) -> Result<Self, String> {
        chrono_days(r.year, r.month, r.day)
            .map(Ymd)
            .ok_or_else(|| format!("dateRange {}-{}-{} is not a date", r.year, r.month, r.day))
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), or None if it does not exist.
fn chrono_days(y: i32, m: u32, d: u32) -> Option<i32> {
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_len = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][(m - 1) as usize];
    if d > month_len {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[derive(Deserialize)]
struct Campaign {
    id: FlexI64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// The id at the end of a URN (`urn:li:sponsoredCampaign:123` -> `123`) when it has `kind`.
fn urn_id<'a>(urn: &'a str, kind: &str) -> Option<&'a str> {
    urn.strip_prefix("urn:li:")?
        .strip_prefix(kind)?
        .strip_prefix(':')
}

/// The adAnalytics rows of one file; a bad row fails the read with its location, or is skipped
/// and counted when `skip`.
pub fn analytics(path: &Path, currency: &str, skip: bool) -> Result<RecordBatch, ConnectorError> {
    let text = files::read_to_string(path)?;
    analytics_text(path, &text, currency, skip)
}

/// The adAnalytics rows of response `text` (a file's, or a live API page's named by `path`).
pub fn analytics_text(
    path: &Path,
    text: &str,
    currency: &str,
    skip: bool,
) -> Result<RecordBatch, ConnectorError> {
    let context = "reading adAnalytics responses: {\"elements\": [...]}";
    let pages: Vec<Page<Element>> = documents(path, text, context)?;
    let rows = elements(
        path,
        text,
        pages.into_iter().flat_map(|p| p.elements),
        context,
        skip,
    )?;
    let mut date = Date32Builder::new();
    let mut end = Date32Builder::new();
    let mut pivot = StringBuilder::new();
    let mut campaign = StringBuilder::new();
    let mut ints: Vec<Int64Builder> = (0..3).map(|_| Int64Builder::new()).collect();
    let mut floats: Vec<Float64Builder> = (0..4).map(|_| Float64Builder::new()).collect();
    let mut cur = StringBuilder::new();
    for e in rows {
        let start = e.date_range.start.0;
        let stop = e.date_range.end.map_or(start, |d| d.0);
        let urn = e.pivot_values.first().cloned().unwrap_or_default();
        date.append_value(start);
        end.append_value(stop);
        campaign.append_option(urn_id(&urn, "sponsoredCampaign"));
        pivot.append_value(urn);
        ints[0].append_value(e.impressions.0);
        ints[1].append_value(e.clicks.0);
        ints[2].append_value(e.one_click_leads.0);
        floats[0].append_value(e.cost_in_local_currency.0);
        floats[1].append_option(e.cost_in_usd.map(|v| v.0));
        floats[2].append_value(e.external_website_conversions.0);
        floats[3].append_value(e.conversion_value_in_local_currency.0);
        cur.append_value(currency);
    }
    let [mut impressions, mut clicks, mut leads] = <[Int64Builder; 3]>::try_from(ints)
        .map_err(|_| ConnectorError::Other("builders".into()))?;
    let [mut local, mut usd, mut conversions, mut value] = <[Float64Builder; 4]>::try_from(floats)
        .map_err(|_| ConnectorError::Other("builders".into()))?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(date.finish()),
        Arc::new(end.finish()),
        Arc::new(pivot.finish()),
        Arc::new(campaign.finish()),
        Arc::new(impressions.finish()),
        Arc::new(clicks.finish()),
        Arc::new(local.finish()),
        Arc::new(usd.finish()),
        Arc::new(conversions.finish()),
        Arc::new(value.finish()),
        Arc::new(leads.finish()),
        Arc::new(cur.finish()),
    ];
    RecordBatch::try_new(ANALYTICS_SCHEMA.clone(), columns)
        .map_err(|e| ConnectorError::Other(e.to_string()))
}

pub fn campaigns(path: &Path, skip: bool) -> Result<RecordBatch, ConnectorError> {
    let text = files::read_to_string(path)?;
    campaigns_text(path, &text, skip)
}

/// The campaigns of adCampaigns response `text`.
pub fn campaigns_text(path: &Path, text: &str, skip: bool) -> Result<RecordBatch, ConnectorError> {
    let context = "reading adCampaigns responses: {\"elements\": [...]}";
    let pages: Vec<Page<Campaign>> = documents(path, text, context)?;
    let rows = elements(
        path,
        text,
        pages.into_iter().flat_map(|p| p.elements),
        context,
        skip,
    )?;
    let mut id = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut account = StringBuilder::new();
    let mut status = StringBuilder::new();
    for c in rows {
        id.append_value(c.id.0.to_string());
        name.append_option(c.name.as_deref());
        account.append_option(
            c.account
                .as_deref()
                .and_then(|u| urn_id(u, "sponsoredAccount")),
        );
        status.append_option(c.status.as_deref());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(name.finish()),
        Arc::new(account.finish()),
        Arc::new(status.finish()),
    ];
    RecordBatch::try_new(CAMPAIGNS_SCHEMA.clone(), columns)
        .map_err(|e| ConnectorError::Other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::arrow::array::{Array, Date32Array, Float64Array, StringArray};

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(chrono_days(1970, 1, 1), Some(0));
        assert_eq!(chrono_days(2024, 3, 1), Some(19783));
        assert_eq!(chrono_days(2000, 2, 29), Some(11016));
        assert_eq!(chrono_days(2023, 2, 29), None);
    }

    #[test]
    fn reads_elements_with_urns_and_string_costs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        std::fs::write(
            &path,
            r#"{"paging":{"start":0,"count":10,"links":[]},"elements":[
              {"pivotValues":["urn:li:sponsoredCampaign:555"],"dateRange":{"start":{"year":2024,"month":1,"day":2},"end":{"year":2024,"month":1,"day":2}},
               "impressions":900,"clicks":12,"costInLocalCurrency":"33.3","costInUsd":"36.1","externalWebsiteConversions":2,"conversionValueInLocalCurrency":"120","oneClickLeads":1}]}"#,
        )
        .unwrap();
        let b = analytics(&path, "EUR", false).unwrap();
        let date = b.column(0).as_any().downcast_ref::<Date32Array>().unwrap();
        assert_eq!(date.value(0), 19724);
        let campaign = b.column(3).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(campaign.value(0), "555");
        let cost = b.column(6).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(cost.value(0), 33.3);
        assert_eq!(
            b.column(11)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "EUR"
        );
        assert!(!b.column(7).is_null(0));
    }

    #[test]
    fn an_impossible_date_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        std::fs::write(&path, r#"{"elements":[{"pivotValues":["urn:li:sponsoredCampaign:1"],"dateRange":{"start":{"year":2024,"month":2,"day":30}}}]}"#).unwrap();
        let err = analytics(&path, "USD", false).unwrap_err().to_string();
        assert!(err.contains("dateRange 2024-2-30 is not a date"), "{err}");
        assert!(err.contains("a.json:1:"), "{err}");
    }

    #[test]
    fn a_bad_element_is_skipped_and_counted_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        let good = r#"{"pivotValues":["urn:li:sponsoredCampaign:1"],"dateRange":{"start":{"year":2024,"month":2,"day":3}},"impressions":5}"#;
        let bad = r#"{"pivotValues":["urn:li:sponsoredCampaign:2"],"dateRange":{"start":{"year":2024,"month":2,"day":30}}}"#;
        std::fs::write(
            &path,
            format!("{{\"elements\":[\n{good},\n{bad},\n{good}]}}"),
        )
        .unwrap();
        let _ = loopql_connector_sdk::diagnostics::take();
        assert!(analytics(&path, "USD", false).is_err());
        let b = analytics(&path, "USD", true).unwrap();
        assert_eq!(b.num_rows(), 2);
        let skipped = loopql_connector_sdk::diagnostics::take();
        assert_eq!(skipped.skipped_rows, 1);
        assert!(skipped.examples[0].contains("a.json:3:"), "{skipped:?}");
    }
}
