//! Conversion paths (DOMAIN.md §1): a conversion's path is its person's touches at or before it
//! within the lookback window, after the direct policy and the path transform, and then at most
//! the last `lookback_steps` of them.

use super::{DIRECT, Touch};
use crate::settings::{AttributionOptions, DirectPolicy, PathTransform};

/// A touch as read: when, its channel group (for the direct policy), and what it is credited to
/// (the channel, or a campaign).
#[derive(Debug, Clone, PartialEq)]
pub struct RawTouch {
    pub ts: i64,
    pub channel: String,
    pub key: String,
}

const DAY_US: i64 = 86_400_000_000;

/// The path of a conversion at `conversion_ts` (µs) over `touches` (one person's, in time
/// order).
pub fn path(touches: &[RawTouch], conversion_ts: i64, options: &AttributionOptions) -> Vec<Touch> {
    let lookback = i64::try_from(options.lookback_days)
        .unwrap_or(i64::MAX / DAY_US)
        .saturating_mul(DAY_US);
    let window: Vec<&RawTouch> = touches
        .iter()
        .filter(|t| t.ts <= conversion_ts && conversion_ts - t.ts <= lookback)
        .collect();
    let all_direct = window.iter().all(|t| t.channel == DIRECT);
    let kept = window.into_iter().filter(|t| match options.direct_policy {
        DirectPolicy::Keep => true,
        DirectPolicy::Exclude => t.channel != DIRECT,
        DirectPolicy::LastNonDirect => all_direct || t.channel != DIRECT,
    });
    let mut out: Vec<Touch> = Vec::new();
    for t in kept {
        let keep = match options.path_transform {
            PathTransform::Unique => true,
            PathTransform::Exposure => out.last().is_none_or(|l| l.key != t.key),
            PathTransform::First => !out.iter().any(|o| o.key == t.key),
        };
        if keep {
            out.push(Touch {
                key: t.key.clone(),
                ts: t.ts,
            });
        }
    }
    let steps = usize::try_from(options.lookback_steps).unwrap_or(usize::MAX);
    if steps > 0 && out.len() > steps {
        out.drain(..out.len() - steps);
    }
    out
}

/// Parses a path written as text: `a > b > c` (the separator is `>`; blanks around names are
/// ignored; an empty string is an empty path).
pub fn parse(text: &str) -> Vec<String> {
    text.split('>')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touches(spec: &[(i64, &str)]) -> Vec<RawTouch> {
        spec.iter()
            .map(|(day, c)| RawTouch {
                ts: day * DAY_US,
                channel: c.to_string(),
                key: c.to_string(),
            })
            .collect()
    }

    fn keys(p: &[Touch]) -> Vec<&str> {
        p.iter().map(|t| t.key.as_str()).collect()
    }

    #[test]
    fn lookback_window_is_inclusive_and_ignores_later_touches() {
        let t = touches(&[(0, "A"), (10, "B"), (40, "C"), (41, "D")]);
        let o = AttributionOptions::default();
        // Conversion on day 40: A is 40 days before (outside 30), B 30 days (inside), D after.
        assert_eq!(keys(&path(&t, 40 * DAY_US, &o)), ["B", "C"]);
    }

    #[test]
    fn transforms_direct_policy_and_steps() {
        let t = touches(&[
            (1, "A"),
            (2, "Direct"),
            (3, "A"),
            (4, "A"),
            (5, "B"),
            (6, "A"),
        ]);
        let at = 6 * DAY_US;
        let mut o = AttributionOptions::default();
        assert_eq!(keys(&path(&t, at, &o)), ["A", "Direct", "A", "A", "B", "A"]);
        o.path_transform = PathTransform::Exposure;
        assert_eq!(keys(&path(&t, at, &o)), ["A", "Direct", "A", "B", "A"]);
        o.direct_policy = DirectPolicy::Exclude;
        assert_eq!(keys(&path(&t, at, &o)), ["A", "B", "A"]);
        o.path_transform = PathTransform::First;
        assert_eq!(keys(&path(&t, at, &o)), ["A", "B"]);
        o.path_transform = PathTransform::Unique;
        o.lookback_steps = 2;
        assert_eq!(keys(&path(&t, at, &o)), ["B", "A"]);
    }

    #[test]
    fn an_all_direct_path_survives_last_non_direct_but_not_exclude() {
        let t = touches(&[(1, "Direct"), (2, "Direct")]);
        let mut o = AttributionOptions {
            direct_policy: DirectPolicy::LastNonDirect,
            ..Default::default()
        };
        assert_eq!(keys(&path(&t, 2 * DAY_US, &o)), ["Direct", "Direct"]);
        o.direct_policy = DirectPolicy::Exclude;
        assert!(path(&t, 2 * DAY_US, &o).is_empty());
    }

    #[test]
    fn text_paths() {
        assert_eq!(parse(" a > b>c "), ["a", "b", "c"]);
        assert!(parse("").is_empty());
    }
}
