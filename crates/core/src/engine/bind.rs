//! A source's options bound to its connector's declared options: unknown option, wrong type,
//! missing required option are errors naming the source and its line; defaults are filled and
//! path and glob options resolved against the project folder.

use crate::error::{EngineError, Result};
use crate::plugin_host::BoundSource;
use crate::project::{Project, Source};
use loopql_connector_sdk::{OptionKind, OptionSpec};

/// Checks a source's options against its connector's declared options, fills defaults, resolves
/// path and glob options against the project folder, and serializes them for the ABI.
pub(super) fn bind_source(
    project: &Project,
    source: &Source,
    specs: &[OptionSpec],
) -> Result<BoundSource> {
    let err = |message: String| EngineError::Source {
        location: source.location.clone(),
        source_name: source.name.clone(),
        message,
    };
    let allowed = || {
        specs
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut options = serde_json::Map::new();
    for (key, value) in &source.options {
        let spec = specs.iter().find(|s| &s.name == key).ok_or_else(|| {
            err(format!(
                "connector `{}` has no option `{key}`; allowed: {}",
                source.connector,
                allowed()
            ))
        })?;
        let ok = match spec.kind {
            OptionKind::String | OptionKind::Path | OptionKind::Glob => value.is_string(),
            OptionKind::Bool => value.is_boolean(),
            OptionKind::Integer => value.is_i64() || value.is_u64(),
            OptionKind::Number => value.is_number(),
        };
        if !ok {
            return Err(err(format!(
                "option `{key}`: expected {}, found {value}",
                spec.kind.describe()
            )));
        }
        let value = match (spec.kind, value.as_str()) {
            (OptionKind::Path | OptionKind::Glob, Some(p)) => {
                serde_json::Value::String(project.base_dir.join(p).to_string_lossy().into_owned())
            }
            _ => value.clone(),
        };
        options.insert(key.clone(), value);
    }
    for spec in specs {
        if options.contains_key(&spec.name) {
            continue;
        }
        if spec.required {
            return Err(err(format!(
                "connector `{}` needs option `{}` ({}: {})",
                source.connector,
                spec.name,
                spec.kind.describe(),
                spec.description
            )));
        }
        if let Some(default) = &spec.default {
            options.insert(spec.name.clone(), default.clone());
        }
    }
    Ok(BoundSource {
        name: source.name.clone(),
        client_id: source.client_id.clone(),
        options_json: serde_json::Value::Object(options).to_string(),
    })
}
