//! The S3-compatible server the tests write warehouses to: moto's standalone server (PyPI
//! `moto[server]`, installed with the tests' Python packages), speaking the S3 protocol over
//! HTTP on loopback. Each test makes its own bucket.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    pub fn start(python: &str) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::env::temp_dir().join(format!("loopql-test-s3-{}.log", std::process::id()));
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .with_context(|| format!("cannot start `{python} -m moto.server`"))?;
        let mut server = Self { child, port };
        let started = Instant::now();
        while !server.answers() {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the S3 test server (moto) exited ({status}); its log: {}",
                    log.display()
                );
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "the S3 test server (moto) did not answer within 60 s; its log: {}",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "    (S3 test server on 127.0.0.1:{port}, log {})",
            log.display()
        );
        Ok(server)
    }

    /// Whether the server answers an S3 `ListBuckets`.
    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let request = format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        let mut answer = String::new();
        s.write_all(request.as_bytes()).is_ok()
            && s.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.1 200")
    }

    /// Environment the tests read to reach the server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![(
            "LOOPQL_TEST_S3_ENDPOINT",
            format!("http://127.0.0.1:{}", self.port),
        )]
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
