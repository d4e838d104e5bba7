//! A Flight SQL client for the server tests: principals added to a project file, login,
//! queries, error codes and cells.

use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use datafusion::arrow::array::RecordBatch;
use futures::TryStreamExt;
use std::net::SocketAddr;
use std::path::Path;
use tonic::transport::Channel;

pub const ADMIN: (&str, &str) = ("agency", "agency-pw");
pub const ACME: (&str, &str) = ("acme", "acme-pw");
pub const ACME_TOKEN: &str = "acme-static-token";

fn sha(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Appends `[server]` with `limits`, an admin and a principal scoped to acme to a project file.
pub fn add_principals(project_file: &Path, limits: &str) {
    let mut text = std::fs::read_to_string(project_file).unwrap();
    text.push_str(&format!(
        "\n[server]\n{limits}\n\n[[server.principals]]\nname = \"{}\"\npassword_sha256 = \"{}\"\nadmin = true\n\n\
         [[server.principals]]\nname = \"{}\"\npassword_sha256 = \"{}\"\ntoken_sha256 = [\"{}\"]\nclients = [\"acme\"]\n",
        ADMIN.0,
        sha(ADMIN.1),
        ACME.0,
        sha(ACME.1),
        sha(ACME_TOKEN)
    ));
    std::fs::write(project_file, text).unwrap();
}

pub async fn client(addr: SocketAddr) -> FlightSqlServiceClient<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    FlightSqlServiceClient::new(channel)
}

pub async fn login(addr: SocketAddr, (user, pw): (&str, &str)) -> FlightSqlServiceClient<Channel> {
    let mut c = client(addr).await;
    c.handshake(user, pw).await.unwrap();
    c
}

/// Runs `sql` (GetFlightInfo then DoGet); the batches, or the error.
pub async fn query(
    c: &mut FlightSqlServiceClient<Channel>,
    sql: &str,
) -> Result<Vec<RecordBatch>, FlightError> {
    let info = c.execute(sql.to_string(), None).await?;
    let ticket = info.endpoint[0].ticket.clone().expect("a ticket");
    let stream = c.do_get(ticket).await?;
    stream.try_collect().await
}

/// The gRPC code of a failed call.
pub fn code(e: &FlightError) -> tonic::Code {
    match e {
        FlightError::Tonic(s) => s.code(),
        other => panic!("not a gRPC status: {other}"),
    }
}

/// Every cell of `batches` as text.
pub fn cells(batches: &[RecordBatch]) -> Vec<String> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut out = Vec::new();
    for b in batches {
        for c in b.columns() {
            let f = ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()).unwrap();
            for r in 0..b.num_rows() {
                out.push(f.value(r).to_string());
            }
        }
    }
    out
}

/// DoGet of a FlightInfo's first endpoint, all batches.
pub async fn fetch(
    c: &mut FlightSqlServiceClient<Channel>,
    info: arrow_flight::FlightInfo,
) -> Vec<RecordBatch> {
    let ticket = info.endpoint[0].ticket.clone().expect("a ticket");
    c.do_get(ticket).await.unwrap().try_collect().await.unwrap()
}

/// Prepares `sql`, binds one text value to its `$1`, runs it and fetches every batch.
pub async fn prepared_with_text(
    c: &mut FlightSqlServiceClient<Channel>,
    sql: &str,
    value: &str,
) -> Vec<RecordBatch> {
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let mut stmt = c.prepare(sql.to_string(), None).await.unwrap();
    stmt.set_parameters(
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("$1", DataType::Utf8, false)])),
            vec![Arc::new(StringArray::from(vec![value]))],
        )
        .unwrap(),
    )
    .unwrap();
    let info = stmt.execute().await.unwrap();
    fetch(c, info).await
}
