//! The Insights response shape and its two raw tables.

use loopql_connector_sdk::arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
};
use loopql_connector_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use loopql_connector_sdk::arrow::record_batch::RecordBatch;
use loopql_connector_sdk::csv_table::parse_date;
use loopql_connector_sdk::json::{Element, FlexF64, FlexI64, documents, elements};
use loopql_connector_sdk::{ConnectorError, files};
use serde::Deserialize;
use std::path::Path;
use std::sync::{Arc, LazyLock};

pub static INSIGHTS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("date_start", DataType::Date32, false),
        Field::new("date_stop", DataType::Date32, false),
        Field::new("account_id", DataType::Utf8, false),
        Field::new("account_currency", DataType::Utf8, true),
        Field::new("campaign_id", DataType::Utf8, true),
        Field::new("campaign_name", DataType::Utf8, true),
        Field::new("adset_id", DataType::Utf8, true),
        Field::new("ad_id", DataType::Utf8, true),
        Field::new("impressions", DataType::Int64, false),
        Field::new("clicks", DataType::Int64, false),
        Field::new("inline_link_clicks", DataType::Int64, true),
        Field::new("spend", DataType::Float64, false),
        Field::new("purchases", DataType::Float64, false),
        Field::new("purchase_value", DataType::Float64, false),
        Field::new("leads", DataType::Float64, false),
    ]))
});

pub static ACTIONS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("date_start", DataType::Date32, false),
        Field::new("account_id", DataType::Utf8, false),
        Field::new("campaign_id", DataType::Utf8, true),
        Field::new("adset_id", DataType::Utf8, true),
        Field::new("ad_id", DataType::Utf8, true),
        Field::new("kind", DataType::Utf8, false),
        Field::new("action_type", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("value_7d_click", DataType::Float64, true),
        Field::new("value_1d_view", DataType::Float64, true),
    ]))
});

/// One response page of the Insights API.
#[derive(Deserialize)]
pub struct Page<'a> {
    #[serde(borrow)]
    pub data: Vec<Element<'a, Row>>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

#[derive(Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub next: Option<String>,
}

pub const PAGE_CONTEXT: &str =
    "reading Meta Insights response pages: {\"data\": [...], \"paging\": {...}}";

#[derive(Deserialize)]
pub struct Row {
    account_id: String,
    #[serde(default)]
    account_currency: Option<String>,
    #[serde(default)]
    campaign_id: Option<String>,
    #[serde(default)]
    campaign_name: Option<String>,
    #[serde(default)]
    adset_id: Option<String>,
    #[serde(default)]
    ad_id: Option<String>,
    date_start: Date,
    date_stop: Date,
    #[serde(default)]
    impressions: FlexI64,
    #[serde(default)]
    clicks: FlexI64,
    #[serde(default)]
    inline_link_clicks: Option<FlexI64>,
    #[serde(default)]
    spend: FlexF64,
    #[serde(default)]
    actions: Vec<Action>,
    #[serde(default)]
    action_values: Vec<Action>,
}

#[derive(Deserialize)]
struct Action {
    action_type: String,
    value: FlexF64,
    #[serde(default, rename = "7d_click")]
    click_7d: Option<FlexF64>,
    #[serde(default, rename = "1d_view")]
    view_1d: Option<FlexF64>,
}

/// A `YYYY-MM-DD` date as days since the epoch.
struct Date(i32);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_date(&s).map(Date).ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(&s), &"a date YYYY-MM-DD")
        })
    }
}

/// The rows of every page in the file; a bad row fails the read with its location, or is
/// skipped and counted when `skip`.
pub fn read(path: &Path, skip: bool) -> Result<Vec<Row>, ConnectorError> {
    let text = files::read_to_string(path)?;
    let pages: Vec<Page> = documents(path, &text, PAGE_CONTEXT)?;
    let items = pages.into_iter().flat_map(|p| p.data);
    elements(path, &text, items, PAGE_CONTEXT, skip)
}

/// The value of the first action type of `priority` present in `actions`.
fn pick(actions: &[Action], priority: &[String]) -> f64 {
    priority
        .iter()
        .find_map(|t| actions.iter().find(|a| &a.action_type == t))
        .map(|a| a.value.0)
        .unwrap_or(0.0)
}

pub fn insights_batch(
    rows: &[Row],
    purchase: &[String],
    lead: &[String],
) -> Result<RecordBatch, ConnectorError> {
    let mut start = Date32Builder::new();
    let mut stop = Date32Builder::new();
    let mut text: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut ints: Vec<Int64Builder> = (0..3).map(|_| Int64Builder::new()).collect();
    let mut floats: Vec<Float64Builder> = (0..4).map(|_| Float64Builder::new()).collect();
    for r in rows {
        start.append_value(r.date_start.0);
        stop.append_value(r.date_stop.0);
        text[0].append_value(&r.account_id);
        text[1].append_option(r.account_currency.as_deref().map(str::to_ascii_uppercase));
        text[2].append_option(r.campaign_id.as_deref());
        text[3].append_option(r.campaign_name.as_deref());
        text[4].append_option(r.adset_id.as_deref());
        text[5].append_option(r.ad_id.as_deref());
        ints[0].append_value(r.impressions.0);
        ints[1].append_value(r.clicks.0);
        ints[2].append_option(r.inline_link_clicks.map(|v| v.0));
        floats[0].append_value(r.spend.0);
        floats[1].append_value(pick(&r.actions, purchase));
        floats[2].append_value(pick(&r.action_values, purchase));
        floats[3].append_value(pick(&r.actions, lead));
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(start.finish()), Arc::new(stop.finish())];
    columns.extend(text.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(ints.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(floats.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    RecordBatch::try_new(INSIGHTS_SCHEMA.clone(), columns)
        .map_err(|e| ConnectorError::Other(e.to_string()))
}

pub fn actions_batch(rows: &[Row]) -> Result<RecordBatch, ConnectorError> {
    let mut start = Date32Builder::new();
    let mut text: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut floats: Vec<Float64Builder> = (0..3).map(|_| Float64Builder::new()).collect();
    for r in rows {
        for (kind, list) in [("action", &r.actions), ("action_value", &r.action_values)] {
            for a in list {
                start.append_value(r.date_start.0);
                text[0].append_value(&r.account_id);
                text[1].append_option(r.campaign_id.as_deref());
                text[2].append_option(r.adset_id.as_deref());
                text[3].append_option(r.ad_id.as_deref());
                text[4].append_value(kind);
                text[5].append_value(&a.action_type);
                floats[0].append_value(a.value.0);
                floats[1].append_option(a.click_7d.map(|v| v.0));
                floats[2].append_option(a.view_1d.map(|v| v.0));
            }
        }
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(start.finish())];
    columns.extend(text.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(floats.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    RecordBatch::try_new(ACTIONS_SCHEMA.clone(), columns)
        .map_err(|e| ConnectorError::Other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::arrow::array::{Array, Float64Array, StringArray};

    pub const PAGE: &str = r#"{"data":[
 {"account_id":"1001","account_currency":"eur","campaign_id":"2301","campaign_name":"Prospecting","date_start":"2024-01-01","date_stop":"2024-01-01",
  "impressions":"5000","clicks":"120","inline_link_clicks":"90","spend":"45.67",
  "actions":[{"action_type":"link_click","value":"90"},{"action_type":"purchase","value":"3"},{"action_type":"omni_purchase","value":"3"},{"action_type":"offsite_conversion.fb_pixel_purchase","value":"3","7d_click":"2","1d_view":"1"},{"action_type":"lead","value":"4"}],
  "action_values":[{"action_type":"omni_purchase","value":"210.5"},{"action_type":"purchase","value":"210.5"}]},
 {"account_id":"1001","campaign_id":"2301","date_start":"2024-01-02","date_stop":"2024-01-02","impressions":"10","spend":"0.5"}
],"paging":{"cursors":{"before":"QVFI","after":"QVFJ"}}}"#;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn strs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_purchase_is_counted_once() {
        let (_d, path) = write(PAGE);
        let rows = read(&path, false).unwrap();
        let purchase = strs(&["omni_purchase", "purchase"]);
        let b = insights_batch(&rows, &purchase, &strs(&["lead"])).unwrap();
        let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let purchases = col("purchases");
        let purchases = purchases.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(purchases.values().as_ref(), [3.0, 0.0]);
        let value = col("purchase_value");
        assert_eq!(
            value
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .value(0),
            210.5
        );
        let leads = col("leads");
        assert_eq!(
            leads
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .value(0),
            4.0
        );
        let currency = col("account_currency");
        assert_eq!(
            currency
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "EUR"
        );
        assert!(col("inline_link_clicks").is_null(1));
    }

    #[test]
    fn actions_unnest_with_attribution_windows() {
        let (_d, path) = write(PAGE);
        let b = actions_batch(&read(&path, false).unwrap()).unwrap();
        assert_eq!(b.num_rows(), 7);
        let click = b.column(8).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(click.value(3), 2.0);
        assert!(click.is_null(0));
    }

    #[test]
    fn a_number_that_is_not_one_is_located() {
        let (_d, path) = write(&PAGE.replace("\"45.67\"", "\"45,67\""));
        let err = read(&path, false).err().unwrap().to_string();
        assert!(err.contains("page.json:3:"), "{err}");
        assert!(
            err.contains("invalid value: string \"45,67\", expected a number"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_row_is_skipped_and_counted_when_asked() {
        let (_d, path) = write(&PAGE.replace("\"45.67\"", "\"45,67\""));
        let _ = loopql_connector_sdk::diagnostics::take();
        let all = read(&path, false).map_or(0, |r| r.len());
        assert_eq!(all, 0);
        let rows = read(&path, true).unwrap();
        let skipped = loopql_connector_sdk::diagnostics::take();
        assert_eq!(skipped.skipped_rows, 1);
        assert!(skipped.examples[0].contains("page.json:3:"), "{skipped:?}");
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r.spend.0 != 45.67));
    }

    #[test]
    fn wrong_shape_says_what_was_expected() {
        let (_d, path) = write(r#"{"results": []}"#);
        let err = read(&path, false).err().unwrap().to_string();
        assert!(err.contains("missing field `data`"), "{err}");
        assert!(err.contains("Meta Insights response pages"), "{err}");
    }
}
