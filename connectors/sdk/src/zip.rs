//! The first file of a ZIP archive (a platform's zipped report download), stored or deflated,
//! found through the central directory (so entries written with a data descriptor read too).
//! Anything else — another compression method, encryption, a truncated archive — is a clear
//! error naming the archive.

use crate::ConnectorError;
use std::io::Read;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// `(name, bytes)` of the archive's first file; `label` names the archive in errors.
pub fn first_file(archive: &[u8], label: &str) -> Result<(String, Vec<u8>), ConnectorError> {
    let bad =
        |what: &str| ConnectorError::Other(format!("{label}: not a readable ZIP archive ({what})"));
    // End of central directory: 22 bytes, then a comment of up to 64 KiB.
    let floor = archive.len().saturating_sub(22 + 65_535);
    let eocd = (floor..archive.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(archive, i) == Some(0x0605_4b50))
        .ok_or_else(|| bad("no end of central directory"))?;
    let entries = u16_at(archive, eocd + 10).ok_or_else(|| bad("truncated"))?;
    if entries == 0 {
        return Err(bad("it holds no file"));
    }
    let cd = u32_at(archive, eocd + 16).ok_or_else(|| bad("truncated"))? as usize;
    if u32_at(archive, cd) != Some(0x0201_4b50) {
        return Err(bad("no central directory entry"));
    }
    let flags = u16_at(archive, cd + 8).ok_or_else(|| bad("truncated"))?;
    let method = u16_at(archive, cd + 10).ok_or_else(|| bad("truncated"))?;
    let compressed = u32_at(archive, cd + 20).ok_or_else(|| bad("truncated"))? as usize;
    let size = u32_at(archive, cd + 24).ok_or_else(|| bad("truncated"))? as usize;
    let name_len = u16_at(archive, cd + 28).ok_or_else(|| bad("truncated"))? as usize;
    let local = u32_at(archive, cd + 42).ok_or_else(|| bad("truncated"))? as usize;
    let name = archive
        .get(cd + 46..cd + 46 + name_len)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .ok_or_else(|| bad("truncated"))?;
    if flags & 1 != 0 {
        return Err(bad("the file is encrypted"));
    }
    if u32_at(archive, local) != Some(0x0403_4b50) {
        return Err(bad("no local header"));
    }
    let start = local
        + 30
        + u16_at(archive, local + 26).ok_or_else(|| bad("truncated"))? as usize
        + u16_at(archive, local + 28).ok_or_else(|| bad("truncated"))? as usize;
    let data = archive
        .get(start..start + compressed)
        .ok_or_else(|| bad("truncated"))?;
    let bytes = match method {
        0 => data.to_vec(),
        8 => {
            let mut out = Vec::with_capacity(size);
            flate2::read::DeflateDecoder::new(data)
                .read_to_end(&mut out)
                .map_err(|e| bad(&format!("its data does not inflate: {e}")))?;
            out
        }
        other => {
            return Err(bad(&format!(
                "compression method {other}; only stored and deflated files are read"
            )));
        }
    };
    if bytes.len() != size {
        return Err(bad("the file's size is not the one the archive declares"));
    }
    Ok((name, bytes))
}

/// A one-file archive of `bytes` named `name` (deflated): what tests and stand-in servers serve.
pub fn archive(name: &str, bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = enc.write_all(bytes);
    let data = enc.finish().unwrap_or_default();
    let crc = crc32(bytes);
    let mut out = Vec::new();
    let header = |out: &mut Vec<u8>, central: bool| {
        if central {
            out.extend(0x0201_4b50u32.to_le_bytes());
            out.extend(20u16.to_le_bytes()); // made by
        } else {
            out.extend(0x0403_4b50u32.to_le_bytes());
        }
        out.extend(20u16.to_le_bytes()); // version needed
        out.extend(0u16.to_le_bytes()); // flags
        out.extend(8u16.to_le_bytes()); // deflated
        out.extend(0u32.to_le_bytes()); // time, date
        out.extend(crc.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((bytes.len() as u32).to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes()); // extra
        if central {
            out.extend(0u16.to_le_bytes()); // comment length
            out.extend(0u16.to_le_bytes()); // disk number
            out.extend(0u16.to_le_bytes()); // internal attributes
            out.extend(0u32.to_le_bytes()); // external attributes
            out.extend(0u32.to_le_bytes()); // local header at 0
        }
        out.extend(name.as_bytes());
    };
    header(&mut out, false);
    out.extend(&data);
    let cd = out.len();
    header(&mut out, true);
    let cd_len = out.len() - cd;
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]); // disks
    out.extend(1u16.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend((cd_len as u32).to_le_bytes());
    out.extend((cd as u32).to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// CRC-32 (IEEE), as ZIP records it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_round_trips_and_damage_is_named() {
        let text = "TimePeriod,Clicks\n2024-03-01,5\n".repeat(50);
        let zip = archive("report.csv", text.as_bytes());
        let (name, bytes) = first_file(&zip, "report 7").unwrap();
        assert_eq!(name, "report.csv");
        assert_eq!(bytes, text.as_bytes());
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926, "the standard check value");
        let err = first_file(&zip[..zip.len() / 2], "report 7")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("report 7: not a readable ZIP archive"),
            "{err}"
        );
        let err = first_file(b"<html>expired link</html>", "report 7")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no end of central directory"), "{err}");
    }

    #[test]
    fn an_independent_reader_reads_what_archive_writes() {
        // Python's zipfile checks the headers, sizes and CRC the writer records.
        let text = "TimePeriod,Clicks\n2024-03-01,5\n".repeat(20);
        let dir = std::env::temp_dir().join(format!("loopql-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("report.zip");
        std::fs::write(&path, archive("report.csv", text.as_bytes())).unwrap();
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                "import sys, zipfile\n\
                 z = zipfile.ZipFile(sys.argv[1])\n\
                 assert z.testzip() is None\n\
                 [i] = z.infolist()\n\
                 sys.stdout.write(i.filename + '|' + z.read(i).decode())",
            )
            .arg(&path)
            .output()
            .expect("python3 runs (the test suite's set-up installs it)");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("report.csv|{text}")
        );
    }
}
