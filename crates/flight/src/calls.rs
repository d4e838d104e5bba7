//! What the Flight SQL calls share: authenticating the caller, finding its prepared statements,
//! planning, streaming and updating under the limits, and the FlightInfo / DoGet plumbing.

use super::FlightServer;
use super::auth::Caller;
use super::query::{self, Limited};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::{ProstMessageExt, TicketStatementQuery};
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo, IpcMessage, SchemaAsIpc, Ticket};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use futures::TryStreamExt;
use loopql_core::Query;
use loopql_core::server_config::Scope;
use prost::Message;
use tonic::{Request, Response, Status};

pub(super) type DoGetStream = <FlightServer as FlightService>::DoGetStream;

pub(super) fn ipc_schema(schema: &Schema) -> Result<prost::bytes::Bytes, Status> {
    let IpcMessage(bytes) = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: datafusion::arrow::error::ArrowError| Status::internal(e.to_string()))?;
    Ok(bytes)
}

/// A FlightInfo answering `descriptor` with one endpoint whose ticket is `ticket`.
pub(super) fn info(
    schema: &Schema,
    ticket: Vec<u8>,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let endpoint = FlightEndpoint::new().with_ticket(Ticket {
        ticket: ticket.into(),
    });
    Ok(Response::new(
        FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_endpoint(endpoint)
            .with_descriptor(descriptor)
            .with_ordered(true),
    ))
}

/// One batch (already built) as a DoGet stream.
pub(super) fn one_batch(batch: RecordBatch) -> Response<DoGetStream> {
    let schema = batch.schema();
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::once(async { Ok(batch) }))
        .map_err(Status::from);
    Response::new(Box::pin(stream))
}

/// Positional parameters a statement uses, as the schema clients bind to.
pub(super) fn parameter_schema(q: &loopql_core::Query) -> Result<Schema, Status> {
    let types = q
        .placeholders()
        .map_err(|e| Status::internal(e.to_string()))?;
    let mut ids: Vec<(usize, Option<DataType>)> = types
        .into_iter()
        .filter_map(|(k, t)| {
            k.trim_start_matches('$')
                .parse::<usize>()
                .ok()
                .map(|i| (i, t))
        })
        .collect();
    ids.sort_by_key(|(i, _)| *i);
    Ok(Schema::new(
        ids.into_iter()
            .map(|(i, t)| Field::new(format!("${i}"), t.unwrap_or(DataType::Utf8), true))
            .collect::<Vec<_>>(),
    ))
}

impl FlightServer {
    pub(super) fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        self.auth.check(request)
    }

    pub(super) fn statement(
        &self,
        handle: &[u8],
        caller: &Caller,
    ) -> Result<(String, Option<RecordBatch>), Status> {
        let handle = String::from_utf8_lossy(handle).into_owned();
        let prepared = self
            .prepared
            .lock()
            .map_err(|_| Status::internal("statement cache poisoned"))?;
        match prepared.get(&handle) {
            Some(p) if p.owner == caller.name => Ok((p.sql.clone(), p.params.clone())),
            _ => Err(Status::not_found(format!("no prepared statement {handle}"))),
        }
    }

    /// Plans `sql` for the caller (counted).
    pub(super) async fn plan(
        &self,
        caller: &Caller,
        sql: &str,
        params: Option<&RecordBatch>,
    ) -> Result<Query, Status> {
        let engine = self.engine(&caller.scope).await?;
        let q = query::plan(&engine, caller, &self.limits, sql, params).await?;
        self.planned.counted();
        Ok(q)
    }

    /// Plans `sql` for the caller and answers `descriptor` with the result's schema and a
    /// ticket whose DoGet runs that plan.
    pub(super) async fn plan_ticket(
        &self,
        caller: &Caller,
        sql: &str,
        params: Option<&RecordBatch>,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let q = self.plan(caller, sql, params).await?;
        let schema = q.schema();
        let ticket = TicketStatementQuery {
            statement_handle: self.planned.put(&caller.name, q)?.into(),
        };
        info(&schema, ticket.as_any().encode_to_vec(), descriptor)
    }

    /// Runs a statement's ticket — a plan kept by [`Self::plan_ticket`], or SQL planned now —
    /// and streams its result.
    pub(super) async fn stream_ticket(
        &self,
        caller: &Caller,
        handle: &[u8],
    ) -> Result<Response<DoGetStream>, Status> {
        let slot = self.limits.slot()?;
        let q = match self.planned.take(handle, &caller.name)? {
            Some(q) => q,
            None => {
                let sql = std::str::from_utf8(handle)
                    .map_err(|_| Status::invalid_argument("statement ticket is not UTF-8"))?;
                self.plan(caller, sql, None).await?
            }
        };
        self.stream_query(caller, q, slot).await
    }

    /// Runs `sql` and streams its result.
    pub(super) async fn stream(
        &self,
        caller: &Caller,
        sql: &str,
        params: Option<&RecordBatch>,
    ) -> Result<Response<DoGetStream>, Status> {
        let slot = self.limits.slot()?;
        let q = self.plan(caller, sql, params).await?;
        self.stream_query(caller, q, slot).await
    }

    /// Streams a planned statement's result, holding `slot` while it runs.
    async fn stream_query(
        &self,
        caller: &Caller,
        q: Query,
        slot: query::Slot,
    ) -> Result<Response<DoGetStream>, Status> {
        let limited = Limited::run(q, caller, slot).await?;
        let schema = limited.schema();
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(limited)
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }

    /// Runs a statement that changes something; returns the rows it reports (admin only).
    pub(super) async fn update(&self, caller: &Caller, sql: &str) -> Result<i64, Status> {
        if caller.scope != Scope::Admin {
            return Err(Status::permission_denied(format!(
                "principal `{}` is read-only (scoped to clients)",
                caller.name
            )));
        }
        let _slot = self.limits.slot()?;
        let q = self.plan(caller, sql, None).await?;
        let batches = q
            .collect()
            .await
            .map_err(|e| query::engine_status(caller, e))?;
        let mut count = 0i64;
        for b in &batches {
            if b.num_columns() == 1
                && let Some(c) = b
                    .column(0)
                    .as_primitive_opt::<datafusion::arrow::datatypes::UInt64Type>()
            {
                count += c.iter().flatten().sum::<u64>() as i64;
            }
        }
        Ok(count)
    }
}
