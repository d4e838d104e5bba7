//! loopql-flight: `loopql serve`, an Arrow Flight SQL server over the engine. It knows the
//! protocol only: every call is authenticated ([`auth`]); each caller queries the engine of its
//! scope (admin: the whole project; scoped: an engine built for its clients only, see
//! `EngineBuilder::scope`) through the engine's front door; results stream batch by batch under
//! the project's limits ([`query`]).

pub mod auth;
mod calls;
mod metadata;
mod planned;
pub mod query;
mod service;

use arrow_flight::flight_service_server::FlightServiceServer;
use datafusion::arrow::array::RecordBatch;
use loopql_core::server_config::Scope;
use loopql_core::{Engine, EngineBuilder, EngineError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use tonic::Status;

/// A prepared statement: its SQL, who made it, and the parameters bound last.
struct Prepared {
    sql: String,
    owner: String,
    params: Option<RecordBatch>,
}

/// A scope's engine, opened on first use.
type EngineCell = Arc<OnceCell<Arc<Engine>>>;

pub struct FlightServer {
    /// Builds each scope's engine (the project, and the read mode the server was started with).
    builder: EngineBuilder,
    auth: auth::Auth,
    limits: query::Limits,
    engines: Arc<Mutex<HashMap<Scope, EngineCell>>>,
    prepared: Mutex<HashMap<String, Prepared>>,
    /// Statements planned at GetFlightInfo, waiting for their DoGet.
    planned: Arc<planned::Planned>,
}

impl FlightServer {
    pub fn new(builder: EngineBuilder) -> Result<Self, EngineError> {
        let server = &builder.project().server;
        let auth = auth::Auth::new(server).map_err(EngineError::Server)?;
        let limits = query::Limits::new(server);
        let cache = server.result_cache_bytes;
        let builder = builder.result_cache(cache);
        Ok(Self {
            builder,
            auth,
            limits,
            engines: Arc::default(),
            prepared: Mutex::new(HashMap::new()),
            planned: Arc::default(),
        })
    }

    /// The engine of `scope`, built once on first use.
    async fn engine(&self, scope: &Scope) -> Result<Arc<Engine>, Status> {
        let cell = {
            let mut engines = self
                .engines
                .lock()
                .map_err(|_| Status::internal("engine cache poisoned"))?;
            engines.entry(scope.clone()).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            let engine = match self.builder.clone().scope(scope) {
                Ok(builder) => builder.open().await,
                Err(e) => Err(e),
            };
            engine
                .map(Arc::new)
                .map_err(|e| Status::internal(format!("cannot open the engine: {e}")))
        })
        .await
        .cloned()
    }

    /// How many statements the server has planned so far (a GetFlightInfo plans its statement
    /// and the DoGet of its ticket runs that plan): a probe that stays valid after `serve`
    /// takes the server.
    pub fn planned_statements(&self) -> impl Fn() -> u64 + Send + Sync + use<> {
        let planned = self.planned.clone();
        move || planned.count()
    }

    /// How many statements the scopes' engines answered from their result caches
    /// (`[server] result_cache_mb`): a probe that stays valid after `serve` takes the server.
    pub fn results_reused(&self) -> impl Fn() -> u64 + Send + Sync + use<> {
        let engines = self.engines.clone();
        move || {
            engines.lock().map_or(0, |e| {
                e.values()
                    .filter_map(|cell| cell.get())
                    .map(|engine| engine.results_reused())
                    .sum()
            })
        }
    }

    /// Forgets every scope's engine, so that the next query opens one over the warehouse's
    /// current snapshot (after a sync committed a new one); queries already running keep
    /// theirs. A handle that stays valid after `serve` takes the server.
    pub fn engine_reset(&self) -> impl Fn() + Send + Sync + use<> {
        let engines = self.engines.clone();
        move || {
            if let Ok(mut engines) = engines.lock() {
                engines.clear();
            }
        }
    }

    /// The tonic service to mount.
    pub fn service(self) -> FlightServiceServer<Self> {
        FlightServiceServer::new(self)
    }

    /// Opens the admin engine now, so a broken project fails at start rather than at the first
    /// query.
    pub async fn warm_up(&self) -> Result<(), Status> {
        self.engine(&Scope::Admin).await.map(|_| ())
    }
}

/// Checks the project's principals and opens the engine, then serves until `shutdown` resolves.
pub async fn serve(
    builder: EngineBuilder,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), EngineError> {
    let server = FlightServer::ready(builder).await?;
    server.serve(listener, shutdown).await
}

impl FlightServer {
    /// A server whose principals are checked and whose admin engine is open.
    pub async fn ready(builder: EngineBuilder) -> Result<Self, EngineError> {
        let server = FlightServer::new(builder)?;
        server
            .warm_up()
            .await
            .map_err(|e| EngineError::Server(e.message().to_string()))?;
        Ok(server)
    }

    /// Serves on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<(), EngineError> {
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tonic::transport::Server::builder()
            .add_service(self.service())
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
            .map_err(|e| EngineError::Server(e.to_string()))
    }
}
