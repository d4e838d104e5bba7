//! Where the warehouse lives, as the project file says: a local folder or an object-store URL
//! (`s3://bucket/prefix`, any S3-compatible store). loopql-warehouse opens it.

use std::path::{Path, PathBuf};
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
}
