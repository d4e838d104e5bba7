//! The CRM raw tables this connector serves. Each is read from a PostgreSQL table named by an
//! option; a table's key columns must be there, any other missing column reads as NULL.

use loopql_connector_sdk::csv_table::{Column, Kind};

#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub description: &'static str,
    /// The option naming the PostgreSQL table (default: the same name).
    pub table_option: &'static str,
    pub columns: &'static [Column],
}

/// A key column: the table must have it.
const fn key(name: &'static str) -> Column {
    Column::new(name, &[], Kind::Utf8)
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column::new(name, &[], kind).optional()
}

pub const TABLES: [Table; 3] = [
    Table {
        name: "contacts",
        description: "one row per contact, with the time each funnel stage was reached",
        table_option: "contacts_table",
        columns: &[
            key("contact_id"),
            col("email", Kind::Utf8),
            col("created_at", Kind::Timestamp),
            col("lifecycle_stage", Kind::Utf8),
            col("lead_at", Kind::Timestamp),
            col("mql_at", Kind::Timestamp),
            col("sql_at", Kind::Timestamp),
            col("opportunity_at", Kind::Timestamp),
            col("customer_at", Kind::Timestamp),
            col("original_source", Kind::Utf8),
        ],
    },
    Table {
        name: "deals",
        description: "one row per deal",
        table_option: "deals_table",
        columns: &[
            key("deal_id"),
            col("name", Kind::Utf8),
            col("amount", Kind::Float64),
            col("currency", Kind::Utf8),
            col("stage", Kind::Utf8),
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
            key("deal_id"),
            key("contact_id"),
            col("is_primary", Kind::Bool),
        ],
    },
];
