//! CSV exports whose header names GAQL fields (`segments.date`, `metrics.cost_micros`, ...);
//! `segments_date`-style names are accepted too. Empty metric cells count as zero, as in the
//! API, where zero metrics are omitted.

use crate::rows::{CampaignRow, parse_date};
use loopql_connector_sdk::csv_table::LineIndex;
use loopql_connector_sdk::{ConnectorError, files};
use std::path::Path;

/// (canonical GAQL name, required)
const COLUMNS: [(&str, bool); 11] = [
    ("segments.date", true),
    ("customer.id", true),
    ("customer.currency_code", true),
    ("campaign.id", true),
    ("campaign.name", false),
    ("campaign.advertising_channel_type", false),
    ("metrics.impressions", true),
    ("metrics.clicks", true),
    ("metrics.cost_micros", true),
    ("metrics.conversions", true),
    ("metrics.conversions_value", true),
];

fn normalize(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace('_', ".")
}

fn canonical(name: &str) -> String {
    name.replace('_', ".")
}

/// Reads one export; with `skip_bad_rows`, a row with a bad value is skipped and counted
/// (see `loopql_connector_sdk::diagnostics`) instead of failing the file.
pub fn read(path: &Path, skip_bad_rows: bool) -> Result<Vec<CampaignRow>, ConnectorError> {
    let text = files::read_to_string(path)?;
    let lines = LineIndex::new(text.as_bytes());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| {
        let (line, column) = (lines.of(e.position()), 1);
        ConnectorError::Malformed {
            path: path.to_path_buf(),
            line,
            column,
            message: e.to_string(),
        }
    };
    let headers = reader.headers().map_err(csv_err)?.clone();
    let found: Vec<String> = headers.iter().map(normalize).collect();
    let mut index = [usize::MAX; COLUMNS.len()];
    for (slot, (name, required)) in index.iter_mut().zip(COLUMNS) {
        match found.iter().position(|h| *h == canonical(name)) {
            Some(i) => *slot = i,
            None if required => {
                return Err(ConnectorError::Malformed {
                    path: path.to_path_buf(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "missing column `{name}`; found [{}]; a Google Ads campaign export needs \
                         the GAQL fields {}",
                        headers.iter().collect::<Vec<_>>().join(", "),
                        COLUMNS
                            .iter()
                            .filter(|c| c.1)
                            .map(|c| c.0)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            None => {}
        }
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_err)? {
        let line = lines.of(record.position());
        let cell = |k: usize| -> Option<(&str, u64)> {
            let i = index[k];
            (i != usize::MAX).then(|| (record.get(i).unwrap_or(""), i as u64 + 1))
        };
        let bad = |k: usize, expected: &str| {
            let (found, column) = cell(k).unwrap_or(("", 0));
            ConnectorError::BadValue {
                path: path.to_path_buf(),
                line,
                column,
                column_name: COLUMNS[k].0.to_string(),
                expected: expected.to_string(),
                found: found.to_string(),
            }
        };
        let text = |k: usize| cell(k).map(|(v, _)| v.trim()).unwrap_or("");
        let int = |k: usize, zero_if_empty: bool| -> Result<i64, ConnectorError> {
            let v = text(k);
            if v.is_empty() && zero_if_empty {
                return Ok(0);
            }
            v.parse::<i64>().map_err(|_| bad(k, "an integer"))
        };
        let num = |k: usize| -> Result<f64, ConnectorError> {
            let v = text(k);
            if v.is_empty() {
                return Ok(0.0);
            }
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(k, "a number"))
        };
        let opt = |k: usize| Some(text(k)).filter(|s| !s.is_empty()).map(str::to_string);
        let parsed = (|| -> Result<CampaignRow, ConnectorError> {
            let currency = text(2);
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(bad(2, "a 3-letter ISO 4217 currency code"));
            }
            Ok(CampaignRow {
                date: parse_date(text(0)).ok_or_else(|| bad(0, "a date YYYY-MM-DD"))?,
                customer_id: int(1, false)?,
                currency: currency.to_ascii_uppercase(),
                campaign_id: int(3, false)?,
                campaign_name: opt(4),
                channel_type: opt(5),
                impressions: int(6, true)?,
                clicks: int(7, true)?,
                cost_micros: int(8, true)?,
                conversions: num(9)?,
                conversions_value: num(10)?,
            })
        })();
        match parsed {
            Ok(row) => rows.push(row),
            Err(e) if skip_bad_rows => loopql_connector_sdk::diagnostics::skipped(&e),
            Err(e) => return Err(e),
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "segments.date,customer.id,customer.currency_code,campaign.id,campaign.name,metrics.impressions,metrics.clicks,metrics.cost_micros,metrics.conversions,metrics.conversions_value\n";

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_rows_with_gaql_header() {
        let (_d, path) = write(&format!(
            "{HEADER}2024-01-01,123,usd,9,Brand,100,5,2500000,1.5,30\n2024-01-02,123,USD,9,Brand,,,,,\n"
        ));
        let rows = read(&path, false).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cost_micros, 2_500_000);
        assert_eq!(rows[0].currency, "USD");
        assert_eq!(rows[0].conversions, 1.5);
        assert_eq!(rows[1].clicks, 0);
        assert_eq!(rows[0].channel_type, None);
    }

    #[test]
    fn bad_number_names_file_line_column_value_and_type() {
        let (_d, path) = write(&format!(
            "{HEADER}2024-01-01,123,USD,9,Brand,100,5,2500000,1.5,30\n2024-01-02,123,USD,9,Brand,100,5x,1,0,0\n"
        ));
        let err = read(&path, false).unwrap_err().to_string();
        let expected = format!(
            "{}:3:7: column `metrics.clicks`: expected an integer, found `5x`",
            path.display()
        );
        assert!(err.starts_with(&expected), "{err}");
    }

    #[test]
    fn bad_rows_are_skipped_and_counted_when_asked() {
        let (_d, path) = write(&format!(
            "{HEADER}2024-01-01,123,USD,9,Brand,100,5,2500000,1.5,30\n2024-01-02,123,USD,9,Brand,100,5x,1,0,0\n"
        ));
        let _ = loopql_connector_sdk::diagnostics::take();
        let rows = read(&path, true).unwrap();
        assert_eq!(rows.len(), 1);
        let skipped = loopql_connector_sdk::diagnostics::take();
        assert_eq!(skipped.skipped_rows, 1);
        assert!(
            skipped.examples[0].contains(":3:7: column `metrics.clicks`"),
            "{:?}",
            skipped.examples
        );
    }

    #[test]
    fn missing_column_lists_what_was_found() {
        let (_d, path) = write("segments.date,customer.id\n2024-01-01,1\n");
        let err = read(&path, false).unwrap_err().to_string();
        assert!(
            err.contains(":1:1: missing column `customer.currency_code`"),
            "{err}"
        );
        assert!(err.contains("found [segments.date, customer.id]"), "{err}");
    }
}
