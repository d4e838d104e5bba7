//! Result cells as text for people: numbers rounded and grouped, `_change` columns as signed
//! percentages, NULL as an en dash.

use super::run::{Table, number, percent};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// How a column reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    /// A relative change (`<col>_change` from the comparison).
    Change,
}

pub fn kinds(t: &Table) -> Vec<Kind> {
    t.schema
        .fields()
        .iter()
        .map(|f| {
            if f.data_type().is_numeric() && f.name().ends_with("_change") {
                Kind::Change
            } else if f.data_type().is_floating()
                || matches!(f.data_type(), DataType::Decimal128(_, _))
            {
                Kind::Number
            } else {
                Kind::Text
            }
        })
        .collect()
}

/// A cell's text, and its raw number when it has one.
pub type Cell = (String, Option<f64>);

/// Every row's cells, formatted.
pub fn rows(t: &Table) -> Result<Vec<Vec<Cell>>, String> {
    let kinds = kinds(t);
    let opts = FormatOptions::default().with_null("–");
    let mut out = Vec::new();
    for b in &t.batches {
        let mut cols = Vec::new();
        for (i, k) in kinds.iter().enumerate() {
            let c = b.column(i);
            let nums = if *k == Kind::Text && !c.data_type().is_integer() {
                None
            } else {
                Some(cast(c, &DataType::Float64).map_err(|e| e.to_string())?)
            };
            let f = ArrayFormatter::try_new(c.as_ref(), &opts).map_err(|e| e.to_string())?;
            cols.push((f, nums));
        }
        for r in 0..b.num_rows() {
            let mut row = Vec::new();
            for ((f, nums), k) in cols.iter().zip(&kinds) {
                let raw = nums.as_ref().and_then(|n| {
                    let n = n.as_primitive::<Float64Type>();
                    (!n.is_null(r)).then(|| n.value(r))
                });
                let text = match (k, raw) {
                    (Kind::Change, Some(x)) => percent(x),
                    (Kind::Number, Some(x)) => number(x),
                    _ => f.value(r).to_string(),
                };
                row.push((text, raw));
            }
            out.push(row);
        }
    }
    Ok(out)
}
