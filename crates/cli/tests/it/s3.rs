//! The S3-compatible test server `cargo xtask test` starts (moto, over HTTP on loopback): a
//! fresh bucket per test, the `AWS_*` environment a `loopql` process reaches it with, reads of
//! what a sync left there, and a proxy in front of it that can go away mid-sync.

use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The test server's address; missing fails the test (never skips): run the tests with
/// `cargo xtask test`, which starts it.
pub fn endpoint() -> String {
    std::env::var("LOOPQL_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "LOOPQL_TEST_S3_ENDPOINT is not set: run the tests with `cargo xtask test`, which starts the S3 test server"
        )
    })
}

/// A bucket of its own on the test server.
pub struct Bucket {
    pub name: String,
    /// Where `loopql` reaches the server (the server itself, or a proxy in front of it).
    pub endpoint: String,
    store: Arc<dyn ObjectStore>,
    runtime: tokio::runtime::Runtime,
}

impl Bucket {
    pub fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "loopql-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let endpoint = endpoint();
        // CreateBucket (the test server does not check signatures).
        let answer = http(&endpoint, "PUT", &format!("/{name}"));
        assert!(answer.starts_with("HTTP/1.1 200"), "CreateBucket: {answer}");
        let store = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&name)
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap();
        Self {
            name,
            endpoint,
            store: Arc::new(store),
            runtime: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    /// The environment a `loopql` process reaches the bucket with.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// An object's bytes, `None` when absent.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.runtime.block_on(async {
            match self.store.get(&StorePath::from(key)).await {
                Ok(r) => Some(r.bytes().await.unwrap().to_vec()),
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => panic!("GET {key}: {e}"),
            }
        })
    }

    /// Writes an object.
    pub fn put(&self, key: &str, bytes: Vec<u8>) {
        self.runtime.block_on(async {
            self.store
                .put(&StorePath::from(key), bytes.into())
                .await
                .unwrap();
        });
    }

    /// Every key under `prefix`.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt;
        self.runtime.block_on(async {
            let listed: Vec<_> = self
                .store
                .list(Some(&StorePath::from(prefix)))
                .try_collect()
                .await
                .unwrap();
            let mut keys: Vec<String> =
                listed.into_iter().map(|m| m.location.to_string()).collect();
            keys.sort();
            keys
        })
    }
}

/// One HTTP/1.1 request without a body; the whole answer as text.
fn http(endpoint: &str, method: &str, path: &str) -> String {
    let host = endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

/// A TCP proxy on loopback in front of the test server that can go away (connections cut,
/// new ones closed at once) and come back.
pub struct Proxy {
    pub endpoint: String,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut held = open2.lock().unwrap();
                held.push(client.try_clone().unwrap());
                held.push(server.try_clone().unwrap());
                drop(held);
                pump(client.try_clone().unwrap(), server.try_clone().unwrap());
                pump(server, client);
            }
        });
        Self { endpoint, up, open }
    }

    /// The server goes away: open connections are cut, new ones closed at once.
    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// The server is back.
    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}
