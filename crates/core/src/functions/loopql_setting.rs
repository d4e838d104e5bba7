//! `loopql_setting(name)`: the current value of a loopql setting (`name` without the `loopql.`
//! prefix) as text, read when the query runs — how shipped views follow `SET loopql.*`.
//!
//! ```sql
//! SET loopql.triangulation.tolerance = 0.3;
//! SELECT CAST(loopql_setting('triangulation.tolerance') AS DOUBLE); -- 0.3
//! ```

use super::scalar_args::DOC_SECTION;
use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ExtensionOptions;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::{Arc, LazyLock};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LoopqlSetting {
    signature: Signature,
}

impl LoopqlSetting {
    pub fn new() -> Self {
        Self {
            // Stable: the same within a query, but it must not be folded into a view's plan.
            signature: Signature::any(1, Volatility::Stable),
        }
    }
}

impl Default for LoopqlSetting {
    fn default() -> Self {
        Self::new()
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The current value of a loopql setting, as text (SET loopql.<name> = ... changes it).",
        "loopql_setting(name)",
    )
    .with_sql_example("SELECT loopql_setting('attribution.lookback_days'); -- 30")
    .with_argument("name", "the setting without the `loopql.` prefix")
    .build()
});

impl ScalarUDFImpl for LoopqlSetting {
    fn name(&self) -> &str {
        "loopql_setting"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8] => Ok(DataType::Utf8),
            other => plan_err!("loopql_setting(name) takes one string, got {other:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let entries = crate::settings::of(&args.config_options).entries();
        let names = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let names = names.as_string::<i32>();
        let mut out = StringBuilder::with_capacity(rows, rows * 4);
        for i in 0..rows {
            if names.is_null(i) {
                out.append_null();
                continue;
            }
            let name = names.value(i);
            let name = name.strip_prefix("loopql.").unwrap_or(name);
            match entries.iter().find(|e| e.key == name) {
                Some(e) => out.append_option(e.value.as_deref()),
                None => {
                    return exec_err!(
                        "loopql_setting: no setting `{name}`; known: {}",
                        entries
                            .iter()
                            .map(|e| e.key.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}
