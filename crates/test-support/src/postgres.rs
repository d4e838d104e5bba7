//! The PostgreSQL server `cargo xtask test` starts: its coordinates from the environment.

/// Where the test server listens, who to log in as, and its statement log.
pub struct Pg {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The server's statement log (pushdown tests read what the server received).
    pub log: String,
}

/// The test server's coordinates; missing ones fail the test (never skip): run the suite with
/// `cargo xtask test`, which installs and starts PostgreSQL.
pub fn pg() -> Pg {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run the tests with `cargo xtask test`, which starts PostgreSQL"
            )
        })
    };
    Pg {
        host: var("LOOPQL_TEST_PG_HOST"),
        port: var("LOOPQL_TEST_PG_PORT").parse().unwrap(),
        user: var("LOOPQL_TEST_PG_USER"),
        password: var("LOOPQL_TEST_PG_PASSWORD"),
        log: var("LOOPQL_TEST_PG_LOG"),
    }
}
