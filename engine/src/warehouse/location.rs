//! Where the warehouse lives: a local folder or an object-store URL (`s3://bucket/prefix`, any
//! S3-compatible store; credentials and endpoint from the usual `AWS_*` environment variables).
//! Both are reached through `object_store`, so the sync code has one path for both.

use crate::error::{EngineError, Result};
use datafusion::prelude::SessionContext;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// The warehouse's root, as the project file gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// An absolute folder.
    Local(PathBuf),
    /// An object-store URL (`s3://bucket/prefix`).
    Url(Url),
}

impl Location {
    /// `text` is a folder (relative to `base_dir`) or a URL with a scheme (`s3://...`,
    /// `file:///...`).
    pub fn parse(text: &str, base_dir: &Path) -> std::result::Result<Self, String> {
        if text.trim().is_empty() {
            return Err(
                "warehouse: expected a folder or an s3:// URL, found an empty string".into(),
            );
        }
        if !text.contains("://") {
            return Ok(Self::Local(base_dir.join(text)));
        }
        let url = Url::parse(text).map_err(|e| format!("warehouse `{text}`: not a URL ({e})"))?;
        match url.scheme() {
            "file" => url
                .to_file_path()
                .map(Self::Local)
                .map_err(|()| format!("warehouse `{text}`: not a local file URL")),
            "s3" | "s3a" => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(format!("warehouse `{text}`: expected s3://BUCKET/PREFIX"));
                }
                Ok(Self::Url(url))
            }
            other => Err(format!(
                "warehouse `{text}`: scheme `{other}` is not supported; use a folder or s3://BUCKET/PREFIX"
            )),
        }
    }

    /// For messages.
    pub fn display(&self) -> String {
        match self {
            Self::Local(p) => p.display().to_string(),
            Self::Url(u) => u.to_string(),
        }
    }

    /// The local folder, if the warehouse is one.
    pub fn local_dir(&self) -> Option<&Path> {
        match self {
            Self::Local(p) => Some(p),
            Self::Url(_) => None,
        }
    }

    /// The store, the root path inside it, and the URL the store is registered under in a
    /// DataFusion session (`file:///` or `s3://bucket/`).
    pub fn open(&self) -> Result<Store> {
        let fail = |message: String| EngineError::Warehouse {
            location: self.display(),
            message,
        };
        match self {
            Self::Local(dir) => {
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
            Self::Url(url) => {
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url.as_str())
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
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_urls_and_refusals() {
        let base = Path::new("/p");
        assert_eq!(
            Location::parse("wh", base),
            Ok(Location::Local(PathBuf::from("/p/wh")))
        );
        assert_eq!(
            Location::parse("file:///data/wh", base),
            Ok(Location::Local(PathBuf::from("/data/wh")))
        );
        assert!(matches!(
            Location::parse("s3://bucket/loopql/wh", base),
            Ok(Location::Url(_))
        ));
        let err = Location::parse("gs://bucket/x", base).unwrap_err();
        assert!(err.contains("scheme `gs` is not supported"), "{err}");
        let err = Location::parse("s3:///x", base).unwrap_err();
        assert!(err.contains("expected s3://BUCKET/PREFIX"), "{err}");
    }

    #[test]
    fn folder_urls_end_in_a_slash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Location::Local(dir.path().to_path_buf()).open().unwrap();
        let url = store.folder_url("snapshots/000001/ad_performance");
        assert!(url.starts_with("file:///"), "{url}");
        assert!(url.ends_with("/snapshots/000001/ad_performance/"), "{url}");
    }
}
