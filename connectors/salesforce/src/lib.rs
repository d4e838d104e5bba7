//! loopql connector for Salesforce object exports (Data Loader, Bulk API or report CSVs with API
//! field names): Lead, Contact, Opportunity, Campaign, CampaignMember, OpportunityContactRole.
//! Record ids are checked to be Salesforce ids, so a shifted column is caught where it happens.

mod objects;

use loopql_connector_sdk::csv_table::{self, Column, Dialect};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, OptionKind, OptionSpec,
    ScanRequest, TableSpec,
};
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
            description: "Salesforce exports: Lead, Contact, Opportunity, Campaign, CampaignMember, OpportunityContactRole (CSV)".into(),
            options: TABLES
                .iter()
                .map(|t| OptionSpec {
                    name: t.option.into(),
                    kind: OptionKind::Glob,
                    required: false,
                    default: None,
                    description: format!("CSV exports of {} (unset: the table is empty)", t.object),
                })
                .collect(),
            tables: TABLES
                .iter()
                .map(|t| TableSpec {
                    name: t.name.into(),
                    description: format!("one row per {} record", t.object),
                    filters: t.filters.iter().map(|c| FilterSpec { column: (*c).into(), exact: true }).collect(),
                    schema: csv_table::schema(t.columns),
                })
                .collect(),
            mappings: vec![],
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
        csv_table::scan(
            &request,
            table.option,
            table.columns,
            Dialect::default(),
            check_ids,
        )
    }
}

loopql_connector_sdk::export_connector!(Salesforce, Salesforce);

#[cfg(test)]
mod tests {
    use super::*;
    use loopql_connector_sdk::OptionsMap;
    use loopql_connector_sdk::arrow::array::{Array, BooleanArray, Date32Array};

    fn scan(
        table: &str,
        option: &str,
        text: &str,
    ) -> Result<Vec<loopql_connector_sdk::arrow::record_batch::RecordBatch>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        std::fs::write(&path, text).unwrap();
        let mut options = OptionsMap::new();
        options.insert(option.into(), path.to_string_lossy().into_owned().into());
        let request = ScanRequest {
            table: table.into(),
            options,
            projection: None,
            filters: vec![],
            limit: None,
        };
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
