//! The project file as written: serde types with `deny_unknown_fields`, every field documented
//! with its default. `parse.rs` turns them into a checked [`super::Project`].

use serde::Deserialize;
use toml::Spanned;

/// The file as written. See [`Project`] for the resolved form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProjectFile {
    /// Where `loopql sync` keeps the Parquet warehouse: a folder (relative to the project file)
    /// or an `s3://BUCKET/PREFIX` URL. Default: `"warehouse"`, next to the project file.
    #[serde(default)]
    pub(super) warehouse: Option<Spanned<String>>,
    /// Where connector libraries are looked for. Default: see [`PluginsFile`].
    #[serde(default)]
    pub(super) plugins: PluginsFile,
    /// The agency's clients. Default: none.
    #[serde(default)]
    pub(super) clients: Vec<ClientFile>,
    /// The data sources, each read by one connector for one client. Default: none.
    #[serde(default)]
    pub(super) sources: Vec<SourceFile>,
    /// Exchange rates for converting to each client's reporting currency. Default: none (only
    /// amounts already in the reporting currency convert).
    #[serde(default)]
    pub(super) fx: Option<FxFile>,
    /// Extra or overriding source categories for channel grouping: a CSV `client_id,source,category`
    /// (empty client_id: every client; category search, social, video or shopping). Default: none
    /// (loopql's shipped list only).
    #[serde(default)]
    pub(super) source_categories: Option<String>,
    /// Planned spend: a CSV `client_id,month,channel,campaign,planned_spend` (see
    /// `crate::budgets`). Default: none.
    #[serde(default)]
    pub(super) budgets: Option<String>,
    /// Acquisition costs besides media: a CSV `client_id,month,category,amount` (see
    /// `crate::costs`). Default: none.
    #[serde(default)]
    pub(super) costs: Option<String>,
    /// `loopql serve`: principals and query limits (see `crate::server_config`). Default: no
    /// principals (the server refuses to start).
    #[serde(default)]
    pub(super) server: Option<crate::server_config::ServerFile>,
    /// `loopql sync` run unattended. Default: none.
    #[serde(default)]
    pub(super) sync: Option<SyncFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SyncFile {
    /// When to sync, as a cron pattern in UTC (`minute hour day month weekday`, an optional
    /// leading seconds field; e.g. `"0 */6 * * *"`): what `loopql sync --on-schedule` and
    /// `loopql serve` follow. Default: none.
    #[serde(default)]
    pub(super) schedule: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FxFile {
    /// Rates file: the ECB's `eurofxref-hist.csv` (Date,USD,JPY,...) or a long CSV with columns
    /// `date,currency,per_eur`. Required.
    pub(super) path: String,
    /// Days a published rate stays usable after its date (weekends, holidays). Default: 7.
    #[serde(default = "default_fx_days")]
    pub(super) fill_days: u32,
}

fn default_fx_days() -> u32 {
    7
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PluginsFile {
    /// Folders searched for connector libraries. Default: `[]`.
    #[serde(default)]
    pub(super) dirs: Vec<String>,
    /// Connector library files loaded explicitly. Default: `[]`.
    #[serde(default)]
    pub(super) paths: Vec<String>,
    /// Also search the folder of the `loopql` executable and `$LOOPQL_PLUGIN_PATH`. Default: `true`.
    #[serde(default = "default_true")]
    pub(super) search_default_dirs: bool,
}

impl Default for PluginsFile {
    fn default() -> Self {
        Self {
            dirs: Vec::new(),
            paths: Vec::new(),
            search_default_dirs: true,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClientFile {
    /// Identifier used in `client_id` columns: lowercase letters, digits, `_` and `-`. Required.
    pub(super) id: Spanned<String>,
    /// Display name. Default: the id.
    #[serde(default)]
    pub(super) name: Option<String>,
    /// Reporting currency, ISO 4217. Default: `"USD"`.
    #[serde(default)]
    pub(super) currency: Option<Spanned<String>>,
    /// Reporting time zone, IANA name. Default: `"UTC"`.
    #[serde(default)]
    pub(super) time_zone: Option<Spanned<String>>,
    /// Gross margin on revenue, above 0 and at most 1, for LTV. Default: 1 (LTV on revenue).
    #[serde(default)]
    pub(super) gross_margin: Option<Spanned<f64>>,
    /// Share of customers lost per month, above 0 and at most 1; with it LTV is the subscription
    /// formula. Default: none (LTV is the revenue customers brought so far).
    #[serde(default)]
    pub(super) monthly_churn: Option<Spanned<f64>>,
    /// Months a deal's amount covers, to turn it into monthly revenue. Default: 12.
    #[serde(default)]
    pub(super) contract_months: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceFile {
    /// Unique name of the source. Default: `"<client_id>_<connector>"`.
    #[serde(default)]
    pub(super) name: Option<Spanned<String>>,
    /// The connector's name, as its manifest gives it (`loopql connectors list`). Required.
    pub(super) connector: Spanned<String>,
    /// The client this source's rows belong to; must be one of `clients`. Required.
    pub(super) client_id: Spanned<String>,
    /// Options for the connector (`loopql connectors list` shows each connector's). Default: none.
    #[serde(default)]
    pub(super) options: Option<Spanned<toml::Table>>,
    /// `loopql sync`: days before the newest synced day that are read again at each sync, for
    /// sources that restate recent days (late conversions, deduplication). 0 to 3650.
    /// Default: 30.
    #[serde(default)]
    pub(super) restatement_days: Option<Spanned<i64>>,
}
