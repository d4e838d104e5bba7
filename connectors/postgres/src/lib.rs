//! loopql connector for a company's own CRM in PostgreSQL. It exposes loopql's CRM raw tables
//! (`contacts`, `deals`, `deal_contacts`) and reads each from a configurable PostgreSQL table,
//! pushing the projection, the filters and the limit into the SQL it sends. The password comes
//! from an environment variable, never from the project file.

mod tables;

use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind, OptionSpec,
    ScanRequest, TableSpec,
};
use loopql_connector_sdk::{csv_table, pg};

const MAPPING_CONTACTS: &str = "SELECT client_id, 'postgres' AS source_system, contact_id, email, created_at,
    lower(lifecycle_stage) AS lifecycle_stage, lead_at, mql_at, sql_at, opportunity_at, customer_at, original_source,
    CAST(NULL AS DATE) AS sql_on, CAST(NULL AS DATE) AS customer_on
FROM postgres.contacts";

const MAPPING_DEALS: &str =
    "SELECT d.client_id, 'postgres' AS source_system, d.deal_id, a.contact_id, d.name, d.amount,
    d.currency, d.stage, d.created_at, d.closed_at, CAST(NULL AS DATE) AS closed_on, d.is_closed, d.is_won
FROM postgres.deals d
LEFT JOIN (
    SELECT client_id, deal_id,
           COALESCE(min(CASE WHEN is_primary THEN contact_id END), min(contact_id)) AS contact_id
    FROM postgres.deal_contacts GROUP BY client_id, deal_id
) a ON a.client_id = d.client_id AND a.deal_id = d.deal_id";
use tables::TABLES;

#[derive(Debug, Default)]
pub struct Postgres;

fn table_option(t: &tables::Table) -> OptionSpec {
    OptionSpec {
        name: t.table_option.into(),
        kind: OptionKind::String,
        required: false,
        default: Some(t.name.into()),
        description: format!("PostgreSQL table read as `{}`", t.name),
    }
}

impl Connector for Postgres {
    fn manifest(&self) -> Manifest {
        let mut options = pg::server_options("");
        options.push(OptionSpec {
            name: "schema".into(),
            kind: OptionKind::String,
            required: false,
            default: Some("public".into()),
            description: "schema of the CRM tables".into(),
        });
        options.extend(TABLES.iter().map(table_option));
        Manifest {
            name: "postgres".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "CRM tables in PostgreSQL (contacts, deals, deal_contacts); pushdown into SQL"
                    .into(),
            options,
            tables: TABLES
                .iter()
                .map(|t| TableSpec {
                    name: t.name.into(),
                    description: t.description.into(),
                    filters: t
                        .columns
                        .iter()
                        .map(|c| FilterSpec {
                            column: c.name.into(),
                            exact: true,
                        })
                        .collect(),
                    activity_date: None,
                    changes: None,
                    schema: csv_table::schema(t.columns),
                })
                .collect(),
            mappings: vec![
                Mapping {
                    view: "contacts".into(),
                    sql: MAPPING_CONTACTS.into(),
                },
                Mapping {
                    view: "deals".into(),
                    sql: MAPPING_DEALS.into(),
                },
            ],
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<BatchReader, ConnectorError> {
        let table = TABLES
            .iter()
            .find(|t| t.name == request.table)
            .ok_or_else(|| ConnectorError::UnknownTable {
                table: request.table.clone(),
                available: TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", "),
            })?;
        let server = pg::Server::from_request(&request)?;
        let at = pg::Stored {
            schema: request.option_str("schema").unwrap_or("public"),
            table: request.option_str(table.table_option).unwrap_or(table.name),
            schema_option: "schema",
            table_option: table.table_option,
        };
        pg::scan(&server, &at, table.columns, &request)
    }
}

loopql_connector_sdk::export_connector!(Postgres, Postgres);
