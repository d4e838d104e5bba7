//! Exchange rates: loads the project's rates file (the ECB's `eurofxref-hist.csv`, or a long CSV
//! `date,currency,per_eur`) into the `fx_rates` table — one row per currency and calendar day,
//! each day carrying the latest rate published on or before it (weekends and holidays have no
//! rate), for at most `fill_days` days. Harmonized views convert with
//! `amount * per_eur(reporting) / per_eur(original)` joined on the activity date.

use crate::error::{EngineError, Result};
use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("date", DataType::Date32, false),
        Field::new("currency", DataType::Utf8, false),
        Field::new("per_eur", DataType::Float64, false),
        Field::new("rate_date", DataType::Date32, false),
    ]))
}

fn days(text: &str) -> Option<i32> {
    let d = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    i32::try_from(
        d.signed_duration_since(chrono::NaiveDate::default())
            .num_days(),
    )
    .ok()
}

/// Published rates: currency -> date -> units per EUR.
type Published = BTreeMap<String, BTreeMap<i32, f64>>;

fn parse(path: &Path, text: &str) -> Result<Published> {
    let bad = |line: u64, column: usize, message: String| EngineError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("line {line}, column {column}: {message}"),
        ),
    };
    let lines = loopql_connector_sdk::csv_table::LineIndex::new(text.as_bytes());
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad(1, 1, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let lower: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    let long = lower.iter().any(|h| h == "currency") && lower.iter().any(|h| h == "per_eur");
    if !long && lower.first().map(String::as_str) != Some("date") {
        return Err(bad(
            1,
            1,
            "expected the ECB layout (Date,USD,JPY,...) or columns date,currency,per_eur".into(),
        ));
    }
    let mut rates: Published = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad(lines.of(e.position()), 1, e.to_string()))?;
        let line = lines.of(record.position());
        let number = |column: usize, v: &str| -> Result<Option<f64>> {
            let v = v.trim();
            if v.is_empty() || v.eq_ignore_ascii_case("N/A") {
                return Ok(None);
            }
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .map(Some)
                .ok_or_else(|| {
                    bad(
                        line,
                        column + 1,
                        format!("expected a positive rate, found `{v}`"),
                    )
                })
        };
        if long {
            let at = |name: &str| {
                lower
                    .iter()
                    .position(|h| h == name)
                    .and_then(|i| record.get(i))
                    .unwrap_or("")
            };
            let date_col = lower.iter().position(|h| h == "date").unwrap_or(0);
            let date = days(at("date")).ok_or_else(|| {
                bad(
                    line,
                    date_col + 1,
                    format!("expected a date YYYY-MM-DD, found `{}`", at("date")),
                )
            })?;
            let per_eur_col = lower.iter().position(|h| h == "per_eur").unwrap_or(0);
            if let Some(rate) = number(per_eur_col, at("per_eur"))? {
                rates
                    .entry(at("currency").trim().to_ascii_uppercase())
                    .or_default()
                    .insert(date, rate);
            }
        } else {
            let first = record.get(0).unwrap_or("");
            let date = days(first).ok_or_else(|| {
                bad(
                    line,
                    1,
                    format!("expected a date YYYY-MM-DD, found `{first}`"),
                )
            })?;
            for (i, currency) in headers.iter().enumerate().skip(1) {
                if currency.is_empty() {
                    continue; // the ECB file ends every line with a comma
                }
                if let Some(rate) = number(i, record.get(i).unwrap_or(""))? {
                    rates
                        .entry(currency.to_ascii_uppercase())
                        .or_default()
                        .insert(date, rate);
                }
            }
        }
    }
    Ok(rates)
}

/// The daily table: every published rate carried forward for up to `fill_days` days; EUR is 1.
pub fn daily(published: &Published, fill_days: u32) -> Result<RecordBatch> {
    let (mut date, mut currency, mut rate, mut source) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut all_days: Vec<i32> = published.values().flat_map(|m| m.keys().copied()).collect();
    all_days.sort_unstable();
    let (Some(&first), Some(&last)) = (all_days.first(), all_days.last()) else {
        return Ok(RecordBatch::new_empty(schema()));
    };
    let end = last + fill_days as i32;
    for d in first..=end {
        date.push(d);
        currency.push("EUR".to_string());
        rate.push(1.0);
        source.push(d);
    }
    for (code, series) in published {
        if code == "EUR" {
            continue;
        }
        for d in first..=end {
            if let Some((&on, &r)) = series.range(..=d).next_back()
                && d - on <= fill_days as i32
            {
                date.push(d);
                currency.push(code.clone());
                rate.push(r);
                source.push(on);
            }
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from(date)),
        Arc::new(StringArray::from(currency)),
        Arc::new(Float64Array::from(rate)),
        Arc::new(Date32Array::from(source)),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

pub fn load(path: &Path, fill_days: u32) -> Result<RecordBatch> {
    let text = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    daily(&parse(path, &text)?, fill_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECB: &str = "Date,USD,JPY,GBP,\n2024-01-03,1.0919,155.52,N/A,\n2024-01-02,1.0956,155.80,0.86518,\n2023-12-29,1.1050,156.33,0.86905,\n";

    fn rate(b: &RecordBatch, day: &str, code: &str) -> Option<(f64, i32)> {
        let d = days(day).unwrap();
        let dates = b.column(0).as_any().downcast_ref::<Date32Array>().unwrap();
        let codes = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        let rates = b.column(2).as_any().downcast_ref::<Float64Array>().unwrap();
        let from = b.column(3).as_any().downcast_ref::<Date32Array>().unwrap();
        (0..b.num_rows())
            .find(|&i| dates.value(i) == d && codes.value(i) == code)
            .map(|i| (rates.value(i), from.value(i)))
    }

    #[test]
    fn ecb_layout_is_filled_forward_over_the_new_year() {
        let b = daily(&parse(Path::new("ecb.csv"), ECB).unwrap(), 7).unwrap();
        assert_eq!(
            rate(&b, "2024-01-01", "USD"),
            Some((1.1050, days("2023-12-29").unwrap()))
        );
        assert_eq!(rate(&b, "2024-01-02", "USD").map(|r| r.0), Some(1.0956));
        // N/A on the 3rd: the 2nd's GBP rate carries.
        assert_eq!(rate(&b, "2024-01-03", "GBP").map(|r| r.0), Some(0.86518));
        assert_eq!(rate(&b, "2024-01-01", "EUR").map(|r| r.0), Some(1.0));
        // Beyond fill_days there is no rate (a stale rate is worse than none).
        assert_eq!(rate(&b, "2024-01-10", "USD").map(|r| r.0), Some(1.0919));
        assert_eq!(rate(&b, "2024-01-11", "USD"), None);
    }

    #[test]
    fn long_layout_and_bad_values() {
        let b = daily(
            &parse(
                Path::new("fx.csv"),
                "date,currency,per_eur\n2024-01-02,usd,1.1\n",
            )
            .unwrap(),
            0,
        )
        .unwrap();
        assert_eq!(rate(&b, "2024-01-02", "USD").map(|r| r.0), Some(1.1));
        let err = parse(
            Path::new("fx.csv"),
            "date,currency,per_eur\n2024-01-02,USD,-1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("fx.csv: line 2, column 3: expected a positive rate, found `-1`"),
            "{err}"
        );
    }
}
