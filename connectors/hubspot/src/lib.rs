//! loopql connector for HubSpot CRM: contacts (with lifecycle stage dates), deals, and
//! deal-to-contact associations, from CSV exports with the API's property names as headers (the
//! UI's labels are accepted too) or, with `mode = "api"`, from the live CRM API (`api.rs`,
//! `live.rs`; with `incremental = true`, a sync's read of contacts and deals asks the search
//! endpoint for the records modified since its previous read: `search.rs`). Lifecycle stages are
//! checked: an unknown stage is an error, not a silent new funnel step.

pub mod api;
#[cfg(test)]
mod fault_tests;
mod live;
mod search;
mod tables;

use loopql_connector_sdk::csv_table::{self, Column, Dialect};
use loopql_connector_sdk::{
    BatchReader, Changes, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind,
    OptionSpec, ScanRequest, TableSpec,
};

const MAPPING_CONTACTS: &str = "SELECT
    client_id,
    'hubspot' AS source_system,
    CAST(hs_object_id AS VARCHAR) AS contact_id,
    email,
    createdate AS created_at,
    CASE lifecyclestage
        WHEN 'marketingqualifiedlead' THEN 'mql'
        WHEN 'salesqualifiedlead' THEN 'sql'
        ELSE lifecyclestage
    END AS lifecycle_stage,
    hs_lifecyclestage_lead_date AS lead_at,
    hs_lifecyclestage_marketingqualifiedlead_date AS mql_at,
    hs_lifecyclestage_salesqualifiedlead_date AS sql_at,
    hs_lifecyclestage_opportunity_date AS opportunity_at,
    hs_lifecyclestage_customer_date AS customer_at,
    hs_analytics_source AS original_source,
    CAST(NULL AS DATE) AS sql_on,
    CAST(NULL AS DATE) AS customer_on
FROM hubspot.contacts";

const MAPPING_DEALS: &str = "SELECT
    d.client_id,
    'hubspot' AS source_system,
    CAST(d.hs_object_id AS VARCHAR) AS deal_id,
    CAST(a.contact_id AS VARCHAR) AS contact_id,
    d.dealname AS name,
    d.amount,
    d.deal_currency_code AS currency,
    d.dealstage AS stage,
    d.createdate AS created_at,
    d.closedate AS closed_at,
    CAST(NULL AS DATE) AS closed_on,
    COALESCE(d.hs_is_closed, d.dealstage IN ('closedwon', 'closedlost')) AS is_closed,
    COALESCE(d.hs_is_closed_won, d.dealstage = 'closedwon') AS is_won
FROM hubspot.deals d
LEFT JOIN (
    SELECT client_id, deal_id, min(contact_id) AS contact_id FROM hubspot.deal_contacts GROUP BY client_id, deal_id
) a ON a.client_id = d.client_id AND a.deal_id = d.hs_object_id";
use tables::{ASSOCIATIONS, CONTACTS, DEALS, LIFECYCLE_STAGES};

#[derive(Debug, Default)]
pub struct HubSpot;

/// (table, path option, columns, description, filterable columns)
type Table = (
    &'static str,
    &'static str,
    &'static [Column],
    &'static str,
    &'static [&'static str],
);

const TABLES: [Table; 3] = [
    (
        "contacts",
        "contacts_path",
        CONTACTS,
        "one row per contact",
        &[
            "hs_object_id",
            "createdate",
            "lifecyclestage",
            "lastmodifieddate",
        ],
    ),
    (
        "deals",
        "deals_path",
        DEALS,
        "one row per deal",
        &[
            "hs_object_id",
            "createdate",
            "closedate",
            "dealstage",
            "pipeline",
            "hs_lastmodifieddate",
        ],
    ),
    (
        "deal_contacts",
        "associations_path",
        ASSOCIATIONS,
        "one row per deal-contact association",
        &["deal_id", "contact_id"],
    ),
];

/// Normalizes a lifecycle stage (API name or UI label) or says what is allowed.
fn lifecycle(column: &Column, value: &str) -> Result<Option<String>, String> {
    if column.name != "lifecyclestage" {
        return Ok(None);
    }
    let key: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if LIFECYCLE_STAGES.contains(&key.as_str()) {
        Ok(Some(key))
    } else {
        Err(format!(
            "a lifecycle stage ({})",
            LIFECYCLE_STAGES.join(", ")
        ))
    }
}

impl Connector for HubSpot {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "hubspot".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "HubSpot CRM: contacts, deals, deal-contact associations (CSV exports, or the live API with mode = \"api\")"
                .into(),
            options: TABLES
                .iter()
                .map(|(table, option, ..)| OptionSpec {
                    name: (*option).into(),
                    kind: OptionKind::Glob,
                    required: false,
                    default: None,
                    description: format!("files mode: CSV export files of {table} (none: the table is empty)"),
                })
                .chain(api_options())
                .collect(),
            tables: TABLES
                .iter()
                .map(|(name, _, columns, description, filters)| TableSpec {
                    name: (*name).into(),
                    description: (*description).into(),
                    filters: filters
                        .iter()
                        .map(|c| FilterSpec {
                            column: (*c).into(),
                            exact: true,
                        })
                        .collect(),
                    activity_date: None,
                    changes: live::modified_property(name).map(|modified| Changes {
                        modified: modified.into(),
                        key: vec!["hs_object_id".into()],
                        deleted: Some("archived".into()),
                    }),
                    schema: csv_table::schema(columns),
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
        let (_, option, columns, ..) =
            TABLES
                .iter()
                .find(|t| t.0 == request.table)
                .ok_or_else(|| ConnectorError::UnknownTable {
                    table: request.table.clone(),
                    available: "contacts, deals, deal_contacts".into(),
                })?;
        let mode = request.option_str("mode").unwrap_or("files");
        loopql_connector_sdk::window::incremental(&request, mode == "api")?;
        match mode {
            "files" => csv_table::scan(&request, option, columns, Dialect::default(), lifecycle),
            "api" => {
                let config = live::config(&request)?;
                let table = request.table.clone();
                let since = live::modified_since(&request);
                let dialect = Dialect {
                    skip_bad_rows: loopql_connector_sdk::diagnostics::skip_bad_rows(&request),
                    ..Dialect::default()
                };
                // Fetched when the host first asks for a batch.
                let batches = loopql_connector_sdk::fetched_later(move || {
                    live::read(config, &table, since, &dialect, &lifecycle)
                });
                request.finish(&csv_table::schema(columns), batches)
            }
            other => Err(ConnectorError::InvalidOption {
                name: "mode".into(),
                message: format!("expected files or api, found `{other}`"),
            }),
        }
    }
}

/// The options of `mode = "api"`.
fn api_options() -> impl Iterator<Item = OptionSpec> {
    use loopql_connector_sdk::serde_json::Value;
    [
        (
            "mode",
            OptionKind::String,
            Some(Value::from("files")),
            "files (CSV exports) or api (the live CRM API)",
        ),
        (
            "access_token_env",
            OptionKind::String,
            Some(Value::from("HUBSPOT_ACCESS_TOKEN")),
            "api mode: environment variable holding the private app's access token",
        ),
        (
            "credentials_file",
            OptionKind::Path,
            None,
            "api mode: a 0600 file of `key: value` secrets (access_token)",
        ),
        (
            "api_base_url",
            OptionKind::String,
            Some(Value::from(api::DEFAULT_BASE_URL)),
            "api mode: the API's base URL",
        ),
        (
            "requests_per_10s",
            OptionKind::Integer,
            Some(Value::from(100)),
            "api mode: calls allowed per rolling 10 seconds (the private app's burst limit)",
        ),
        (
            "max_attempts",
            OptionKind::Integer,
            Some(Value::from(6)),
            "api mode: attempts per call when HubSpot throttles (429) or fails (5xx)",
        ),
    ]
    .into_iter()
    .map(|(name, kind, default, description)| OptionSpec {
        name: name.into(),
        kind,
        required: false,
        default,
        description: description.into(),
    })
}

loopql_connector_sdk::export_connector!(HubSpot, HubSpot);

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::arrow::array::{Array, StringArray, TimestampMicrosecondArray};

    fn scan(
        table: &str,
        option: &str,
        file: &str,
        text: &str,
    ) -> Result<Vec<loopql_connector_sdk::arrow::record_batch::RecordBatch>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        let request =
            ScanRequest::new(table).with_option(option, path.to_string_lossy().into_owned());
        let reader = HubSpot.scan(request).map_err(|e| e.to_string())?;
        reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn contacts_with_stage_labels_and_dates() {
        let batches = scan(
            "contacts",
            "contacts_path",
            "c.csv",
            "Record ID,Email,Create Date,Lifecycle Stage,Became a Lead Date,Became a Customer Date\n1,a@x.com,2024-01-05 10:00,Marketing Qualified Lead,2024-01-05T10:00:00Z,\n2,b@x.com,2024-01-06 09:30,customer,2024-01-06T09:30:00Z,2024-02-01T12:00:00Z\n",
        )
        .unwrap();
        let b = &batches[0];
        let stage = b
            .column(b.schema().index_of("lifecyclestage").unwrap())
            .clone();
        let stage = stage.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            (stage.value(0), stage.value(1)),
            ("marketingqualifiedlead", "customer")
        );
        let customer = b
            .column(
                b.schema()
                    .index_of("hs_lifecyclestage_customer_date")
                    .unwrap(),
            )
            .clone();
        let customer = customer
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .unwrap();
        assert!(customer.is_null(0));
        assert_eq!(customer.value(1), 1_706_788_800_000_000);
    }

    #[test]
    fn unknown_lifecycle_stage_is_located() {
        let err = scan("contacts", "contacts_path", "c.csv", "hs_object_id,createdate,lifecyclestage\n1,2024-01-05T10:00:00Z,lead\n2,2024-01-05T10:00:00Z,prospect\n").unwrap_err();
        assert!(err.contains("c.csv:3:3: column `lifecyclestage`"), "{err}");
        assert!(
            err.contains("expected a lifecycle stage (subscriber, lead,"),
            "{err}"
        );
        assert!(err.contains("found `prospect`"), "{err}");
    }

    #[test]
    fn deals_and_associations() {
        let deals = scan(
            "deals",
            "deals_path",
            "d.csv",
            "hs_object_id,dealname,amount,deal_currency_code,dealstage,pipeline,createdate,closedate,hs_is_closed_won\n9,Big,1200.50,EUR,closedwon,default,2024-01-10T00:00:00Z,2024-02-10T00:00:00Z,true\n",
        )
        .unwrap();
        assert_eq!(deals[0].num_rows(), 1);
        let assoc = scan(
            "deal_contacts",
            "associations_path",
            "a.csv",
            "deal_id,contact_id\n9,1\n9,2\n",
        )
        .unwrap();
        assert_eq!(assoc[0].num_rows(), 2);
        let empty = HubSpot.scan(ScanRequest::new("deals")).unwrap().count();
        assert_eq!(empty, 0, "no path option: an empty table");
    }
}
