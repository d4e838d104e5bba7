//! `loopql report schedule` driven by an injected clock: reports run exactly at their cron ticks,
//! a failing report is logged and retried at the next tick without holding up the others.

use chrono::{DateTime, TimeZone, Utc};
use loopql_core::{EngineBuilder, Project};
use loopql_reports::schedule::{self, Clock, Entry};
use std::sync::Mutex;

/// A clock that jumps to each wake-up at once, calling `hook` with the time it jumps to.
struct FakeClock {
    now: Mutex<DateTime<Utc>>,
    hook: Box<dyn Fn(DateTime<Utc>) + Send + Sync>,
}

#[async_trait::async_trait]
impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }
    async fn sleep_until(&self, t: DateTime<Utc>) {
        let mut now = self.now.lock().unwrap();
        assert!(t >= *now, "the scheduler never sleeps backwards");
        *now = t;
        (self.hook)(t);
    }
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, h, m, s).unwrap()
}

fn ticks(entries: &[Entry], report: &str, client: &str, ok: bool) -> Vec<String> {
    entries
        .iter()
        .filter(|e| {
            e.report == report && e.client.as_deref() == Some(client) && e.outcome.is_ok() == ok
        })
        .map(|e| e.tick.format("%H:%M:%S").to_string())
        .collect()
}

#[tokio::test]
async fn reports_run_at_their_ticks_and_failures_do_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let project_file = loopql_test_support::probe_project(dir.path());
    let reports_dir = dir.path().join("reports");
    std::fs::create_dir_all(&reports_dir).unwrap();
    let write = |name: &str, schedule: &str, sql: &str| {
        std::fs::write(
            reports_dir.join(format!("{name}.sql")),
            format!("/*---\nschedule = \"{schedule}\"\nformats = [\"csv\"]\n---*/\n{sql}\n"),
        )
        .unwrap();
    };
    write(
        "minutely",
        "* * * * *",
        "SELECT client_id, currency FROM clients",
    );
    write("even", "*/2 * * * *", "SELECT count(*) AS n FROM clients");
    write("broken", "* * * * *", "SELECT * FROM no_such_table");
    write("flaky", "0 * * * *", "SELECT client_id FROM clients");
    write("unscheduled_never_runs", "0 0 1 1 *", "SELECT 1");
    let project = Project::load(&project_file).unwrap();
    let reports = schedule::scheduled(loopql_reports::load_all(&project).unwrap());
    assert_eq!(reports.len(), 5);

    // flaky's output folder is blocked by a file until 10:02: it fails at its 10:00 tick,
    // is retried at 10:01 (fails) and 10:02 (succeeds), and then waits for 11:00.
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let blocker = out.join("flaky");
    std::fs::write(&blocker, "not a folder").unwrap();
    let unblock = blocker.clone();
    let clock = FakeClock {
        now: Mutex::new(at(9, 59, 30)),
        hook: Box::new(move |t| {
            if t >= at(10, 2, 0) {
                let _ = std::fs::remove_file(&unblock);
            }
        }),
    };
    let mut seen = 0;
    let entries = schedule::run(
        &EngineBuilder::live(project.clone()),
        &reports,
        &out,
        &clock,
        Some(at(10, 5, 0)),
        &mut |_| seen += 1,
    )
    .await
    .unwrap();
    assert_eq!(seen, entries.len());
    let every_minute: Vec<String> = (0..=5).map(|m| format!("10:0{m}:00")).collect();
    for client in ["acme", "globex"] {
        assert_eq!(
            ticks(&entries, "minutely", client, true),
            every_minute,
            "{client}"
        );
        assert!(ticks(&entries, "minutely", client, false).is_empty());
        assert_eq!(
            ticks(&entries, "even", client, true),
            ["10:00:00", "10:02:00", "10:04:00"]
        );
        // Due every minute and retried: still one run per tick.
        assert_eq!(
            ticks(&entries, "broken", client, false),
            every_minute,
            "{client}"
        );
        assert_eq!(
            ticks(&entries, "flaky", client, false),
            ["10:00:00", "10:01:00"]
        );
        assert_eq!(ticks(&entries, "flaky", client, true), ["10:02:00"]);
        assert!(ticks(&entries, "unscheduled_never_runs", client, true).is_empty());
    }
    assert_eq!(
        clock.now(),
        at(10, 5, 0),
        "stopped at the last tick before --until"
    );

    // Dated outputs, and a log line per run.
    let csv = out.join("minutely/2026-11-24T1003/minutely-acme.csv");
    assert_eq!(
        std::fs::read_to_string(csv).unwrap(),
        "client_id,currency\nacme,USD\n"
    );
    let log = std::fs::read_to_string(out.join("schedule.log")).unwrap();
    assert_eq!(log.lines().count(), entries.len());
    let failed: Vec<&str> = log.lines().filter(|l| l.contains("\tfailed\t")).collect();
    assert_eq!(failed.len(), 2 * (6 + 2));
    assert!(
        failed.iter().any(
            |l| l.starts_with("2026-11-24T10:00:00Z\tfailed\tbroken\tacme\t")
                && l.contains("no_such_table")
        ),
        "{log}"
    );
}
