//! Text helpers shared by file connectors: dates and timestamps as exports write them, and line
//! numbers for error locations.

/// Days since the epoch.
pub fn parse_date(text: &str) -> Option<i32> {
    let t = text.trim();
    if let Some(days) = fast_date(t.as_bytes()) {
        return Some(days);
    }
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
    if let Some(micros) = fast_timestamp(t.as_bytes()) {
        return Some(micros);
    }
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

/// The value of ASCII digits, or `None` if any byte is not one.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// Days from 1970-01-01 to a valid civil date (the proleptic Gregorian calendar), or `None`.
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<i32> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days {
        return None;
    }
    let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    i32::try_from(era * 146_097 + day_of_era - 719_468).ok()
}

/// The two layouts exports write most, without trying every format: `YYYY-MM-DD` and
/// `YYYYMMDD`. Anything else (or an invalid date) is left to the full parser.
fn fast_date(b: &[u8]) -> Option<i32> {
    match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => {
            days_from_civil(digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..])?)
        }
        8 => days_from_civil(digits(&b[..4])?, digits(&b[4..6])?, digits(&b[6..])?),
        _ => None,
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction]` naive (UTC), or with `T` and `Z`, `±HH:MM` or `±HHMM`:
/// exactly the values the full parser reads the same way. Anything else is left to it.
fn fast_timestamp(b: &[u8]) -> Option<i64> {
    if b.len() < 19 || b[13] != b':' || b[16] != b':' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let day = fast_date(&b[..10])?;
    let (hour, minute, second) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0i64;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        let value = i64::from(digits(&fraction[..n])?);
        micros = value * 10i64.pow(9 - n as u32) / 1000;
        rest = &fraction[n..];
    }
    let offset_seconds = match rest {
        [] => 0,
        _ if b[10] != b'T' => return None,
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let s = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -s } else { s }
        }
        _ => return None,
    };
    let seconds =
        i64::from(day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    Some(seconds * 1_000_000 + micros)
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
    use chrono::Datelike;

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

    /// The slow parser alone, to check the fast paths against.
    fn chrono_timestamp(t: &str) -> Option<i64> {
        if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
            return Some(dt.timestamp_micros());
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
            if let Ok(dt) = chrono::DateTime::parse_from_str(t, format) {
                return Some(dt.timestamp_micros());
            }
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, format) {
                return Some(dt.and_utc().timestamp_micros());
            }
        }
        None
    }

    #[test]
    fn fast_timestamps_agree_with_the_full_parser() {
        let cases = [
            "2024-01-05T10:10:00Z",
            "2024-01-05T10:10:00.5Z",
            "2024-01-05T10:10:00.123456789Z",
            "2024-01-05 10:10:00.123",
            "2024-01-05 10:10:00",
            "2024-01-05T10:10:00",
            "2024-02-29T23:59:59+01:00",
            "2024-03-01T00:00:00-0530",
            "1969-12-31T23:59:59.999999Z",
            "1900-03-01 00:00:00",
            "2400-02-29 12:00:00",
        ];
        for t in cases {
            let fast = fast_timestamp(t.as_bytes());
            assert!(fast.is_some(), "{t} takes the fast path");
            assert_eq!(fast, chrono_timestamp(t), "{t}");
        }
        for t in [
            "2023-02-29 00:00:00",
            "2024-01-05 24:00:00",
            "2024-01-05 10:10:60",
            "2024-01-05 10:10:00Z",
            "2024-01-05T10:10:00.Z",
            "2024-01-05T10:10:00+1:00",
            "2024-1-05 10:10:00",
            "2024-01-05T10:10:00.1234567890Z",
        ] {
            assert_eq!(fast_timestamp(t.as_bytes()), None, "{t} is left to chrono");
        }
        // Left to chrono, the same answer as before.
        assert_eq!(
            parse_timestamp("2024-01-05T10:10:00.1234567890Z"),
            chrono_timestamp("2024-01-05T10:10:00.1234567890Z")
        );
    }

    #[test]
    fn fast_dates_agree_with_chrono() {
        let epoch = chrono::NaiveDate::default();
        let mut day = chrono::NaiveDate::from_ymd_opt(1899, 12, 25).unwrap();
        while day.year() < 2101 {
            let want = day.signed_duration_since(epoch).num_days() as i32;
            let dashed = day.format("%Y-%m-%d").to_string();
            let packed = day.format("%Y%m%d").to_string();
            assert_eq!(fast_date(dashed.as_bytes()), Some(want), "{dashed}");
            assert_eq!(fast_date(packed.as_bytes()), Some(want), "{packed}");
            day = day + chrono::Days::new(1);
        }
        for bad in [
            "2023-02-29",
            "2024-00-10",
            "2024-13-01",
            "20240431",
            "2024/01/01",
        ] {
            assert_eq!(fast_date(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn dates_in_three_layouts() {
        assert_eq!(parse_date("2024-01-02"), parse_date("1/2/2024"));
        assert_eq!(parse_date("20240102"), Some(19724));
        assert_eq!(parse_date("2024-13-01"), None);
    }
}
