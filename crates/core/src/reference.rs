//! Reference tables every project has, built from the project itself: `clients` (reporting
//! currency and time zone per client), `fx_rates` (daily exchange rates, see `fx`) and
//! `source_categories` (which sources are search, social, video or shopping sites, for channel
//! grouping: loopql's shipped list under client_id `*`, plus the project's own rows).

use crate::error::Result;
use crate::fx;
use crate::project::Project;
use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

pub fn clients_batch(project: &Project) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("currency", DataType::Utf8, false),
        Field::new("time_zone", DataType::Utf8, false),
        Field::new("gross_margin", DataType::Float64, false),
        Field::new("monthly_churn", DataType::Float64, true),
        Field::new("contract_months", DataType::Float64, false),
    ]));
    let column = |f: fn(&crate::project::Client) -> &str| -> ArrayRef {
        Arc::new(
            project
                .clients
                .iter()
                .map(|c| Some(f(c)))
                .collect::<StringArray>(),
        )
    };
    Ok(RecordBatch::try_new(
        schema,
        vec![
            column(|c| &c.id),
            column(|c| &c.name),
            column(|c| &c.currency),
            column(|c| &c.time_zone),
            Arc::new(Float64Array::from_iter_values(
                project.clients.iter().map(|c| c.gross_margin),
            )),
            Arc::new(Float64Array::from_iter(
                project.clients.iter().map(|c| c.monthly_churn),
            )),
            Arc::new(Float64Array::from_iter_values(
                project.clients.iter().map(|c| c.contract_months),
            )),
        ],
    )?)
}

const SHIPPED_SOURCE_CATEGORIES: &str =
    include_str!("../../../sql/reference/source_categories.csv");
const CATEGORIES: [&str; 4] = ["search", "social", "video", "shopping"];

/// Rows (client_id, source, category) of `source_categories`.
pub fn source_categories(project: &Project) -> Result<RecordBatch> {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let parse = |path: &std::path::Path,
                 text: &str,
                 with_client: bool,
                 rows: &mut Vec<(String, String, String)>|
     -> Result<()> {
        let lines = loopql_connector_sdk::csv_table::LineIndex::new(text.as_bytes());
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        for record in reader.records() {
            let record = record.map_err(|e| crate::EngineError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
            })?;
            let line = lines.of(record.position());
            let field = |i: usize| record.get(i).unwrap_or("").trim().to_lowercase();
            let (client, source, category) = if with_client {
                (field(0), field(1), field(2))
            } else {
                (String::new(), field(0), field(1))
            };
            if !CATEGORIES.contains(&category.as_str()) {
                return Err(crate::EngineError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "line {line}: category `{category}`: expected one of {}",
                            CATEGORIES.join(", ")
                        ),
                    ),
                });
            }
            let client = if client.is_empty() {
                "*".to_string()
            } else {
                client
            };
            rows.push((client, source, category));
        }
        Ok(())
    };
    parse(
        std::path::Path::new("sql/reference/source_categories.csv"),
        SHIPPED_SOURCE_CATEGORIES,
        false,
        &mut rows,
    )?;
    if let Some(path) = &project.source_categories {
        let text = std::fs::read_to_string(path).map_err(|source| crate::EngineError::Io {
            path: path.clone(),
            source,
        })?;
        let mut extra = Vec::new();
        parse(path, &text, true, &mut extra)?;
        // A project row replaces the shipped row for the same (client, source).
        rows.retain(|(c, s, _)| !extra.iter().any(|(ec, es, _)| ec == c && es == s));
        rows.extend(extra);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
    ]));
    let col = |k: usize| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| {
                    Some(match k {
                        0 => r.0.as_str(),
                        1 => r.1.as_str(),
                        _ => r.2.as_str(),
                    })
                })
                .collect::<StringArray>(),
        )
    };
    Ok(RecordBatch::try_new(schema, vec![col(0), col(1), col(2)])?)
}

/// The rows of `batch` (first column `client_id`) for the project's clients, or for every client
/// (`*` or empty).
fn own_rows(batch: RecordBatch, project: &Project) -> Result<RecordBatch> {
    use datafusion::arrow::array::{AsArray, BooleanArray};
    let ids = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
    let keep: BooleanArray = ids
        .as_string::<i32>()
        .iter()
        .map(|id| {
            Some(match id {
                None | Some("") | Some("*") => true,
                Some(id) => project.client(id).is_some(),
            })
        })
        .collect();
    Ok(datafusion::arrow::compute::filter_record_batch(
        &batch, &keep,
    )?)
}

pub(crate) fn register(ctx: &SessionContext, project: &Project) -> Result<()> {
    // A session scoped to some clients sees their rows only (and the rows every client shares).
    let categories = own_rows(source_categories(project)?, project)?;
    ctx.register_table("source_categories", table(categories)?)?;
    let budgets = own_rows(crate::budgets::load(project)?, project)?;
    ctx.register_table("budgets", table(budgets)?)?;
    let costs = own_rows(crate::costs::load(project)?, project)?;
    ctx.register_table("costs", table(costs)?)?;
    ctx.register_table("annotations", table(crate::annotations::load(project)?)?)?;
    ctx.register_table("clients", table(clients_batch(project)?)?)?;
    let rates = match &project.fx {
        Some(config) => fx::load(&config.path, config.fill_days)?,
        None => RecordBatch::new_empty(fx::schema()),
    };
    ctx.register_table("fx_rates", table(rates)?)?;
    Ok(())
}

/// `batch` as a table whose text columns are `Utf8View`, the string type of every other table
/// (a join of `budgets` or `clients` to a view on `client_id` then compares plain columns, and
/// DataFusion carries a filter on one side to the other).
fn table(batch: RecordBatch) -> Result<Arc<MemTable>> {
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => {
                f.as_ref().clone().with_data_type(DataType::Utf8View)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| datafusion::arrow::compute::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<ArrayRef>, _>>()?;
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}
