//! The CRM raw tables this connector serves, and how each column is read from PostgreSQL.

use loopql_connector_sdk::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Float,
    Bool,
    /// Read as microseconds since the epoch; a `timestamp` without zone is taken as UTC.
    Timestamp,
}

#[derive(Debug)]
pub struct Col {
    pub name: &'static str,
    pub kind: Kind,
}

#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub description: &'static str,
    /// The option naming the PostgreSQL table (default: the same name).
    pub table_option: &'static str,
    pub columns: &'static [Col],
}

impl Table {
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| {
                    let t = match c.kind {
                        Kind::Text => DataType::Utf8,
                        Kind::Float => DataType::Float64,
                        Kind::Bool => DataType::Boolean,
                        Kind::Timestamp => {
                            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                        }
                    };
                    Field::new(c.name, t, true)
                })
                .collect::<Vec<_>>(),
        ))
    }
}

const fn col(name: &'static str, kind: Kind) -> Col {
    Col { name, kind }
}

pub const TABLES: [Table; 3] = [
    Table {
        name: "contacts",
        description: "one row per contact, with the time each funnel stage was reached",
        table_option: "contacts_table",
        columns: &[
            col("contact_id", Kind::Text),
            col("email", Kind::Text),
            col("created_at", Kind::Timestamp),
            col("lifecycle_stage", Kind::Text),
            col("lead_at", Kind::Timestamp),
            col("mql_at", Kind::Timestamp),
            col("sql_at", Kind::Timestamp),
            col("opportunity_at", Kind::Timestamp),
            col("customer_at", Kind::Timestamp),
            col("original_source", Kind::Text),
        ],
    },
    Table {
        name: "deals",
        description: "one row per deal",
        table_option: "deals_table",
        columns: &[
            col("deal_id", Kind::Text),
            col("name", Kind::Text),
            col("amount", Kind::Float),
            col("currency", Kind::Text),
            col("stage", Kind::Text),
            col("created_at", Kind::Timestamp),
            col("closed_at", Kind::Timestamp),
            col("is_closed", Kind::Bool),
            col("is_won", Kind::Bool),
        ],
    },
    Table {
        name: "deal_contacts",
        description: "one row per deal-contact link",
        table_option: "deal_contacts_table",
        columns: &[
            col("deal_id", Kind::Text),
            col("contact_id", Kind::Text),
            col("is_primary", Kind::Bool),
        ],
    },
];
