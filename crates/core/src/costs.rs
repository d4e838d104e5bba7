//! The `costs` table: what a client's customer acquisition costs besides media spend, per month —
//! other marketing cost (agency fees, tools, events, content) and sales cost (salaries,
//! commissions) — from the CSV the project's `costs = "file.csv"` names: columns `client_id,
//! month, category, amount` (month `YYYY-MM`; category `marketing` or `sales`; amounts in the
//! client's reporting currency). CAC (`ltv_cac`, `roi_by_*`) adds them to media spend. A bad
//! cell is refused with its file, line and column.

use crate::error::{EngineError, Result};
use crate::project::Project;
use datafusion::arrow::array::RecordBatch;
use loopql_connector_sdk::csv_table::{self, Column, Dialect, Empty, Kind};

pub const COLUMNS: &[Column] = &[
    Column::new("client_id", &["client_id", "client"], Kind::Utf8).empty(Empty::Error),
    Column::new("month", &["month"], Kind::Utf8).empty(Empty::Error),
    Column::new("category", &["category"], Kind::Utf8).empty(Empty::Error),
    Column::new("amount", &["amount", "cost"], Kind::Float64).empty(Empty::Error),
];

/// The categories a cost may have.
pub const CATEGORIES: [&str; 2] = ["marketing", "sales"];

fn check(column: &Column, text: &str) -> std::result::Result<Option<String>, String> {
    match column.name {
        "month" => crate::budgets::month(text)
            .map(Some)
            .ok_or_else(|| "a month YYYY-MM".to_string()),
        "category" => {
            let c = text.trim().to_ascii_lowercase();
            if CATEGORIES.contains(&c.as_str()) {
                Ok(Some(c))
            } else {
                Err(format!("a category: {}", CATEGORIES.join(" or ")))
            }
        }
        _ => Ok(None),
    }
}

/// The project's costs (an empty table when it names no file).
pub fn load(project: &Project) -> Result<RecordBatch> {
    let Some(path) = &project.costs else {
        return Ok(RecordBatch::new_empty(csv_table::schema(COLUMNS)));
    };
    csv_table::read_checked(path, COLUMNS, &Dialect::default(), &check)
        .map_err(|e| EngineError::Costs(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_category_or_month_is_refused_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("costs.csv");
        std::fs::write(
            &path,
            "client_id,month,category,amount\nacme,2024-03,marketing,100\nacme,2024-03,travel,5\n",
        )
        .unwrap();
        let mut project = Project::empty(dir.path());
        project.costs = Some(path.clone());
        let err = load(&project).unwrap_err().to_string();
        assert!(
            err.contains("costs.csv:3:3")
                && err.contains("marketing or sales")
                && err.contains("`travel`"),
            "{err}"
        );
        std::fs::write(
            &path,
            "client_id,month,category,amount\nacme,March,sales,5\n",
        )
        .unwrap();
        let err = load(&project).unwrap_err().to_string();
        assert!(
            err.contains("costs.csv:2:2") && err.contains("YYYY-MM"),
            "{err}"
        );
        std::fs::write(
            &path,
            "client_id,month,category,amount\nacme,2024-03,Sales,5\n",
        )
        .unwrap();
        let batch = load(&project).unwrap();
        assert_eq!(batch.num_rows(), 1);
    }
}
