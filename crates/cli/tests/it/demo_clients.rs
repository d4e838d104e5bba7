//! `loopql demo --clients N`: an agency project of N clients — the three named ones, written as
//! in a 3-client demo, then generated clients with six sources each — whose numbers equal its
//! ground truth.

use crate::demo_cli::{close, truth};
use crate::support::{csv_query, loopql, run};
use std::collections::BTreeMap;
use std::path::Path;

fn demo(dir: &Path, clients: &str) -> String {
    let (out, stdout, stderr) = run(&mut loopql(&[
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--seed",
        "13",
        "--scale",
        "0.02",
        "--clients",
        clients,
    ]));
    assert!(out.status.success(), "{stderr}");
    stdout
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn more_clients_keep_the_named_ones_and_add_six_source_clients_that_match_their_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (three, five) = (dir.path().join("three"), dir.path().join("five"));
    demo(&three, "3");
    let stdout = demo(&five, "5");
    assert!(stdout.contains(": 5 clients"), "{stdout}");

    // The named clients' exports do not depend on how many clients follow them.
    for client in ["acme", "globex", "initech"] {
        let (a, b) = (
            tree(&three.join("exports").join(client)),
            tree(&five.join("exports").join(client)),
        );
        assert!(a.len() > 3, "{client}: {} files", a.len());
        assert!(a == b, "{client}'s exports differ between 3 and 5 clients");
    }
    let mut generated: Vec<String> = std::fs::read_dir(five.join("exports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    generated.sort();
    assert_eq!(
        generated,
        ["acme", "client04", "client05", "globex", "initech"]
    );

    // Six sources for each generated client: four ad platforms, web analytics, a CRM.
    let project = five.join("loopql.toml");
    let platforms = csv_query(
        &project,
        "SELECT client_id, count(DISTINCT platform) FROM ad_performance GROUP BY 1 ORDER BY 1",
    );
    let platforms: Vec<(&str, &str)> = platforms.iter().map(|r| (&r[0], &r[1])).collect();
    assert_eq!(
        platforms,
        [
            ("acme", "2"),
            ("client04", "4"),
            ("client05", "4"),
            ("globex", "3"),
            ("initech", "3")
        ]
    );
    let text = std::fs::read_to_string(&project).unwrap();
    for client in ["client04", "client05"] {
        let sources = text.matches(&format!("client_id = \"{client}\"")).count();
        assert_eq!(sources, 6, "{client}'s sources in {text}");
    }

    // Their numbers are their ground truth: spend per client × platform × month, sessions and
    // leads per client.
    let ours = csv_query(
        &project,
        "SELECT client_id, platform, to_char(date, '%Y-%m'), sum(clicks), sum(spend) \
         FROM ad_performance GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    );
    let mut expected = truth(&five, "ads_by_client_platform_month.csv");
    expected.sort_by(|a, b| (&a[0], &a[1], &a[2]).cmp(&(&b[0], &b[1], &b[2])));
    assert_eq!(ours.len(), 3 * (2 + 4 + 4 + 3 + 3));
    assert_eq!(ours.len(), expected.len());
    for (o, t) in ours.iter().zip(&expected) {
        assert_eq!(
            (&o[0], &o[1], &o[2], &o[3]),
            (&t[0], &t[1], &t[2], &t[5]),
            "{o:?} vs {t:?}"
        );
        assert!(close(&o[4], &t[7]), "{o:?} vs {t:?}");
    }
    let sessions = csv_query(
        &project,
        "SELECT s.client_id, s.n, c.n FROM \
         (SELECT client_id, count(*) AS n FROM sessions GROUP BY 1) s JOIN \
         (SELECT client_id, count(*) AS n FROM contacts GROUP BY 1) c USING (client_id) \
         ORDER BY 1",
    );
    let mut expected = truth(&five, "web_by_client.csv");
    expected.sort_by(|a, b| a[0].cmp(&b[0]));
    let ours: Vec<Vec<&str>> = sessions.iter().map(|r| r.iter().collect()).collect();
    let expected: Vec<Vec<&str>> = expected.iter().map(|r| r.iter().collect()).collect();
    assert_eq!(ours, expected);
}
