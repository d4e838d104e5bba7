//! `loopql serve` refuses a project it could not serve, and never says it listens.

use crate::support::{loopql, run};

#[test]
fn serve_refuses_a_project_without_usable_principals() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("loopql.toml");
    for (server, says) in [
        ("", "no principals: add [[server.principals]]"),
        (
            "[server]\n[[server.principals]]\nname = \"x\"\nclients = [\"nope\"]\npassword_env = \"X\"\n",
            "loopql.toml:7:11: principal `x`: `nope` is not one of the project's clients",
        ),
        (
            "[server]\n[[server.principals]]\nname = \"x\"\nclients = [\"acme\"]\npassword_env = \"LOOPQL_TEST_UNSET_VARIABLE\"\n",
            "principal `x`: the password variable `LOOPQL_TEST_UNSET_VARIABLE` is not set",
        ),
        (
            "[server]\n[[server.principals]]\nname = \"x\"\nclients = [\"acme\"]\n",
            "principal `x` has no credentials",
        ),
        (
            "[server]\n[[server.principals]]\nname = \"x\"\npassword_sha256 = \"abc\"\nadmin = true\n",
            "password_sha256: expected 64 hex digits",
        ),
    ] {
        std::fs::write(&file, format!("[[clients]]\nid = \"acme\"\n\n{server}")).unwrap();
        let (o, _, err) = run(&mut loopql(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "-p",
            file.to_str().unwrap(),
        ]));
        assert!(!o.status.success(), "{server}");
        assert!(err.contains(says), "{server}: {err}");
        assert!(
            !err.contains("Flight SQL on"),
            "never says it listens: {err}"
        );
    }
}
