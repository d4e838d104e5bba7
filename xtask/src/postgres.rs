//! A throw-away PostgreSQL server for the test suite: installed from Debian's packages when
//! missing, initialized with password authentication in a fresh folder, started on a free
//! loopback port with every statement logged (tests read the log to see the SQL the connector
//! sent), and stopped when the guard is dropped.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const USER: &str = "loopql";
pub const PASSWORD: &str = "loopql-test-password";

pub struct Server {
    bin: PathBuf,
    data: PathBuf,
    as_user: Option<String>,
    pub port: u16,
    pub log: PathBuf,
}

fn find_bin_dir() -> Option<PathBuf> {
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| d.join(b).exists())
    };
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates.into_iter().find(|d| has_all(d))
}

fn install() -> Result<()> {
    crate::apt::install(&["postgresql"], "PostgreSQL (initdb, pg_ctl, postgres)")
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

impl Server {
    pub fn start() -> Result<Self> {
        let bin = match find_bin_dir() {
            Some(b) => b,
            None => {
                install()?;
                find_bin_dir()
                    .context("PostgreSQL installed but initdb/pg_ctl/postgres not found")?
            }
        };
        // PostgreSQL refuses to run as root: run it as the `postgres` account the package makes.
        let as_user = crate::apt::is_root().then(|| "postgres".to_string());
        if as_user.is_some()
            && !Command::new("id")
                .arg("postgres")
                .output()?
                .status
                .success()
        {
            run(
                Command::new("useradd").args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    "postgres",
                ]),
                "useradd postgres",
            )?;
        }
        let root = std::env::temp_dir().join(format!("loopql-test-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root)?;
        let data = root.join("data");
        let pwfile = root.join("pw");
        std::fs::write(&pwfile, PASSWORD)?;
        let log = root.join("server.log");
        if let Some(user) = &as_user {
            run(
                Command::new("chown").args(["-R", user]).arg(&root),
                "chown of the test server folder",
            )?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let server = Self {
            bin,
            data,
            as_user,
            port,
            log,
        };
        let mut initdb = server.command("initdb");
        initdb
            .arg("-D")
            .arg(&server.data)
            .args([
                "-U",
                USER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
        run(&mut initdb, "initdb")?;
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c log_statement=all -c fsync=off",
            root.display()
        );
        let mut start = server.command("pg_ctl");
        start
            .arg("-D")
            .arg(&server.data)
            .arg("-l")
            .arg(&server.log)
            .args(["-w", "-o", &options, "start"]);
        run(&mut start, "pg_ctl start")?;
        eprintln!(
            "    (PostgreSQL on 127.0.0.1:{port}, log {})",
            server.log.display()
        );
        Ok(server)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    /// Environment the tests read to reach the server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LOOPQL_TEST_PG_HOST", "127.0.0.1".into()),
            ("LOOPQL_TEST_PG_PORT", self.port.to_string()),
            ("LOOPQL_TEST_PG_USER", USER.into()),
            ("LOOPQL_TEST_PG_PASSWORD", PASSWORD.into()),
            ("LOOPQL_TEST_PG_WRONG_PASSWORD", "not-the-password".into()),
            ("LOOPQL_TEST_PG_LOG", self.log.display().to_string()),
        ]
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"])
            .output();
        if let Some(root) = self.data.parent() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}
