//! Where a live connector's secrets come from — never `loopql.toml`: an environment variable the
//! source's options name (`<secret>_env`, with a default name), or a credentials file
//! (`credentials_file`) of `key: value` / `key = value` lines that only its owner may read
//! (permissions 0600 or stricter; a group- or world-readable file is refused). Messages name the
//! variable or the file and the key, never the value.

use crate::{ConnectorError, ScanRequest};
use std::collections::BTreeMap;
use std::path::Path;

/// A source's secrets: the credentials file's entries (if it names one) and the options that
/// name environment variables.
pub struct Secrets<'a> {
    request: &'a ScanRequest,
    file: Option<(String, BTreeMap<String, String>)>,
}

impl<'a> Secrets<'a> {
    /// Reads the source's `credentials_file`, if it has one.
    pub fn new(request: &'a ScanRequest) -> Result<Self, ConnectorError> {
        let file = match request.option_str("credentials_file") {
            Some(path) => Some((path.to_string(), read_file(Path::new(path))?)),
            None => None,
        };
        Ok(Self { request, file })
    }

    /// The secret `key`: from the variable option `{key}_env` names (default `default_env`)
    /// when it is set, else from the credentials file; an error says where it was looked for.
    pub fn required(&self, key: &str, default_env: &str) -> Result<String, ConnectorError> {
        self.optional(key, default_env)?.ok_or_else(|| {
            let option = format!("{key}_env");
            let var = self.request.option_str(&option).unwrap_or(default_env);
            let file = match &self.file {
                Some((path, _)) => format!(" nor has `{key}` in the credentials file {path}"),
                None => String::new(),
            };
            ConnectorError::InvalidOption {
                name: option,
                message: format!(
                    "${var} is not set{file}; export the {key} in it (or name another variable \
                     in the source's `{key}_env` option, or a 0600 `credentials_file`)"
                ),
            }
        })
    }

    /// The secret `key` if it is given anywhere.
    pub fn optional(&self, key: &str, default_env: &str) -> Result<Option<String>, ConnectorError> {
        let var = self
            .request
            .option_str(&format!("{key}_env"))
            .unwrap_or(default_env);
        if let Ok(value) = std::env::var(var)
            && !value.trim().is_empty()
        {
            return Ok(Some(value.trim().to_string()));
        }
        Ok(self
            .file
            .as_ref()
            .and_then(|(_, entries)| entries.get(key).cloned()))
    }
}

/// The text of a file holding secrets (a credentials file, a service account's JSON key),
/// refused when others may read it.
pub fn read_private(path: &Path, option: &str) -> Result<String, ConnectorError> {
    let io = |source| ConnectorError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ConnectorError::InvalidOption {
                name: option.into(),
                message: format!(
                    "{} may be read by others (permissions {mode:03o}); it holds secrets: \
                     `chmod 600 {}`",
                    path.display(),
                    path.display()
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    std::fs::read_to_string(path).map_err(io)
}

/// A credentials file's `key: value` / `key = value` entries (quotes around values dropped,
/// `#` comments and blank lines skipped), refused when others may read it.
pub fn read_file(path: &Path) -> Result<BTreeMap<String, String>, ConnectorError> {
    let text = read_private(path, "credentials_file")?;
    let mut entries = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let split = line
            .find([':', '='])
            .ok_or_else(|| ConnectorError::Malformed {
                path: path.to_path_buf(),
                line: i as u64 + 1,
                column: 1,
                message: "expected `key: value` or `key = value` (the value is not shown)".into(),
            })?;
        let key = line[..split].trim().to_string();
        let value = line[split + 1..]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string();
        entries.insert(key, value);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str, mode: u32) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("google-ads.yaml");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        (dir, path)
    }

    #[test]
    fn a_private_file_gives_its_entries() {
        let (_d, path) = file(
            "# Google Ads\ndeveloper_token: \"DEV\"\nclient_id = abc.apps\n\nrefresh_token: '1//x'\n",
            0o600,
        );
        let entries = read_file(&path).unwrap();
        assert_eq!(entries["developer_token"], "DEV");
        assert_eq!(entries["client_id"], "abc.apps");
        assert_eq!(entries["refresh_token"], "1//x");
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_may_read_is_refused() {
        let (_d, path) = file("refresh_token: SECRET\n", 0o644);
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.contains("permissions 644"), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn a_bad_line_is_located_without_its_value() {
        let (_d, path) = file("client_id: a\nSECRETVALUE\n", 0o600);
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.contains(":2:1"), "{err}");
        assert!(!err.contains("SECRETVALUE"), "{err}");
    }

    #[test]
    fn the_named_variable_wins_and_a_missing_secret_says_where_it_was_looked_for() {
        let (_d, path) = file("refresh_token: FROMFILE\n", 0o600);
        let request = ScanRequest::new("t")
            .with_option("credentials_file", path.to_str().unwrap())
            .with_option("refresh_token_env", "LOOPQL_SDK_TEST_UNSET_VAR");
        let secrets = Secrets::new(&request).unwrap();
        assert_eq!(
            secrets.required("refresh_token", "X").unwrap(),
            "FROMFILE",
            "the file fills in an unset variable"
        );
        let err = secrets
            .required("developer_token", "LOOPQL_SDK_TEST_UNSET_DEV")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("$LOOPQL_SDK_TEST_UNSET_DEV is not set"),
            "{err}"
        );
        assert!(err.contains("credentials file"), "{err}");
        // PATH is always set: a variable named in the options is read first.
        let request = ScanRequest::new("t").with_option("client_id_env", "PATH");
        let secrets = Secrets::new(&request).unwrap();
        assert_eq!(
            secrets.required("client_id", "X").unwrap(),
            std::env::var("PATH").unwrap().trim()
        );
    }
}
