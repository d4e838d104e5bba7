//! Streaming throughput of a large result from `loopql serve` to a pyarrow Flight client, side
//! by side with the same batches written as a plain Arrow IPC stream over a local TCP socket to
//! pyarrow (the floor: no query, no gRPC); prints MB/s and the ratio. The Flight side reads a
//! table the server's engine computed beforehand, so neither side's time includes the query.
//!
//! Run with `cargo xtask bench`. Rows from `LOOPQL_BENCH_ROWS` (default 5,000,000).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use loopql_benches as common;

use datafusion::arrow::ipc::writer::StreamWriter;
use loopql_core::{EngineBuilder, Project};

const SQL: &str = "SELECT v, v * 2.5 AS x, concat('campaign-', CAST(v % 1000 AS VARCHAR)) AS s \
                   FROM generate_series(1, {rows}) t(v)";

fn reader(args: &[&str]) -> (f64, f64) {
    let v = common::python_json("flight_reader.py", args);
    (v["bytes"].as_f64().unwrap(), v["seconds"].as_f64().unwrap())
}

fn best(runs: usize, mut f: impl FnMut() -> (f64, f64)) -> f64 {
    (0..runs)
        .map(|_| {
            let (bytes, secs) = f();
            bytes / secs / 1e6
        })
        .fold(0.0, f64::max)
}

#[tokio::main]
async fn main() {
    let rows: u64 = common::env_number("LOOPQL_BENCH_ROWS").unwrap_or(5_000_000);
    let sql = SQL.replace("{rows}", &rows.to_string());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("loopql.toml");
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"bench"))
    };
    std::fs::write(
        &file,
        format!("[server]\nquery_memory_mb = 4096\n\n[[server.principals]]\nname = \"bench\"\npassword_sha256 = \"{hash}\"\nadmin = true\n"),
    )
    .unwrap();
    let project = Project::load(&file).unwrap();

    // Flight SQL: loopql serve in this process, pyarrow in another.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(loopql_flight::serve(
        EngineBuilder::live(project.clone()),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let uri = format!("grpc://{addr}");
    let flight = {
        let sql = sql.clone();
        tokio::task::spawn_blocking(move || {
            // The result computed once into a table of the server's engine (untimed), so both
            // sides stream the same ready batches: the ratio is the protocol's, not the query's.
            let setup = format!("CREATE TABLE IF NOT EXISTS big AS {sql}");
            best(3, || {
                reader(&[
                    "flight",
                    &uri,
                    "bench",
                    "bench",
                    "SELECT * FROM big",
                    &setup,
                ])
            })
        })
        .await
        .unwrap()
    };
    let _ = stop.send(());
    let _ = server.await;

    // The floor: the same batches, computed once, written as Arrow IPC over a socket.
    let engine = EngineBuilder::live(project).open().await.unwrap();
    let batches = engine.sql(&sql).await.unwrap().collect().await.unwrap();
    let schema = batches[0].schema();
    let ipc = tokio::task::spawn_blocking(move || {
        best(3, || {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port().to_string();
            let batches = batches.clone();
            let schema = schema.clone();
            let writer = std::thread::spawn(move || {
                let (socket, _) = listener.accept().unwrap();
                let mut w =
                    StreamWriter::try_new(std::io::BufWriter::new(socket), &schema).unwrap();
                for b in &batches {
                    w.write(b).unwrap();
                }
                w.finish().unwrap();
            });
            let r = reader(&["ipc", "127.0.0.1", &port]);
            writer.join().unwrap();
            r
        })
    })
    .await
    .unwrap();
    println!("result streaming, {rows} rows (3 columns), best of 3:");
    println!("  loopql Flight SQL -> pyarrow      {flight:>8.1} MB/s");
    println!("  Arrow IPC over TCP -> pyarrow     {ipc:>8.1} MB/s");
    println!("  ratio Flight SQL / raw IPC        {:>8.2}", flight / ipc);
}
