//! Unattended syncs: `loopql sync --every DURATION`, `loopql sync --on-schedule` (the project's
//! `[sync] schedule`, a cron pattern in UTC) and `loopql serve`. Runs never overlap: each is an
//! ordinary [`crate::sync`] under the warehouse's lock (whose lease a killed sync cannot leave
//! held for long); a run that finds the lock held, or that fails, is reported and the loop
//! waits for the next time. A run that outlasts its interval starts the next one at once, never
//! a backlog of them.

use crate::{SyncOptions, SyncSummary};
use chrono::{DateTime, Utc};
use loopql_core::error::{EngineError, Result};
use loopql_core::project::Project;
use std::time::Duration;

/// When syncs run.
#[derive(Debug, Clone)]
pub enum Every {
    /// A fixed interval between the starts of two runs (the first one at once).
    Interval(Duration),
    /// The ticks of a cron pattern (UTC).
    Cron(String, Box<croner::Cron>),
}

impl Every {
    /// `30s`, `15m`, `6h`, `1d` (a number and a unit; at least one second).
    pub fn interval(text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: u64 = number.parse().map_err(|_| {
            format!("`{text}`: expected a number and a unit, e.g. 30s, 15m, 6h or 1d")
        })?;
        let seconds = match unit.trim() {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86_400,
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}`; use s, m, h or d (e.g. 6h)"
                ));
            }
        };
        if seconds == 0 {
            return Err(format!("`{text}`: the interval must be at least 1s"));
        }
        Ok(Every::Interval(Duration::from_secs(seconds)))
    }

    /// The project's `[sync] schedule` (already checked when the project was read).
    pub fn project(project: &Project) -> Option<Self> {
        let pattern = project.sync_schedule.as_deref()?;
        let cron = pattern.parse::<croner::Cron>().ok()?;
        Some(Every::Cron(pattern.to_string(), Box::new(cron)))
    }

    /// When the run after one that started at `started` is due (never before `now`).
    pub fn next(&self, started: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Every::Interval(d) => {
                let due =
                    started + chrono::Duration::from_std(*d).unwrap_or(chrono::TimeDelta::MAX);
                due.max(now)
            }
            Every::Cron(_, cron) => cron.find_next_occurrence(&now, false).unwrap_or(now),
        }
    }

    /// What the loop says it follows.
    pub fn describe(&self) -> String {
        match self {
            Every::Interval(d) => format!("every {}s", d.as_secs()),
            Every::Cron(pattern, _) => format!("on the schedule `{pattern}` (UTC)"),
        }
    }
}

/// What became of one scheduled run.
pub struct Run {
    /// 1, 2, ...
    pub number: u64,
    pub started: DateTime<Utc>,
    pub outcome: Result<SyncSummary>,
}

/// Syncs `project` at the times `every` gives until `runs` runs were made (forever when
/// `None`), handing each run to `on_run` (a server drops its engines there when the run
/// committed a snapshot, so its next queries read the new one).
pub async fn run<F: FnMut(&Run) + Send>(
    project: &Project,
    options: &SyncOptions,
    every: &Every,
    runs: Option<u64>,
    mut on_run: F,
) -> Result<()> {
    let mut number = 0;
    // A cron schedule waits for its first tick; an interval starts at once.
    let mut due = match every {
        Every::Interval(_) => Utc::now(),
        Every::Cron(..) => every.next(Utc::now(), Utc::now()),
    };
    loop {
        if runs.is_some_and(|r| number >= r) {
            return Ok(());
        }
        if let Ok(wait) = (due - Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
        number += 1;
        let started = Utc::now();
        let outcome = crate::sync(project, options).await;
        on_run(&Run {
            number,
            started,
            outcome,
        });
        due = every.next(started, Utc::now());
    }
}

/// Whether a run failed only because another sync held the warehouse.
pub fn overlapped(error: &EngineError) -> bool {
    error
        .to_string()
        .contains("another `loopql sync` is running")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn intervals_read_a_number_and_a_unit() {
        let secs = |t: &str| match Every::interval(t).unwrap() {
            Every::Interval(d) => d.as_secs(),
            Every::Cron(..) => unreachable!(),
        };
        assert_eq!(secs("30s"), 30);
        assert_eq!(secs("15m"), 900);
        assert_eq!(secs("6h"), 21_600);
        assert_eq!(secs(" 1d "), 86_400);
        assert!(
            Every::interval("6")
                .unwrap_err()
                .contains("unknown unit ``")
        );
        assert!(
            Every::interval("h")
                .unwrap_err()
                .contains("expected a number")
        );
        assert!(Every::interval("0s").unwrap_err().contains("at least 1s"));
        assert!(
            Every::interval("2w")
                .unwrap_err()
                .contains("unknown unit `w`")
        );
    }

    #[test]
    fn the_next_run_follows_the_interval_or_the_pattern_and_never_piles_up() {
        let at = |h, m, s| Utc.with_ymd_and_hms(2026, 12, 7, h, m, s).unwrap();
        let hourly = Every::interval("1h").unwrap();
        assert_eq!(hourly.next(at(6, 0, 0), at(6, 10, 0)), at(7, 0, 0));
        assert_eq!(
            hourly.next(at(6, 0, 0), at(7, 30, 0)),
            at(7, 30, 0),
            "a run that outlasted its interval is followed at once, once"
        );
        let cron = Every::Cron(
            "0 */6 * * *".into(),
            Box::new("0 */6 * * *".parse().unwrap()),
        );
        assert_eq!(cron.next(at(6, 0, 0), at(6, 0, 5)), at(12, 0, 0));
        assert_eq!(cron.next(at(6, 0, 0), at(11, 59, 59)), at(12, 0, 0));
        assert!(cron.describe().contains("0 */6 * * *"));
    }
}
