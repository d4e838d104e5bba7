//! Test-only connector whose manifest must be refused: a bad table name, a duplicate table, a
//! filter on a column that does not exist, and a mapping onto an unknown view.

use loopql_connector_sdk::arrow::datatypes::{DataType, Field, Schema};
use loopql_connector_sdk::{
    BatchReader, Connector, ConnectorError, FilterSpec, Manifest, Mapping, ScanRequest, TableSpec,
};
use std::sync::Arc;

pub struct BadManifest;

impl Connector for BadManifest {
    fn manifest(&self) -> Manifest {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let t = |name: &str, filter: &str| TableSpec {
            name: name.into(),
            description: String::new(),
            filters: vec![FilterSpec {
                column: filter.into(),
                exact: true,
            }],
            activity_date: None,
            changes: None,
            schema: schema.clone(),
        };
        Manifest {
            name: "bad_manifest".into(),
            version: "1.0.0".into(),
            description: "refused by the host".into(),
            options: vec![],
            tables: vec![t("Bad Table", "x"), t("good", "x"), t("good", "nope")],
            mappings: vec![Mapping {
                view: "no_such_view".into(),
                sql: "SELECT 1".into(),
            }],
        }
    }

    fn scan(&self, _request: ScanRequest) -> Result<BatchReader, ConnectorError> {
        Err(ConnectorError::Other("never scanned".into()))
    }
}

loopql_connector_sdk::export_connector!(BadManifest, BadManifest);
