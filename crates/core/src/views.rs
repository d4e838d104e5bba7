//! The shipped SQL views, embedded from `sql/` so the binary is self-contained.
//!
//! A harmonized view file holds the canonical contract (column names, types, order) and selects
//! `FROM {sources}`; the engine replaces `{sources}` with the `UNION ALL` of the mappings that
//! the project's connectors declare for that view, so adding a connector never edits the engine.

use crate::error::{EngineError, Result};
use datafusion::prelude::SessionContext;

/// A shipped view: its name and the SQL text of its file.
#[derive(Debug, Clone, Copy)]
pub struct ViewFile {
    pub name: &'static str,
    pub sql: &'static str,
}

pub const HARMONIZED: &[ViewFile] = &[
    ViewFile {
        name: "ad_performance",
        sql: include_str!("../../../sql/harmonized/ad_performance.sql"),
    },
    ViewFile {
        name: "campaign_changes",
        sql: include_str!("../../../sql/harmonized/campaign_changes.sql"),
    },
    ViewFile {
        name: "campaign_members",
        sql: include_str!("../../../sql/harmonized/campaign_members.sql"),
    },
    ViewFile {
        name: "contacts",
        sql: include_str!("../../../sql/harmonized/contacts.sql"),
    },
    ViewFile {
        name: "deals",
        sql: include_str!("../../../sql/harmonized/deals.sql"),
    },
    ViewFile {
        name: "sessions",
        sql: include_str!("../../../sql/harmonized/sessions.sql"),
    },
];

/// Names connectors may map onto.
pub const HARMONIZED_VIEWS: &[&str] = &[
    "ad_performance",
    "campaign_changes",
    "campaign_members",
    "contacts",
    "deals",
    "sessions",
];

/// Views over the harmonized views (no connector maps onto them), created after them in order.
pub const DERIVED: &[ViewFile] = &[
    ViewFile {
        name: "identified_sessions",
        sql: include_str!("../../../sql/derived/identified_sessions.sql"),
    },
    ViewFile {
        name: "touchpoints",
        sql: include_str!("../../../sql/derived/touchpoints.sql"),
    },
    ViewFile {
        name: "conversions",
        sql: include_str!("../../../sql/derived/conversions.sql"),
    },
    ViewFile {
        name: "conversion_paths",
        sql: include_str!("../../../sql/attribution/conversion_paths.sql"),
    },
    ViewFile {
        name: "attribution_by_channel",
        sql: include_str!("../../../sql/attribution/attribution_by_channel.sql"),
    },
    ViewFile {
        name: "attribution_by_campaign",
        sql: include_str!("../../../sql/attribution/attribution_by_campaign.sql"),
    },
    ViewFile {
        name: "roi_by_channel",
        sql: include_str!("../../../sql/roi/roi_by_channel.sql"),
    },
    ViewFile {
        name: "roi_by_campaign",
        sql: include_str!("../../../sql/roi/roi_by_campaign.sql"),
    },
    ViewFile {
        name: "kpi_paid_media",
        sql: include_str!("../../../sql/kpi/kpi_paid_media.sql"),
    },
    ViewFile {
        name: "kpi_web",
        sql: include_str!("../../../sql/kpi/kpi_web.sql"),
    },
    ViewFile {
        name: "ltv_cac",
        sql: include_str!("../../../sql/kpi/ltv_cac.sql"),
    },
    ViewFile {
        name: "funnel_cohorts",
        sql: include_str!("../../../sql/funnel/funnel_cohorts.sql"),
    },
    ViewFile {
        name: "pipeline_kpis",
        sql: include_str!("../../../sql/pipeline/pipeline_kpis.sql"),
    },
    ViewFile {
        name: "triangulation",
        sql: include_str!("../../../sql/triangulation/triangulation.sql"),
    },
    ViewFile {
        name: "forecast_daily",
        sql: include_str!("../../../sql/forecast/forecast_daily.sql"),
    },
    ViewFile {
        name: "response_curves",
        sql: include_str!("../../../sql/budget/response_curves.sql"),
    },
    ViewFile {
        name: "budget_pacing",
        sql: include_str!("../../../sql/budget/budget_pacing.sql"),
    },
];

impl ViewFile {
    /// The view's output columns (`-- columns:` in the header).
    pub fn columns(&self) -> Vec<String> {
        self.header_list("columns:")
    }

    /// The columns each connector mapping must produce (`-- sources:`; default: the columns).
    pub fn source_columns(&self) -> Vec<String> {
        let list = self.header_list("sources:");
        if list.is_empty() {
            self.columns()
        } else {
            list
        }
    }

    /// A comma-separated header list (it may continue on `--` lines that follow).
    fn header_list(&self, key: &str) -> Vec<String> {
        let mut text = String::new();
        let mut inside = false;
        for line in self.sql.lines() {
            let Some(comment) = line.trim().strip_prefix("--") else {
                break;
            };
            let comment = comment.trim();
            if let Some(rest) = comment.strip_prefix(key) {
                inside = true;
                text.push_str(rest);
            } else if inside && !comment.contains(':') {
                text.push(',');
                text.push_str(comment);
            } else {
                inside = false;
            }
        }
        text.split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The header comment as one paragraph (for `\d NAME` and docs).
    pub fn description(&self) -> String {
        self.sql
            .lines()
            .map_while(|l| l.trim().strip_prefix("--"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The view's SQL over the given mapping queries.
    pub fn expand(&self, mappings: &[String]) -> String {
        let sources = if mappings.is_empty() {
            let nulls: Vec<String> = self
                .source_columns()
                .iter()
                .map(|c| format!("NULL AS {c}"))
                .collect();
            format!("(SELECT {} WHERE false) AS sources", nulls.join(", "))
        } else {
            let parts: Vec<String> = mappings
                .iter()
                .map(|m| format!("SELECT * FROM ({m})"))
                .collect();
            format!("({}) AS sources", parts.join("\nUNION ALL\n"))
        };
        self.sql.replace("{sources}", &sources)
    }
}

/// The column holding each harmonized view's activity day (what `loopql sync` partitions and
/// windows it by); `None` for tables whose rows change at any time.
pub fn activity_day(view: &str) -> Option<&'static str> {
    match view {
        "ad_performance" => Some("date"),
        "sessions" => Some("session_date"),
        "campaign_changes" => Some("touch_date"),
        _ => None,
    }
}

/// Harmonized views a warehouse snapshot lacks, as empty typed relations.
pub(crate) async fn register_missing_harmonized(
    ctx: &SessionContext,
    present: &std::collections::BTreeSet<String>,
) -> Result<()> {
    for view in HARMONIZED {
        if present.contains(view.name) {
            continue;
        }
        let statement = format!("CREATE VIEW {} AS {}", view.name, view.expand(&[]));
        ctx.sql(&statement).await.map_err(|e| EngineError::View {
            view: view.name.to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Derived views a warehouse stores with each snapshot (computed by `loopql sync` for the
/// clients it touched, in this order: each may read the ones before it), so queries read them
/// instead of computing them: stitching every session to its person is the costliest step of
/// every attribution query, and `touchpoints` / `conversions` are what attribution reads.
pub const MATERIALIZED: &[&str] = &["identified_sessions", "touchpoints", "conversions"];

/// The query a sync computes a materialized derived view with, when it is not the view's own
/// SQL: the same rows, by a plan that may read its (then stored) inputs several times, which
/// live, over the connectors, would read the sources again. `identified_sessions` sorts and
/// windows only the sessions of devices seen with several persons.
pub fn materialized_sql(view: &str) -> Option<&'static str> {
    match view {
        "identified_sessions" => Some(include_str!(
            "../../../sql/derived/identified_sessions_stored.sql"
        )),
        _ => None,
    }
}

/// The day column a materialized derived view is partitioned by (`None`: one partition per
/// client — attribution reads a client's touches and conversions whole, and a few large files
/// read faster than a file per day).
pub fn materialized_day(view: &str) -> Option<&'static str> {
    match view {
        "identified_sessions" => Some("session_date"),
        _ => None,
    }
}

/// The tables and views `sql` reads, as its text names them (`connector.table` or `table`;
/// CTE names left out).
pub fn references(sql: &str) -> Result<std::collections::BTreeSet<String>> {
    let mut out = std::collections::BTreeSet::new();
    for statement in datafusion::sql::parser::DFParser::parse_sql(sql)? {
        let (relations, _ctes) =
            datafusion::sql::resolve::resolve_table_references(&statement, true)?;
        out.extend(relations.iter().map(|r| r.to_string()));
    }
    Ok(out)
}

/// The tables a derived view reads — harmonized, stored derived and reference tables — seen
/// through the derived views it reads that are not stored: what a stored derived table has to
/// be computed again after.
pub fn inputs(view: &str) -> Result<std::collections::BTreeSet<String>> {
    let file = DERIVED
        .iter()
        .find(|v| v.name == view)
        .ok_or_else(|| EngineError::View {
            view: view.to_string(),
            message: "not a shipped derived view".into(),
        })?;
    let mut out = std::collections::BTreeSet::new();
    for name in references(file.sql)? {
        if DERIVED.iter().any(|v| v.name == name) && !MATERIALIZED.contains(&name.as_str()) {
            out.extend(inputs(&name)?);
        } else {
            out.insert(name);
        }
    }
    Ok(out)
}

/// Creates the views over the harmonized ones, except those the read mode registered as tables
/// (`present`: a warehouse's materialized ones).
pub(crate) async fn register_derived(
    ctx: &SessionContext,
    present: &std::collections::BTreeSet<String>,
) -> Result<()> {
    for view in DERIVED.iter().filter(|v| !present.contains(v.name)) {
        let statement = format!("CREATE VIEW {} AS {}", view.name, view.sql);
        ctx.sql(&statement).await.map_err(|e| EngineError::View {
            view: view.name.to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Creates each harmonized view over the mappings given for it.
pub(crate) async fn register_harmonized(
    ctx: &SessionContext,
    mappings: &[(String, String)],
) -> Result<()> {
    for view in HARMONIZED {
        let sqls: Vec<String> = mappings
            .iter()
            .filter(|(name, _)| name == view.name)
            .map(|(_, sql)| sql.clone())
            .collect();
        let body = view.expand(&sqls);
        let statement = format!("CREATE VIEW {} AS {body}", view.name);
        ctx.sql(&statement).await.map_err(|e| EngineError::View {
            view: view.name.to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_harmonized_view_declares_its_columns_in_select_order() {
        for view in HARMONIZED {
            let cols = view.columns();
            assert!(!cols.is_empty(), "{} has no columns header", view.name);
            let mut last = 0;
            for c in &cols {
                let at = view
                    .sql
                    .find(&format!(" AS {c},"))
                    .or_else(|| view.sql.find(&format!(" AS {c}\n")));
                let at = at.unwrap_or_else(|| panic!("{}: column {c} not selected", view.name));
                assert!(at > last, "{}: column {c} out of order", view.name);
                last = at;
            }
            assert!(HARMONIZED_VIEWS.contains(&view.name));
        }
    }

    #[test]
    fn empty_sources_expand_to_a_typed_empty_relation() {
        let sql = HARMONIZED[0].expand(&[]);
        assert!(sql.contains("NULL AS date, NULL AS client_id"), "{sql}");
        assert!(sql.contains("WHERE false) AS sources"));
    }

    #[test]
    fn a_stored_view_s_inputs_are_the_tables_its_sql_reads() {
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            inputs("identified_sessions").unwrap(),
            set(&["contacts", "sessions"])
        );
        let touchpoints = inputs("touchpoints").unwrap();
        assert!(
            touchpoints.contains("identified_sessions"),
            "{touchpoints:?}"
        );
        assert!(!touchpoints.contains("ad_performance"), "{touchpoints:?}");
        let conversions = inputs("conversions").unwrap();
        for t in ["clients", "contacts", "deals", "identified_sessions"] {
            assert!(conversions.contains(t), "{t}: {conversions:?}");
        }
        // A derived view that is not stored is seen through: `roi_by_channel` reads the
        // attribution views, which read attribution() over the stored tables.
        let roi = inputs("roi_by_channel").unwrap();
        assert!(
            roi.contains("ad_performance") && roi.contains("costs"),
            "{roi:?}"
        );
        assert!(!roi.contains("attribution_by_channel"), "{roi:?}");
        assert!(inputs("no_such_view").is_err());
        // A harmonized view over a mapping reads the connector's table and the reference
        // tables.
        let ads = HARMONIZED
            .iter()
            .find(|v| v.name == "ad_performance")
            .unwrap();
        let sql = ads.expand(&["SELECT * FROM google_ads.campaign_stats".to_string()]);
        let read = references(&sql).unwrap();
        assert!(read.contains("google_ads.campaign_stats"), "{read:?}");
        assert!(
            read.contains("clients") && read.contains("fx_rates"),
            "{read:?}"
        );
    }
}
