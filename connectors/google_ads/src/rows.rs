//! One campaign-day row, the filters the connector applies while reading, and the reader that
//! turns files into record batches.

use crate::campaign_stats_schema;
use loopql_connector_sdk::arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
};
use loopql_connector_sdk::arrow::datatypes::SchemaRef;
use loopql_connector_sdk::arrow::error::ArrowError;
use loopql_connector_sdk::arrow::record_batch::{RecordBatch, RecordBatchReader};
use loopql_connector_sdk::{ConnectorError, Filter, FilterOp, Scalar};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const BATCH_ROWS: usize = 8192;

#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRow {
    /// Days since 1970-01-01.
    pub date: i32,
    pub customer_id: i64,
    pub currency: String,
    pub campaign_id: i64,
    pub campaign_name: Option<String>,
    pub channel_type: Option<String>,
    pub impressions: i64,
    pub clicks: i64,
    pub cost_micros: i64,
    pub conversions: f64,
    pub conversions_value: f64,
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(s: &str) -> Option<i32> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some(
        d.signed_duration_since(chrono::NaiveDate::default())
            .num_days() as i32,
    )
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Date,
    Customer,
    Campaign,
}

/// The pushed-down filters, checked per row (all declared exact in the manifest).
#[derive(Debug, Default)]
pub struct RowFilter {
    checks: Vec<(Target, FilterOp, i64)>,
}

impl RowFilter {
    pub fn new(filters: &[Filter]) -> Result<Self, ConnectorError> {
        let mut checks = Vec::new();
        for f in filters {
            let target = match f.column.as_str() {
                "segments_date" => Target::Date,
                "customer_id" => Target::Customer,
                "campaign_id" => Target::Campaign,
                other => {
                    return Err(ConnectorError::Other(format!(
                        "cannot filter on `{other}`: not declared in the manifest"
                    )));
                }
            };
            let value = match (target, &f.value) {
                (Target::Date, Scalar::Date(s)) => parse_date(s).map(i64::from),
                (Target::Customer | Target::Campaign, Scalar::Int64(v)) => Some(*v),
                _ => None,
            }
            .ok_or_else(|| {
                ConnectorError::Other(format!(
                    "filter on `{}` has a value of the wrong type: {:?}",
                    f.column, f.value
                ))
            })?;
            checks.push((target, f.op, value));
        }
        Ok(Self { checks })
    }

    pub fn accepts(&self, row: &CampaignRow) -> bool {
        self.checks.iter().all(|&(target, op, value)| {
            let actual = match target {
                Target::Date => i64::from(row.date),
                Target::Customer => row.customer_id,
                Target::Campaign => row.campaign_id,
            };
            op.holds(actual.cmp(&value))
        })
    }
}

type FileParser = Box<dyn Fn(&Path) -> Result<Vec<CampaignRow>, ConnectorError> + Send>;

/// Reads the files one at a time, keeps the rows the filters accept, and emits batches.
pub struct CampaignReader {
    files: VecDeque<PathBuf>,
    filter: RowFilter,
    remaining: Option<usize>,
    pending: VecDeque<CampaignRow>,
    parse: FileParser,
    failed: bool,
}

impl CampaignReader {
    pub fn new(
        files: Vec<PathBuf>,
        filter: RowFilter,
        limit: Option<usize>,
        parse: FileParser,
    ) -> Self {
        Self {
            files: files.into(),
            filter,
            remaining: limit,
            pending: VecDeque::new(),
            parse,
            failed: false,
        }
    }

    fn fill(&mut self) -> Result<(), ConnectorError> {
        while self.pending.len() < BATCH_ROWS && self.remaining != Some(0) {
            let Some(path) = self.files.pop_front() else {
                break;
            };
            for row in (self.parse)(&path)? {
                if self.remaining == Some(0) {
                    break;
                }
                if self.filter.accepts(&row) {
                    self.pending.push_back(row);
                    if let Some(r) = self.remaining.as_mut() {
                        *r -= 1;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Iterator for CampaignReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Err(e) = self.fill() {
            self.failed = true;
            return Some(Err(ArrowError::ExternalError(Box::new(e))));
        }
        if self.pending.is_empty() {
            return None;
        }
        let take = self.pending.len().min(BATCH_ROWS);
        let rows: Vec<CampaignRow> = self.pending.drain(..take).collect();
        Some(to_batch(&rows))
    }
}

impl RecordBatchReader for CampaignReader {
    fn schema(&self) -> SchemaRef {
        campaign_stats_schema()
    }
}

pub fn to_batch(rows: &[CampaignRow]) -> Result<RecordBatch, ArrowError> {
    let n = rows.len();
    let mut date = Date32Builder::with_capacity(n);
    let mut customer = Int64Builder::with_capacity(n);
    let mut currency = StringBuilder::new();
    let mut campaign = Int64Builder::with_capacity(n);
    let mut name = StringBuilder::new();
    let mut channel = StringBuilder::new();
    let mut impressions = Int64Builder::with_capacity(n);
    let mut clicks = Int64Builder::with_capacity(n);
    let mut cost = Int64Builder::with_capacity(n);
    let mut conversions = Float64Builder::with_capacity(n);
    let mut value = Float64Builder::with_capacity(n);
    for r in rows {
        date.append_value(r.date);
        customer.append_value(r.customer_id);
        currency.append_value(&r.currency);
        campaign.append_value(r.campaign_id);
        name.append_option(r.campaign_name.as_deref());
        channel.append_option(r.channel_type.as_deref());
        impressions.append_value(r.impressions);
        clicks.append_value(r.clicks);
        cost.append_value(r.cost_micros);
        conversions.append_value(r.conversions);
        value.append_value(r.conversions_value);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(date.finish()),
        Arc::new(customer.finish()),
        Arc::new(currency.finish()),
        Arc::new(campaign.finish()),
        Arc::new(name.finish()),
        Arc::new(channel.finish()),
        Arc::new(impressions.finish()),
        Arc::new(clicks.finish()),
        Arc::new(cost.finish()),
        Arc::new(conversions.finish()),
        Arc::new(value.finish()),
    ];
    RecordBatch::try_new(campaign_stats_schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(date: &str, campaign: i64) -> CampaignRow {
        CampaignRow {
            date: parse_date(date).unwrap(),
            customer_id: 1,
            currency: "USD".into(),
            campaign_id: campaign,
            campaign_name: None,
            channel_type: None,
            impressions: 0,
            clicks: 0,
            cost_micros: 0,
            conversions: 0.0,
            conversions_value: 0.0,
        }
    }

    #[test]
    fn dates_count_days_from_epoch() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-03-01"), Some(19783));
        assert_eq!(parse_date("2024-02-30"), None);
    }

    #[test]
    fn date_range_filter_keeps_inclusive_bounds() {
        let f = RowFilter::new(&[
            Filter {
                column: "segments_date".into(),
                op: FilterOp::GtEq,
                value: Scalar::Date("2024-01-02".into()),
            },
            Filter {
                column: "segments_date".into(),
                op: FilterOp::Lt,
                value: Scalar::Date("2024-01-04".into()),
            },
            Filter {
                column: "campaign_id".into(),
                op: FilterOp::NotEq,
                value: Scalar::Int64(9),
            },
        ])
        .unwrap();
        let kept: Vec<bool> = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
            .iter()
            .map(|d| f.accepts(&row(d, 1)))
            .collect();
        assert_eq!(kept, [false, true, true, false]);
        assert!(!f.accepts(&row("2024-01-02", 9)));
    }

    #[test]
    fn filter_of_wrong_type_is_refused() {
        let err = RowFilter::new(&[Filter {
            column: "segments_date".into(),
            op: FilterOp::Eq,
            value: Scalar::Int64(3),
        }])
        .unwrap_err();
        assert!(err.to_string().contains("wrong type"), "{err}");
    }
}
