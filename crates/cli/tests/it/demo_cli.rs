//! `loopql demo` end to end: its ground truth equals what the harmonized views return, its ads
//! follow the journeys and over-report, `--scale` grows it linearly, `--restated` restates only
//! the last days.

use crate::support::{csv_query, loopql, run};
use std::path::{Path, PathBuf};

pub(crate) fn truth(demo: &Path, name: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(demo.join("ground_truth").join(name))
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

pub(crate) fn close(ours: &str, theirs: &str) -> bool {
    let (a, b): (f64, f64) = (ours.parse().unwrap(), theirs.parse().unwrap());
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn demo_totals_equal_its_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let (out, stdout, stderr) = run(&mut loopql(&[
        "demo",
        "--dir",
        demo.to_str().unwrap(),
        "--seed",
        "11",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Try next:"), "{stdout}");
    let project = demo.join("loopql.toml");

    // Ads: spend per client, platform and month, in the account's currency and converted to the
    // reporting one.
    let ours = csv_query(
        &project,
        "SELECT client_id, platform, to_char(date, '%Y-%m') AS month, sum(impressions), sum(clicks), \
         sum(spend_original), sum(spend), sum(conversions), sum(conversion_value) FROM ad_performance \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    );
    let mut expected = truth(&demo, "ads_by_client_platform_month.csv");
    expected.sort_by(|a, b| (&a[0], &a[1], &a[2]).cmp(&(&b[0], &b[1], &b[2])));
    // 3 months of Google and Meta for 3 clients, LinkedIn for one, Microsoft for another.
    assert_eq!(ours.len(), 24);
    assert_eq!(ours.len(), expected.len());
    for (o, t) in ours.iter().zip(&expected) {
        assert_eq!(
            (&o[0], &o[1], &o[2], &o[3], &o[4]),
            (&t[0], &t[1], &t[2], &t[4], &t[5]),
            "{o:?} vs {t:?}"
        );
        for (a, b) in [(5, 6), (6, 7), (7, 8), (8, 10)] {
            assert!(close(&o[a], &t[b]), "column {a}: {o:?} vs {t:?}");
        }
    }
    // initech's Google Ads account bills in USD and reports in GBP: the conversion really happened.
    let initech = expected
        .iter()
        .find(|t| &t[0] == "initech" && &t[1] == "google_ads")
        .unwrap();
    assert_eq!(&initech[3], "USD");
    assert!(!close(&initech[6], &initech[7]));

    // CRM: deals won and revenue per client and close month.
    let ours = csv_query(
        &project,
        "SELECT client_id, to_char(closed_date, '%Y-%m') AS month, count(*), sum(amount) FROM deals WHERE is_won \
         GROUP BY 1, 2 ORDER BY 1, 2",
    );
    let expected = truth(&demo, "crm_won_by_client_month.csv");
    assert!(!expected.is_empty());
    assert_eq!(ours.len(), expected.len());
    for (o, t) in ours.iter().zip(&expected) {
        assert_eq!(
            (&o[0], &o[1], &o[2]),
            (&t[0], &t[1], &t[2]),
            "{o:?} vs {t:?}"
        );
        assert!(close(&o[3], &t[3]), "{o:?} vs {t:?}");
    }

    // CRM campaign touches (globex's Salesforce webinar) reach touchpoints, keyed to CRM people.
    let crm = csv_query(
        &project,
        "SELECT t.client_id, count(*), count(c.email) FROM touchpoints t \
         LEFT JOIN contacts c ON c.client_id = t.client_id AND c.email = t.person_key \
         WHERE t.touch_type = 'crm_campaign' GROUP BY 1",
    );
    assert_eq!(crm.len(), 1, "{crm:?}");
    assert_eq!(&crm[0][0], "globex");
    assert!(crm[0][1].parse::<u64>().unwrap() > 0);
    assert_eq!(crm[0][1], crm[0][2], "every CRM touch is a known contact");

    // Web and funnel: sessions per client (GA4 or Snowplow) and leads (HubSpot or Salesforce).
    let sessions = csv_query(
        &project,
        "SELECT client_id, count(*) FROM sessions GROUP BY 1 ORDER BY 1",
    );
    let leads = csv_query(
        &project,
        "SELECT client_id, count(*) FROM contacts GROUP BY 1 ORDER BY 1",
    );
    let expected = truth(&demo, "web_by_client.csv");
    for ((s, l), t) in sessions.iter().zip(&leads).zip(&expected) {
        assert_eq!(
            (&s[0], &s[1], &l[1]),
            (&t[0], &t[1], &t[2]),
            "{s:?} {l:?} vs {t:?}"
        );
    }

    // The same seed writes the same data; another seed does not.
    let again = dir.path().join("again");
    run(&mut loopql(&[
        "demo",
        "--dir",
        again.to_str().unwrap(),
        "--seed",
        "11",
    ]));
    let a = std::fs::read(demo.join("ground_truth/ads_by_client_platform_month.csv")).unwrap();
    assert_eq!(
        a,
        std::fs::read(again.join("ground_truth/ads_by_client_platform_month.csv")).unwrap()
    );
    let other = dir.path().join("other");
    run(&mut loopql(&[
        "demo",
        "--dir",
        other.to_str().unwrap(),
        "--seed",
        "12",
    ]));
    assert_ne!(
        a,
        std::fs::read(other.join("ground_truth/ads_by_client_platform_month.csv")).unwrap()
    );
}

/// Writes a demo project with `args` into `dir/name` and returns its project file.
fn demo_project(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let demo = dir.join(name);
    let mut all = vec!["demo", "--dir", demo.to_str().unwrap()];
    all.extend_from_slice(args);
    let (out, _, stderr) = run(&mut loopql(&all));
    assert!(out.status.success(), "{stderr}");
    demo.join("loopql.toml")
}

#[test]
fn demo_ads_follow_the_journeys_and_over_report_conversions() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo_project(dir.path(), "demo", &["--seed", "5"]);
    // Clicks follow the paid sessions the analytics tool saw: a few more, never fewer.
    let rows = csv_query(
        &project,
        "SELECT a.client_id, a.platform, a.clicks, s.sessions FROM \
           (SELECT client_id, platform, sum(clicks) AS clicks FROM ad_performance GROUP BY 1, 2) a \
         JOIN (SELECT client_id, CASE source WHEN 'google' THEN 'google_ads' WHEN 'facebook' THEN 'meta_ads' \
                      WHEN 'bing' THEN 'microsoft_ads' WHEN 'linkedin' THEN 'linkedin_ads' END AS platform, \
                      count(*) AS sessions FROM sessions WHERE medium IN ('cpc', 'paid_social') GROUP BY 1, 2) s \
           ON s.client_id = a.client_id AND s.platform = a.platform ORDER BY 1, 2",
    );
    // Google and Meta for every client, LinkedIn for globex, Microsoft for initech.
    assert_eq!(rows.len(), 8, "{rows:?}");
    for r in &rows {
        let (clicks, sessions): (f64, f64) = (r[2].parse().unwrap(), r[3].parse().unwrap());
        assert!(sessions > 20.0, "{r:?}");
        let (low, high) = if &r[1] == "google_ads" || &r[1] == "microsoft_ads" {
            (1.05, 1.3)
        } else {
            (1.3, 1.8)
        };
        assert!(
            clicks >= sessions * low * 0.97 && clicks <= sessions * high * 1.03,
            "{r:?}"
        );
    }
    // Each platform claims more conversions than the CRM leads behind its clicks, and the
    // ground truth says by how much.
    let over = truth(
        project.parent().unwrap(),
        "platform_conversions_vs_crm_leads.csv",
    );
    let mut claimed: std::collections::BTreeMap<(String, String), (f64, f64)> = Default::default();
    for t in &over {
        let e = claimed
            .entry((t[0].to_string(), t[1].to_string()))
            .or_default();
        e.0 += t[3].parse::<f64>().unwrap();
        e.1 += t[4].parse::<f64>().unwrap();
    }
    assert_eq!(claimed.len(), 8);
    for ((client, platform), (conversions, leads)) in &claimed {
        assert!(*leads > 0.0, "{client} {platform}");
        let ratio = conversions / leads;
        assert!((1.1..1.65).contains(&ratio), "{client} {platform}: {ratio}");
    }
    // Leads in the CRM: every platform-claimed lead is a real one.
    let leads = csv_query(
        &project,
        "SELECT client_id, count(*) FROM contacts GROUP BY 1 ORDER BY 1",
    );
    for l in &leads {
        let google = claimed[&(l[0].to_string(), "google_ads".to_string())].1;
        assert!(google <= l[1].parse::<f64>().unwrap(), "{l:?}");
    }
}

#[test]
fn demo_scale_grows_the_data_linearly() {
    let dir = tempfile::tempdir().unwrap();
    let count = |project: &Path| -> (f64, f64) {
        let r = &csv_query(
            project,
            "SELECT (SELECT count(*) FROM sessions), (SELECT sum(clicks) FROM ad_performance)",
        )[0];
        (r[0].parse().unwrap(), r[1].parse().unwrap())
    };
    let small = count(&demo_project(dir.path(), "small", &["--scale", "0.02"]));
    let large = count(&demo_project(dir.path(), "large", &["--scale", "0.06"]));
    for (a, b) in [(small.0, large.0), (small.1, large.1)] {
        assert!((2.7..3.3).contains(&(b / a)), "{small:?} -> {large:?}");
    }
}

#[test]
fn demo_restated_export_changes_only_the_last_days_conversions() {
    let dir = tempfile::tempdir().unwrap();
    // Sums rounded: float addition order varies between runs.
    let sql = "SELECT CAST(date AS VARCHAR) AS day, platform, sum(clicks), round(sum(spend_original), 4), \
               round(sum(conversions), 4) FROM ad_performance GROUP BY 1, 2 ORDER BY 1, 2";
    // A scale with leads on the last days.
    let args = ["--seed", "3", "--scale", "0.2"];
    let first = csv_query(&demo_project(dir.path(), "first", &args), sql);
    let mut restated = args.to_vec();
    restated.push("--restated");
    let later = csv_query(&demo_project(dir.path(), "later", &restated), sql);
    assert_eq!(first.len(), later.len());
    let mut changed = std::collections::BTreeSet::new();
    for (a, b) in first.iter().zip(&later) {
        assert_eq!((&a[0], &a[1], &a[2], &a[3]), (&b[0], &b[1], &b[2], &b[3]));
        let (x, y): (f64, f64) = (a[4].parse().unwrap(), b[4].parse().unwrap());
        assert!(y >= x, "{a:?} -> {b:?}");
        if x != y {
            changed.insert(a[0].to_string());
        }
    }
    // Conversions still being counted at the first export are restated; nothing else moves.
    assert!(!changed.is_empty());
    assert!(
        changed.iter().all(|d| d.as_str() >= "2024-03-29"),
        "{changed:?}"
    );
}
