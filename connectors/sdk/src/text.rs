//! Text helpers shared by file connectors: dates and timestamps as exports write them, and line
//! numbers for error locations.

/// Days since the epoch.
pub fn parse_date(text: &str) -> Option<i32> {
    let t = text.trim();
    let date = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(t, "%m/%d/%Y"))
        .or_else(|_| chrono::NaiveDate::parse_from_str(t, "%Y%m%d"))
        .ok()?;
    i32::try_from(
        date.signed_duration_since(chrono::NaiveDate::default())
            .num_days(),
    )
    .ok()
}

/// Microseconds since the epoch, UTC.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_micros());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = chrono::DateTime::parse_from_str(t, format) {
            return Some(dt.timestamp_micros());
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, format) {
            return Some(dt.and_utc().timestamp_micros());
        }
    }
    if t.len() == 13 && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().ok().map(|ms| ms * 1000);
    }
    if let Some(d) = parse_date(t) {
        return Some(i64::from(d) * 86_400_000_000);
    }
    None
}

/// Line numbers of byte offsets in a text. The csv crate's own `Position::line` is off after
/// blank lines and on CRLF files (it counts from where the previous record's terminator ended),
/// so error locations come from here: the line of the first byte of the record's content.
pub struct LineIndex<'a> {
    text: &'a [u8],
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { text, starts }
    }

    /// The 1-based line of the first non-terminator byte at or after `byte`.
    pub fn line(&self, byte: u64) -> u64 {
        let mut at = byte as usize;
        while at < self.text.len() && matches!(self.text[at], b'\r' | b'\n') {
            at += 1;
        }
        self.starts.partition_point(|&s| s <= at) as u64
    }

    /// The line of a record (or 0 when the reader gave no position).
    pub fn of(&self, position: Option<&csv::Position>) -> u64 {
        position.map(|p| self.line(p.byte())).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_terminators_to_the_content() {
        let text = b"a\r\n\r\nb\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line(0), 1);
        assert_eq!(
            index.line(1),
            3,
            "from the end of line 1, the next content is on line 3"
        );
        assert_eq!(index.line(5), 3);
    }

    #[test]
    fn dates_in_three_layouts() {
        assert_eq!(parse_date("2024-01-02"), parse_date("1/2/2024"));
        assert_eq!(parse_date("20240102"), Some(19724));
        assert_eq!(parse_date("2024-13-01"), None);
    }
}
