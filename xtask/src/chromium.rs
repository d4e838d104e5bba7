//! Headless Chromium for the HTML report test: found on PATH, else installed from Debian's
//! `chromium` package (with a font, so pages render text).

use anyhow::{Context, Result};
use std::path::PathBuf;

fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
    .find(|p| p.is_file())
}

/// The browser's path.
pub fn ensure() -> Result<PathBuf> {
    if let Some(p) = find() {
        return Ok(p);
    }
    crate::apt::install(&["chromium", "fonts-dejavu-core"], "Chromium")?;
    find().context("Chromium installed but no chromium executable on PATH")
}
