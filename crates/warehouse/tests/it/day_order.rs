//! A sync reads each raw table in the source's own order and writes a day's partition as soon
//! as a later day shows up; a source whose rows are not by day (a day comes back after its
//! partition was written) is read again, sorted. Either way every day is one partition holding
//! all of that day's rows.

use loopql_core::Project;
use loopql_warehouse::SyncOptions;
use std::collections::BTreeMap;

fn tsv(rows: &[(&str, &str)]) -> String {
    let mut text = String::from("event_id\tderived_tstamp\tevent_name\tdomain_sessionid\n");
    for (id, ts) in rows {
        text.push_str(&format!("{id}\t{ts}\tpage_view\ts-{id}\n"));
    }
    text
}

#[tokio::test]
async fn sources_in_day_order_or_not_become_one_partition_per_day() {
    let dir = tempfile::tempdir().unwrap();
    let project_file = dir.path().join("loopql.toml");
    std::fs::write(
        &project_file,
        "[[clients]]\nid = \"acme\"\ncurrency = \"USD\"\ntime_zone = \"UTC\"\n\n\
         [[sources]]\nname = \"ordered\"\nconnector = \"snowplow\"\nclient_id = \"acme\"\noptions = { path = \"ordered/*.tsv\" }\n\n\
         [[clients]]\nid = \"globex\"\ncurrency = \"USD\"\ntime_zone = \"UTC\"\n\n\
         [[sources]]\nname = \"shuffled\"\nconnector = \"snowplow\"\nclient_id = \"globex\"\noptions = { path = \"shuffled/*.tsv\" }\n",
    )
    .unwrap();
    for sub in ["ordered", "shuffled"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let days = [
        ("a", "2024-01-01 10:00:00"),
        ("b", "2024-01-01 11:00:00"),
        ("c", "2024-01-02 09:00:00"),
        ("d", "2024-01-03 09:00:00"),
        ("e", "2024-01-03 10:00:00"),
        ("f", "2024-01-03 11:00:00"),
    ];
    std::fs::write(dir.path().join("ordered/1.tsv"), tsv(&days[..3])).unwrap();
    std::fs::write(dir.path().join("ordered/2.tsv"), tsv(&days[3..])).unwrap();
    // Day 1 comes back after days 2 and 3.
    let shuffled = [days[2], days[0], days[3], days[4], days[1], days[5]];
    std::fs::write(dir.path().join("shuffled/1.tsv"), tsv(&shuffled[..3])).unwrap();
    std::fs::write(dir.path().join("shuffled/2.tsv"), tsv(&shuffled[3..])).unwrap();

    let project = Project::load(&project_file).unwrap();
    let summary = loopql_warehouse::sync(&project, &SyncOptions::default())
        .await
        .unwrap();
    let manifest = loopql_warehouse::source::current(&project)
        .await
        .unwrap()
        .unwrap()
        .1;
    let want: BTreeMap<String, u64> = [("2024-01-01", 2), ("2024-01-02", 1), ("2024-01-03", 3)]
        .into_iter()
        .map(|(d, n)| (d.to_string(), n))
        .collect();
    for client in ["acme", "globex"] {
        let mut got = BTreeMap::new();
        for f in manifest.tables["snowplow.events"]
            .files
            .iter()
            .filter(|f| f.client_id.as_deref() == Some(client))
        {
            let day = f.day.clone().unwrap_or_default();
            assert!(
                got.insert(day.clone(), f.rows).is_none(),
                "{client}: day {day} twice"
            );
        }
        assert_eq!(got, want, "{client}");
    }
    assert_eq!(
        summary.rows_read, 12,
        "rows read once each, the re-read not counted twice"
    );
}
