//! `\annotate`: the shell's command for adding a note to the project's annotations (stored by
//! loopql-core's `annotations`, shown by reports).

use chrono::NaiveDate;
use loopql_core::annotations::Annotation;

/// `\annotate [client=ID] DATE[..END] [channel=NAME] [campaign=NAME] TEXT...` as an
/// annotation; `client` is the shell's scope when the command names none.
pub fn parse_command(
    args: &str,
    client: Option<&str>,
    author: Option<String>,
) -> std::result::Result<Annotation, String> {
    let usage =
        "usage: \\annotate [client=ID] DATE[..END_DATE] [channel=NAME] [campaign=NAME] TEXT";
    let mut rest = args.trim();
    let mut client = client.map(str::to_string);
    let mut channel = None;
    let mut campaign = None;
    let mut dates = None;
    while let Some((word, tail)) = next_word(rest) {
        let word = word.as_str();
        if let Some(v) = word.strip_prefix("client=") {
            client = Some(v.to_string());
        } else if let Some(v) = word.strip_prefix("channel=") {
            channel = Some(v.to_string());
        } else if let Some(v) = word.strip_prefix("campaign=") {
            campaign = Some(v.to_string());
        } else if dates.is_none() {
            let (a, b) = match word.split_once("..") {
                Some((a, b)) => (a, Some(b)),
                None => (word, None),
            };
            let parse = |s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| format!("expected a date YYYY-MM-DD, found `{s}`; {usage}"))
            };
            let start = parse(a)?;
            let end = b.map(parse).transpose()?;
            if end.is_some_and(|e| e < start) {
                return Err(format!("the range `{word}` ends before it starts"));
            }
            dates = Some((start, end));
        } else {
            break;
        }
        rest = tail;
    }
    let (date, end_date) = dates.ok_or_else(|| usage.to_string())?;
    let client_id = client.ok_or_else(|| {
        format!("which client? scope the shell with \\client ID or write client=ID; {usage}")
    })?;
    let text = rest.trim().trim_matches('"').to_string();
    if text.is_empty() {
        return Err(format!("the annotation has no text; {usage}"));
    }
    Ok(Annotation {
        client_id,
        date,
        end_date,
        channel,
        campaign,
        author,
        text,
    })
}

/// The next word and the rest; `"..."` quotes keep spaces (`channel="Paid Search"`).
fn next_word(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let mut word = String::new();
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return Some((word, &s[i..])),
            c => word.push(c),
        }
    }
    Some((word, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_command() {
        let a = parse_command(
            "2024-03-04..2024-03-10 channel=\"Paid Search\" Spring sale, 20% off",
            Some("acme"),
            Some("ann".into()),
        )
        .unwrap();
        assert_eq!(a.client_id, "acme");
        assert_eq!(a.date.to_string(), "2024-03-04");
        assert_eq!(
            a.end_date.map(|d| d.to_string()).as_deref(),
            Some("2024-03-10")
        );
        assert_eq!(a.channel.as_deref(), Some("Paid Search"));
        assert_eq!(a.text, "Spring sale, 20% off");
        let e = parse_command("2024-03-04 x", None, None).unwrap_err();
        assert!(e.contains("which client"), "{e}");
        let e = parse_command("client=acme 03/04/2024 x", None, None).unwrap_err();
        assert!(e.contains("YYYY-MM-DD"), "{e}");
        let e = parse_command("client=acme 2024-03-04", None, None).unwrap_err();
        assert!(e.contains("no text"), "{e}");
    }
}
