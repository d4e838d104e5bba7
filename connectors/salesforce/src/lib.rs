//! loopql connector for Salesforce objects — Lead, Contact, Opportunity, Campaign,
//! CampaignMember, OpportunityContactRole — from exports (Data Loader, Bulk API or report CSVs
//! with API field names) or, with `mode = "api"`, the live REST API (`api.rs`, `live.rs`).
//! Record ids are checked to be Salesforce ids, so a shifted column is caught where it happens.

pub mod api;
#[cfg(test)]
mod fault_tests;
mod live;
mod objects;

use loopql_connector_sdk::csv_table::{self, Column, Dialect};
use loopql_connector_sdk::{
    BatchReader, Changes, Connector, ConnectorError, FilterSpec, Manifest, Mapping, OptionKind,
    OptionSpec, ScanRequest, TableSpec,
};

/// Leads are where people enter the funnel; a converted lead continues as its contact (same
/// contact_id); contacts that never were leads enter at their creation.
const MAPPING_CONTACTS: &str = "SELECT
    l.client_id,
    'salesforce' AS source_system,
    COALESCE(l.converted_contact_id, l.id) AS contact_id,
    l.email,
    l.created_date AS created_at,
    CASE WHEN l.converted_opportunity_id IS NOT NULL THEN 'opportunity'
         WHEN l.is_converted THEN 'sql'
         ELSE 'lead' END AS lifecycle_stage,
    l.created_date AS lead_at,
    arrow_cast(NULL, 'Timestamp(µs, \"UTC\")') AS mql_at,
    arrow_cast(NULL, 'Timestamp(µs, \"UTC\")') AS sql_at,
    o.created_date AS opportunity_at,
    arrow_cast(NULL, 'Timestamp(µs, \"UTC\")') AS customer_at,
    l.lead_source AS original_source,
    CASE WHEN l.is_converted THEN l.converted_date END AS sql_on,
    CASE WHEN o.is_won THEN o.close_date END AS customer_on
FROM salesforce.lead l
LEFT JOIN salesforce.opportunity o ON o.client_id = l.client_id AND o.id = l.converted_opportunity_id
UNION ALL
SELECT
    c.client_id,
    'salesforce' AS source_system,
    c.id AS contact_id,
    c.email,
    c.created_date AS created_at,
    'lead' AS lifecycle_stage,
    c.created_date AS lead_at,
    arrow_cast(NULL, 'Timestamp(µs, \"UTC\")') AS mql_at,
    arrow_cast(NULL, 'Timestamp(µs, \"UTC\")') AS sql_at,
    arrow_cast(NULL, 'Timestamp(µs, \"UTC\")') AS opportunity_at,
    arrow_cast(NULL, 'Timestamp(µs, \"UTC\")') AS customer_at,
    c.lead_source AS original_source,
    CAST(NULL AS DATE) AS sql_on,
    CAST(NULL AS DATE) AS customer_on
FROM salesforce.contact c
WHERE NOT EXISTS (
    SELECT 1 FROM salesforce.lead l2 WHERE l2.client_id = c.client_id AND l2.converted_contact_id = c.id
)";

/// A member's contact id is the one `contacts` uses: the contact, else the lead's converted
/// contact, else the lead.
const MAPPING_CAMPAIGN_MEMBERS: &str = "SELECT
    m.client_id,
    'salesforce' AS source_system,
    m.campaign_id,
    c.name AS campaign_name,
    c.type AS campaign_type,
    COALESCE(m.contact_id, l.converted_contact_id, m.lead_id) AS contact_id,
    COALESCE(ct.email, l.email) AS email,
    m.created_date AS member_created_at,
    m.has_responded AS responded,
    m.first_responded_date,
    m.status
FROM salesforce.campaign_member m
LEFT JOIN salesforce.campaign c ON c.client_id = m.client_id AND c.id = m.campaign_id
LEFT JOIN salesforce.contact ct ON ct.client_id = m.client_id AND ct.id = m.contact_id
LEFT JOIN salesforce.lead l ON l.client_id = m.client_id AND l.id = m.lead_id";

/// The primary contact role names the deal's contact, else the first role.
const MAPPING_DEALS: &str = "SELECT
    o.client_id,
    'salesforce' AS source_system,
    o.id AS deal_id,
    r.contact_id,
    o.name,
    o.amount,
    o.currency_iso_code AS currency,
    o.stage_name AS stage,
    o.created_date AS created_at,
    arrow_cast(NULL, 'Timestamp(µs, \"UTC\")') AS closed_at,
    CASE WHEN o.is_closed THEN o.close_date END AS closed_on,
    o.is_closed,
    o.is_won
FROM salesforce.opportunity o
LEFT JOIN (
    SELECT client_id, opportunity_id,
           COALESCE(min(CASE WHEN is_primary THEN contact_id END), min(contact_id)) AS contact_id
    FROM salesforce.opportunity_contact_role GROUP BY client_id, opportunity_id
) r ON r.client_id = o.client_id AND r.opportunity_id = o.id";
use objects::TABLES;

#[derive(Debug, Default)]
pub struct Salesforce;

/// Salesforce ids are 15 (case-sensitive) or 18 (case-safe) letters and digits.
fn check_ids(column: &Column, value: &str) -> Result<Option<String>, String> {
    let is_id_column = column.name == "id" || column.name.ends_with("_id");
    if is_id_column
        && !((value.len() == 15 || value.len() == 18)
            && value.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err("a Salesforce Id (15 or 18 letters and digits)".into());
    }
    Ok(None)
}

impl Connector for Salesforce {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "salesforce".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Salesforce: Lead, Contact, Opportunity, Campaign, CampaignMember, OpportunityContactRole (CSV exports, or the live REST API with mode = \"api\")".into(),
            options: TABLES
                .iter()
                .map(|t| OptionSpec {
                    name: t.option.into(),
                    kind: OptionKind::Glob,
                    required: false,
                    default: None,
                    description: format!("files mode: CSV exports of {} (unset: the table is empty)", t.object),
                })
                .chain(api_options())
                .collect(),
            tables: TABLES
                .iter()
                .map(|t| TableSpec {
                    name: t.name.into(),
                    description: format!("one row per {} record", t.object),
                    filters: t.filters.iter().map(|c| FilterSpec { column: (*c).into(), exact: true }).collect(),
                    activity_date: None,
                    changes: t
                        .columns
                        .iter()
                        .any(|c| c.name == live::MODIFIED)
                        .then(|| Changes {
                            modified: live::MODIFIED.into(),
                            key: vec!["id".into()],
                            deleted: Some("is_deleted".into()),
                        }),
                    schema: csv_table::schema(t.columns),
                })
                .collect(),
            mappings: vec![
                Mapping { view: "contacts".into(), sql: MAPPING_CONTACTS.into() },
                Mapping { view: "deals".into(), sql: MAPPING_DEALS.into() },
                Mapping { view: "campaign_members".into(), sql: MAPPING_CAMPAIGN_MEMBERS.into() },
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
        let mode = request.option_str("mode").unwrap_or("files");
        loopql_connector_sdk::window::incremental(&request, mode == "api")?;
        match mode {
            "files" => csv_table::scan(
                &request,
                table.option,
                table.columns,
                Dialect::default(),
                check_ids,
            ),
            "api" => {
                let config = live::config(&request)?;
                let dialect = Dialect {
                    skip_bad_rows: loopql_connector_sdk::diagnostics::skip_bad_rows(&request),
                    ..Dialect::default()
                };
                // Queried when the host first asks for a batch.
                let (object, columns) = (table.object, table.columns);
                let since = live::modified_since(&request);
                let batches = loopql_connector_sdk::fetched_later(move || {
                    live::read(config, object, columns, since, &dialect, &check_ids)
                });
                request.finish(&csv_table::schema(table.columns), batches)
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
        ("mode", OptionKind::String, Some(Value::from("files")), "files (CSV exports) or api (the live REST API)"),
        ("grant", OptionKind::String, Some(Value::from("refresh_token")), "api mode: refresh_token or client_credentials"),
        ("login_url", OptionKind::String, Some(Value::from(live::DEFAULT_LOGIN_URL)), "api mode: where tokens come from (login.salesforce.com, test.salesforce.com, or your My Domain URL)"),
        ("instance_url", OptionKind::String, None, "api mode: the org to query (default: the instance_url the token endpoint names)"),
        ("api_version", OptionKind::String, Some(Value::from(live::DEFAULT_VERSION)), "api mode: the REST API version"),
        ("client_id_env", OptionKind::String, Some(Value::from("SALESFORCE_CLIENT_ID")), "api mode: environment variable holding the connected app's client id"),
        ("client_secret_env", OptionKind::String, Some(Value::from("SALESFORCE_CLIENT_SECRET")), "api mode: environment variable holding its client secret"),
        ("refresh_token_env", OptionKind::String, Some(Value::from("SALESFORCE_REFRESH_TOKEN")), "api mode: environment variable holding the refresh token"),
        ("credentials_file", OptionKind::Path, None, "api mode: a 0600 file of `key: value` secrets (client_id, client_secret, refresh_token)"),
        ("max_attempts", OptionKind::Integer, Some(Value::from(5)), "api mode: attempts per call when Salesforce throttles (429) or fails (5xx)"),
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

loopql_connector_sdk::export_connector!(Salesforce, Salesforce);

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::arrow::array::{Array, BooleanArray, Date32Array};

    fn scan(
        table: &str,
        option: &str,
        text: &str,
    ) -> Result<Vec<loopql_connector_sdk::arrow::record_batch::RecordBatch>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        std::fs::write(&path, text).unwrap();
        let request =
            ScanRequest::new(table).with_option(option, path.to_string_lossy().into_owned());
        Salesforce
            .scan(request)
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn opportunities_with_dates_and_flags() {
        let b = scan(
            "opportunity",
            "opportunity_path",
            "\"Id\",\"Amount\",\"CurrencyIsoCode\",\"StageName\",\"CloseDate\",\"IsClosed\",\"IsWon\",\"CampaignId\",\"CreatedDate\"\n\"0065g00000AbCdEAAV\",\"5000\",\"USD\",\"Closed Won\",\"2024-02-15\",\"true\",\"true\",\"7015g000000XyZaAAC\",\"2024-01-10T09:00:00.000+0000\"\n",
        )
        .unwrap();
        let b = &b[0];
        let won = b.column(b.schema().index_of("is_won").unwrap()).clone();
        assert!(
            won.as_any()
                .downcast_ref::<BooleanArray>()
                .unwrap()
                .value(0)
        );
        let close = b.column(b.schema().index_of("close_date").unwrap()).clone();
        assert_eq!(
            close
                .as_any()
                .downcast_ref::<Date32Array>()
                .unwrap()
                .value(0),
            19768
        );
        assert!(
            b.column(b.schema().index_of("account_id").unwrap())
                .is_null(0)
        );
    }

    #[test]
    fn a_value_that_is_not_an_id_is_located() {
        let err = scan(
            "campaign_member",
            "campaign_member_path",
            "CampaignId,LeadId,ContactId,Status,CreatedDate\n7015g000000XyZaAAC,00Q5g00000AbCdEAAV,,Responded,2024-01-01T00:00:00Z\n7015g000000XyZaAAC,Responded,,Sent,2024-01-01T00:00:00Z\n",
        )
        .unwrap_err();
        assert!(err.contains("export.csv:3:2: column `LeadId`: expected a Salesforce Id (15 or 18 letters and digits), found `Responded`"), "{err}");
    }
}
