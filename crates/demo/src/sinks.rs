//! Output files written as the generator goes (one per day or month), so that a large `--scale`
//! never holds a whole export in memory.

use crate::error::{DemoError, Result};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

enum Sink {
    Plain(BufWriter<std::fs::File>),
    Gzip(Box<flate2::write::GzEncoder<BufWriter<std::fs::File>>>),
}

/// Files in one folder, opened on first use, each starting with `header`.
pub struct Sinks {
    folder: PathBuf,
    gzip: bool,
    header: &'static str,
    open: BTreeMap<String, (PathBuf, Sink)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `exports/<client>/<source>/` under the project folder `dir`, created.
pub fn export_folder(dir: &Path, client: &str, source: &str) -> Result<PathBuf> {
    let folder = dir.join("exports").join(client).join(source);
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    Ok(folder)
}

impl Sinks {
    pub fn new(folder: PathBuf, gzip: bool, header: &'static str) -> Result<Self> {
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        Ok(Sinks {
            folder,
            gzip,
            header,
            open: BTreeMap::new(),
        })
    }

    /// Appends `text` to file `name` (`.gz` added when gzipping).
    pub fn write(&mut self, name: &str, text: &str) -> Result<()> {
        if !self.open.contains_key(name) {
            let file_name = if self.gzip {
                format!("{name}.gz")
            } else {
                name.to_string()
            };
            let path = self.folder.join(file_name);
            let file = BufWriter::new(std::fs::File::create(&path).map_err(io(&path))?);
            let mut sink = if self.gzip {
                Sink::Gzip(Box::new(flate2::write::GzEncoder::new(
                    file,
                    flate2::Compression::fast(),
                )))
            } else {
                Sink::Plain(file)
            };
            sink_write(&mut sink, self.header).map_err(io(&path))?;
            self.open.insert(name.to_string(), (path, sink));
        }
        if let Some((path, sink)) = self.open.get_mut(name) {
            sink_write(sink, text).map_err(io(path))?;
        }
        Ok(())
    }

    /// Flushes and closes every file; returns their paths in name order.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for (_, (path, sink)) in self.open {
            match sink {
                Sink::Plain(mut w) => w.flush().map_err(io(&path))?,
                Sink::Gzip(w) => {
                    w.finish()
                        .and_then(|mut inner| inner.flush())
                        .map_err(io(&path))?;
                }
            }
            out.push(path);
        }
        Ok(out)
    }
}

fn sink_write(sink: &mut Sink, text: &str) -> std::io::Result<()> {
    match sink {
        Sink::Plain(w) => w.write_all(text.as_bytes()),
        Sink::Gzip(w) => w.write_all(text.as_bytes()),
    }
}
