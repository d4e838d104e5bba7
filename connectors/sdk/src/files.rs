//! Helpers for file-based connectors: expand a glob option into files, open plain or `.gz`.

use crate::ConnectorError;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The files matching `pattern`, sorted so scans are deterministic. No match is an error: a
/// source that silently reads nothing would report zero spend.
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>, ConnectorError> {
    let paths = glob::glob(pattern).map_err(|e| ConnectorError::InvalidOption {
        name: "path".into(),
        message: format!("`{pattern}` is not a valid glob: {e}"),
    })?;
    let mut files = Vec::new();
    for entry in paths {
        match entry {
            Ok(p) if p.is_file() => files.push(p),
            Ok(_) => {}
            Err(e) => {
                let path = e.path().to_path_buf();
                return Err(ConnectorError::Io {
                    path,
                    source: e.into(),
                });
            }
        }
    }
    if files.is_empty() {
        return Err(ConnectorError::NoFiles {
            pattern: pattern.to_string(),
        });
    }
    files.sort();
    Ok(files)
}

/// Opens a file for reading, decompressing it when its name ends in `.gz`.
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>, ConnectorError> {
    let file = std::fs::File::open(path).map_err(|source| ConnectorError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = BufReader::with_capacity(1 << 16, file);
    if is_gzip(path) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Reads a whole (possibly gzipped) file into memory.
pub fn read_to_string(path: &Path) -> Result<String, ConnectorError> {
    let mut text = String::new();
    open(path)?
        .read_to_string(&mut text)
        .map_err(|source| ConnectorError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(text)
}

/// Reads `paths` with `read` (one batch per file), several files at once on worker threads
/// (see [`crate::ahead`]), as a stream of batches in file order for
/// [`ScanRequest::finish`](crate::ScanRequest::finish); the first error ends the stream.
pub fn batches<F>(
    paths: Vec<PathBuf>,
    read: F,
) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + 'static
where
    F: Fn(&Path) -> Result<RecordBatch, ConnectorError> + Send + Sync + 'static,
{
    streamed(paths, move |p, sink| {
        sink.push(read(p)?);
        Ok(())
    })
}

/// Like [`batches`], for decoders that hand a file's batches on as they make them, so a big
/// file is never held whole.
pub fn streamed<F>(
    paths: Vec<PathBuf>,
    decode: F,
) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + 'static
where
    F: Fn(&Path, &mut crate::ahead::Sink<'_>) -> Result<(), ConnectorError> + Send + Sync + 'static,
{
    crate::ahead::decoded(paths, crate::ahead::cores(), decode)
}

pub fn is_gzip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The file's extension, looking through a trailing `.gz` (`a.csv.gz` -> `csv`).
pub fn format_extension(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn expand_sorts_and_refuses_empty() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.csv", "a.csv", "c.txt"] {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        let pattern = format!("{}/*.csv", dir.path().display());
        let files = expand(&pattern).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.csv", "b.csv"]);
        let none = format!("{}/*.json", dir.path().display());
        assert!(matches!(expand(&none), Err(ConnectorError::NoFiles { .. })));
    }

    #[test]
    fn open_reads_gzip_transparently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"a,b\n1,2\n").unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        assert_eq!(read_to_string(&path).unwrap(), "a,b\n1,2\n");
        assert_eq!(format_extension(&path).as_deref(), Some("csv"));
    }
}
