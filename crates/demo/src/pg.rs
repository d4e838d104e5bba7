//! Loads a demo client's CRM into a PostgreSQL server, as a company's own CRM database would hold
//! it, for the `postgres` connector to read.

use crate::error::{DemoError, Result};
use std::io::Write;

/// A server to load into: a libpq-style connection string (`host=… port=… user=… dbname=…`)
/// and the environment variable holding the password (read here, and by the connector later;
/// the project file never holds it).
#[derive(Debug, Clone)]
pub struct PgTarget {
    pub config: postgres::Config,
    pub password_env: String,
}

impl PgTarget {
    /// Parses `conninfo`; the password comes from `password_env` when that is set.
    pub fn parse(conninfo: &str, password_env: &str) -> Result<Self> {
        let mut config: postgres::Config = conninfo
            .parse()
            .map_err(|e| DemoError::Demo(format!("--postgres `{conninfo}`: {e}")))?;
        if let Ok(password) = std::env::var(password_env) {
            config.password(password);
        }
        Ok(PgTarget {
            config,
            password_env: password_env.to_string(),
        })
    }

    /// The `postgres` connector's options for this server, as TOML lines.
    pub fn options_toml(&self) -> String {
        let host = self
            .config
            .get_hosts()
            .iter()
            .find_map(|h| match h {
                postgres::config::Host::Tcp(h) => Some(h.clone()),
                #[cfg(unix)]
                postgres::config::Host::Unix(_) => None,
            })
            .unwrap_or_else(|| "127.0.0.1".into());
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let user = self.config.get_user().unwrap_or("postgres");
        let database = self.config.get_dbname().unwrap_or(user);
        format!(
            "host = \"{host}\"\nport = {port}\nuser = \"{user}\"\ndatabase = \"{database}\"\npassword_env = \"{}\"\n",
            self.password_env
        )
    }
}

/// A table to create and fill: name, column definitions, rows as CSV (no header).
pub struct Table {
    pub name: &'static str,
    pub columns: &'static str,
    pub csv: String,
    /// What COPY reads: the columns the rows hold, in order, and the format's options
    /// (e.g. `(a, b) FROM STDIN (FORMAT csv, DELIMITER E'\t')`); `None`: every column, as CSV.
    pub copy: Option<&'static str>,
    /// Statements run after the rows are in (`{table}` is the qualified name): indexes, ANALYZE.
    pub after: &'static str,
}

impl Table {
    /// A table filled from CSV rows holding every column.
    pub fn csv(name: &'static str, columns: &'static str, csv: String) -> Self {
        Self {
            name,
            columns,
            csv,
            copy: None,
            after: "",
        }
    }
}

/// Replaces `schema`'s tables with `tables` in one transaction: a failed load leaves the
/// previous demo data as it was.
pub fn load(target: &PgTarget, schema: &str, tables: &[Table]) -> Result<()> {
    // The synchronous client runs its own runtime, which may not start inside the caller's.
    std::thread::scope(|s| {
        s.spawn(|| load_now(target, schema, tables))
            .join()
            .unwrap_or_else(|_| Err(DemoError::Demo("PostgreSQL load panicked".into())))
    })
}

fn load_now(target: &PgTarget, schema: &str, tables: &[Table]) -> Result<()> {
    let fail = |what: &str, e: postgres::Error| DemoError::Demo(format!("PostgreSQL {what}: {e}"));
    let mut client = target
        .config
        .connect(postgres::NoTls)
        .map_err(|e| fail("connect", e))?;
    let mut tx = client.transaction().map_err(|e| fail("begin", e))?;
    tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
        .map_err(|e| fail("create schema", e))?;
    for t in tables {
        tx.batch_execute(&format!(
            "DROP TABLE IF EXISTS \"{schema}\".{0}; CREATE TABLE \"{schema}\".{0} ({1})",
            t.name, t.columns
        ))
        .map_err(|e| fail(&format!("create table {}", t.name), e))?;
        let mut writer = tx
            .copy_in(&format!(
                "COPY \"{schema}\".{} {}",
                t.name,
                t.copy.unwrap_or("FROM STDIN (FORMAT csv)")
            ))
            .map_err(|e| fail(&format!("copy into {}", t.name), e))?;
        writer
            .write_all(t.csv.as_bytes())
            .map_err(|e| DemoError::Demo(format!("PostgreSQL copy into {}: {e}", t.name)))?;
        writer
            .finish()
            .map_err(|e| fail(&format!("copy into {}", t.name), e))?;
        if !t.after.is_empty() {
            let table = format!("\"{schema}\".{}", t.name);
            tx.batch_execute(&t.after.replace("{table}", &table))
                .map_err(|e| fail(&format!("index {}", t.name), e))?;
        }
    }
    tx.commit().map_err(|e| fail("commit", e))
}
