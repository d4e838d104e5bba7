//! Reports per client through `loopql report`: annotations added from the shell show in the
//! reports, and a client's report overrides and the bound `client_id`.

use super::reports::{add_report, demo, report};
use crate::support::{loopql, run};

#[test]
fn annotations_from_the_shell_show_in_reports() {
    let (dir, project) = demo();
    let p = project.to_str().unwrap();
    let (o, out, err) = run(&mut loopql(&[
        "shell",
        "-p",
        p,
        "--client",
        "initech",
        "-c",
        "\\annotate 2024-03-20 channel=\"Paid Search\" Competitor price cut | watch CPCs",
        "-c",
        "SELECT client_id, date, text FROM annotations WHERE client_id = 'initech' ORDER BY date",
    ]));
    assert!(o.status.success(), "{err}");
    assert!(out.contains("Noted for initech on 2024-03-20"), "{out}");
    assert!(
        out.contains("Competitor price cut"),
        "the table shows it at once:\n{out}"
    );
    let (o, _, err) = run(&mut loopql(&[
        "shell",
        "-p",
        p,
        "-c",
        "\\annotate 2024-03-20 no client",
    ]));
    assert!(
        !o.status.success() && err.contains("which client?"),
        "{err}"
    );
    let html = dir.path().join("o.html");
    let (o, _, err) = report(
        &project,
        &[
            "run",
            "monthly_overview",
            "--client",
            "initech",
            "--param",
            "month=2024-03",
            "--out",
            html.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{err}");
    let html = std::fs::read_to_string(html).unwrap();
    assert!(
        html.contains("2024-03-20 (Paid Search): Competitor price cut | watch CPCs"),
        "{html}"
    );
    assert!(
        html.contains("New Meta lead-gen campaign launched"),
        "the demo's own March note"
    );
    assert!(
        !html.contains("Brand campaign budget doubled"),
        "another client's note"
    );
    assert!(
        !html.contains("Checkout tag missing"),
        "another client's note"
    );
}

#[test]
fn client_overrides_and_the_bound_client_id() {
    let (dir, project) = demo();
    add_report(
        &project,
        "platform_spend",
        "/*---\ntitle = \"Spend on one platform\"\n\n[[params]]\nname = \"platform\"\ntype = \"string\"\ndefault = \"google_ads\"\n\n\
         [clients.globex]\ntitle = \"Globex: Meta spend\"\nparams = { platform = \"meta_ads\" }\n\n\
         [clients.initech]\nskip = true\n---*/\n\
         SELECT $client_id AS asked_for, client_id, platform, sum(spend) AS spend FROM ad_performance \
         WHERE platform = $platform GROUP BY 1, 2, 3\n",
    );
    let out = dir.path().join("o");
    let (o, _, err) = report(
        &project,
        &[
            "run",
            "platform_spend",
            "--all-clients",
            "--format",
            "markdown",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{err}");
    let acme = std::fs::read_to_string(out.join("platform_spend-acme.md")).unwrap();
    assert!(acme.starts_with("# Spend on one platform\n"), "{acme}");
    assert!(acme.contains("| acme | acme | google_ads |"), "{acme}");
    let globex = std::fs::read_to_string(out.join("platform_spend-globex.md")).unwrap();
    assert!(globex.starts_with("# Globex: Meta spend\n"), "{globex}");
    assert!(
        globex.contains("| globex | globex | meta_ads |"),
        "the override's default:\n{globex}"
    );
    assert!(
        !out.join("platform_spend-initech.md").exists(),
        "initech is skipped"
    );
    // The command line beats the override.
    let (o, text, err) = report(
        &project,
        &[
            "run",
            "platform_spend",
            "--client",
            "globex",
            "--param",
            "platform=google_ads",
            "--format",
            "csv",
        ],
    );
    assert!(o.status.success(), "{err}");
    assert!(text.contains("globex,globex,google_ads,"), "{text}");
    // $client_id needs a client.
    let (o, _, err) = report(&project, &["run", "platform_spend"]);
    assert!(!o.status.success());
    assert!(
        err.contains("uses $client_id: run it with --client ID or --all-clients"),
        "{err}"
    );
}
