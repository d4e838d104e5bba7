//! Records modified since a time, through the CRM search endpoint
//! (`POST /crm/v3/objects/{object}/search`, a `GTE` filter on the object's modification
//! property, sorted by it ascending, `after` paging). Search answers at most 10,000 records per
//! query, so past that the search starts again from the last record's modification time,
//! leaving out the records it already has. Search never returns archived (deleted) records:
//! those archived since the time come from the list endpoint's archived view, marked
//! `archived`, so a sync's merge drops them.

use crate::api::{Record, Session, malformed};
use loopql_connector_sdk::json::cell;
use loopql_connector_sdk::serde_json::{self, Value, json};
use loopql_connector_sdk::{ConnectorError, progress};
use std::collections::HashSet;

/// The most records one search query pages through (HubSpot's limit).
pub const QUERY_CAP: usize = 10_000;

/// Milliseconds since the epoch of a HubSpot timestamp property (epoch ms, or ISO 8601).
fn millis(value: &Value) -> Option<i64> {
    let text = cell(value);
    text.parse::<i64>().ok().or_else(|| {
        loopql_connector_sdk::text::parse_timestamp(&text).map(|micros| micros.div_euclid(1000))
    })
}

impl Session {
    /// Every record of `object` whose `modified` property is at or after `since_ms`, with
    /// `properties`.
    pub fn modified_since(
        &mut self,
        object: &str,
        properties: &[&str],
        modified: &str,
        since_ms: i64,
    ) -> Result<Vec<Record>, ConnectorError> {
        let path = format!("/crm/v3/objects/{object}/search");
        let mut out: Vec<Record> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut from = since_ms;
        let mut page = 0;
        loop {
            let mut after: Option<String> = None;
            let mut in_query = 0;
            let mut newest = from;
            loop {
                page += 1;
                let mut body = json!({
                    "filterGroups": [{"filters": [
                        {"propertyName": modified, "operator": "GTE", "value": from.to_string()}
                    ]}],
                    "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                    "properties": properties,
                    "limit": self.page_size(),
                });
                if let Some(a) = &after {
                    body["after"] = json!(a);
                }
                let text = self.call(&path, Some(&body.to_string()))?;
                let parsed: Value = serde_json::from_str(&text)
                    .map_err(|e| malformed(&format!("POST {path}"), page, &text, &e))?;
                let Some(results) = parsed["results"].as_array() else {
                    return Err(ConnectorError::Other(format!(
                        "HubSpot POST {path}, page {page}: expected `results`, an array of records; found {}",
                        text.chars().take(200).collect::<String>()
                    )));
                };
                for r in results {
                    let id = cell(&r["id"]);
                    let props = r["properties"].as_object().cloned().unwrap_or_default();
                    if let Some(m) = props.get(modified).and_then(millis) {
                        newest = newest.max(m);
                    }
                    if seen.insert(id.clone()) {
                        out.push((id, props));
                    }
                }
                progress::page(results.len() as u64);
                in_query += results.len();
                after = parsed["paging"]["next"]["after"]
                    .as_str()
                    .map(str::to_string);
                let Some(next) = &after else {
                    return Ok(out);
                };
                let offset: usize = next.parse().unwrap_or(in_query);
                if offset + self.page_size() as usize > self.search_cap() {
                    break;
                }
            }
            // The query is at its cap: again from the newest modification seen. Records modified
            // in that same millisecond come again and are left out by id.
            if newest == from {
                return Err(ConnectorError::Other(format!(
                    "HubSpot POST {path}: more than {} records were modified at the same \
                     millisecond ({from}); read this source with incremental = false",
                    self.search_cap()
                )));
            }
            from = newest;
        }
    }

    /// The records of `object` (with `properties`) archived at or after `since_ms`, marked
    /// `archived`, their `modified` property the archive time when that is later (so the scan's
    /// filter on it keeps them).
    pub fn archived_since(
        &mut self,
        object: &str,
        properties: &[&str],
        modified: &str,
        since_ms: i64,
    ) -> Result<Vec<Record>, ConnectorError> {
        let mut out = Vec::new();
        for (id, mut props) in self.list(object, properties, true)? {
            let Some(at) = props.get("archived_at").and_then(millis) else {
                continue;
            };
            if at < since_ms {
                continue;
            }
            if props.get(modified).and_then(millis).is_none_or(|m| m < at) {
                let archived_at = props.get("archived_at").cloned().unwrap_or_default();
                props.insert(modified.into(), archived_at);
            }
            out.push((id, props));
        }
        Ok(out)
    }
}
