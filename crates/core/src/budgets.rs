//! The `budgets` table: planned spend per client, month and channel (or one campaign of it),
//! from the CSV the project's `budgets = "file.csv"` names — columns `client_id, month, channel,
//! campaign, planned_spend` (month `YYYY-MM`; campaign empty for the whole channel; amounts in
//! the client's reporting currency). A bad cell is refused with its file, line and column.

use crate::error::{EngineError, Result};
use crate::project::Project;
use datafusion::arrow::array::RecordBatch;
use loopql_connector_sdk::csv_table::{self, Column, Dialect, Empty, Kind};

pub const COLUMNS: &[Column] = &[
    Column::new("client_id", &["client_id", "client"], Kind::Utf8).empty(Empty::Error),
    Column::new("month", &["month"], Kind::Utf8).empty(Empty::Error),
    Column::new("channel", &["channel"], Kind::Utf8).empty(Empty::Error),
    Column::new("campaign", &["campaign", "campaign_name"], Kind::Utf8).optional(),
    Column::new("planned_spend", &["planned_spend", "budget"], Kind::Float64).empty(Empty::Error),
];

/// `YYYY-MM` (or a date in that month) as the month's first day, `YYYY-MM-01`.
pub(crate) fn month(text: &str) -> Option<String> {
    let t = text.trim();
    let (y, m) = t.get(..7).unwrap_or(t).split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    chrono::NaiveDate::from_ymd_opt(y, m, 1).map(|d| d.to_string())
}

fn check(column: &Column, text: &str) -> std::result::Result<Option<String>, String> {
    if column.name == "month" {
        return month(text)
            .map(Some)
            .ok_or_else(|| "a month YYYY-MM".to_string());
    }
    Ok(None)
}

/// The project's budgets (an empty table when it names no file).
pub fn load(project: &Project) -> Result<RecordBatch> {
    let Some(path) = &project.budgets else {
        return Ok(RecordBatch::new_empty(csv_table::schema(COLUMNS)));
    };
    csv_table::read_checked(path, COLUMNS, &Dialect::default(), &check)
        .map_err(|e| EngineError::Budgets(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::month;

    #[test]
    fn months() {
        assert_eq!(month("2024-03").as_deref(), Some("2024-03-01"));
        assert_eq!(month("2024-03-17").as_deref(), Some("2024-03-01"));
        assert_eq!(month("2024-13"), None);
        assert_eq!(month("March"), None);
    }
}
