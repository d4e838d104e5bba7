//! The warehouse's location opened as an object store (a local folder or any S3-compatible
//! store; credentials and endpoint from the usual `AWS_*` environment variables), so the sync
//! and the readers have one code path for both.

use datafusion::prelude::SessionContext;
use loopql_core::error::{EngineError, Result};
use loopql_core::project::location::Location;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use std::sync::Arc;
use url::Url;

/// An opened warehouse location.
#[derive(Debug, Clone)]
pub struct Store {
    pub store: Arc<dyn ObjectStore>,
    /// The warehouse's root inside the store.
    pub root: StorePath,
    /// Scheme and authority the store answers to.
    pub base: Url,
}

impl Store {
    /// The store, the root path inside it, and the URL the store is registered under in a
    /// DataFusion session (`file:///` or `s3://bucket/`).
    pub fn open(location: &Location) -> Result<Store> {
        let fail = |message: String| EngineError::Warehouse {
            location: location.display(),
            message,
        };
        match location {
            Location::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| fail(format!("cannot create the folder: {e}")))?;
                let dir = dir
                    .canonicalize()
                    .map_err(|e| fail(format!("cannot resolve the folder: {e}")))?;
                let root = StorePath::from_absolute_path(&dir)
                    .map_err(|e| fail(format!("not a usable path: {e}")))?;
                let base = Url::parse("file:///").map_err(|e| fail(e.to_string()))?;
                Ok(Store {
                    store: Arc::new(LocalFileSystem::new()),
                    root,
                    base,
                })
            }
            Location::Url(url) => {
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry()?)
                    .build()
                    .map_err(|e| fail(format!("cannot open the object store: {e}")))?;
                let bucket = url.host_str().unwrap_or_default();
                let base = Url::parse(&format!("{}://{bucket}/", url.scheme()))
                    .map_err(|e| fail(e.to_string()))?;
                Ok(Store {
                    store: Arc::new(store),
                    root: StorePath::from(url.path().trim_matches('/')),
                    base,
                })
            }
        }
    }

    /// `root/relative`.
    pub fn path(&self, relative: &str) -> StorePath {
        let mut p = self.root.clone();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    /// The URL of a folder under the root, ending in `/` (what a listing table wants).
    pub fn folder_url(&self, relative: &str) -> String {
        format!("{}{}/", self.base, self.path(relative))
    }

    /// Makes the store reachable from a session's listing tables (local files always are).
    pub fn register(&self, ctx: &SessionContext) {
        if self.base.scheme() != "file" {
            ctx.register_object_store(&self.base, self.store.clone());
        }
    }
}

/// Object stores for a process that is handed plans over warehouse files without opening the
/// warehouse itself (a cluster executor): local files, and each `s3://` bucket opened on first
/// use from the `AWS_*` environment, as [`Store::open`] does.
#[derive(Debug, Default)]
pub struct OnDemand {
    known: datafusion::execution::object_store::DefaultObjectStoreRegistry,
}

impl datafusion::execution::object_store::ObjectStoreRegistry for OnDemand {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        match self.known.get_store(url) {
            Ok(store) => return Ok(store),
            Err(e) if url.scheme() != "s3" => return Err(e),
            Err(_) => {}
        }
        let bucket = url.host_str().unwrap_or_default();
        let base = Url::parse(&format!("s3://{bucket}/"))
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        let store =
            object_store::aws::AmazonS3Builder::from_env()
                .with_url(base.as_str())
                .with_retry(retry().map_err(|e| {
                    datafusion::error::DataFusionError::Configuration(e.to_string())
                })?)
                .build()?;
        let store: Arc<dyn ObjectStore> = Arc::new(store);
        self.known.register_store(&base, store.clone());
        Ok(store)
    }
}

/// Environment variable: how long, in seconds, a request to an object store is retried
/// (unreachable server, 5xx) before the sync or query fails; 180 by default.
pub const RETRY_SECS: &str = "LOOPQL_STORE_RETRY_SECS";

fn retry() -> Result<object_store::RetryConfig> {
    let mut config = object_store::RetryConfig::default();
    if let Ok(text) = std::env::var(RETRY_SECS) {
        let secs: u64 = text.trim().parse().map_err(|_| {
            EngineError::Mode(format!(
                "{RETRY_SECS} is `{text}`, not a number of seconds; set it to e.g. 60 or unset it"
            ))
        })?;
        config.retry_timeout = std::time::Duration::from_secs(secs);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_urls_end_in_a_slash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&Location::Local(dir.path().to_path_buf())).unwrap();
        let url = store.folder_url("snapshots/000001/ad_performance");
        assert!(url.starts_with("file:///"), "{url}");
        assert!(url.ends_with("/snapshots/000001/ad_performance/"), "{url}");
    }
}
