//! An existing hyper application that serves a consumer on its own router:
//! `RpcService` is a `tower::Service`, so any router that takes one (hyper
//! directly, as here, or axum's `route_service`) can mount it next to its own
//! handlers.
//!
//! ```text
//! cargo run --example embed_in_hyper -- --addr 127.0.0.1:0
//! curl -s http://HOST:PORT/health
//! curl -s http://HOST:PORT/api/rpc -d '{"jsonrpc":"2.0","method":"version","id":1}'
//! ```

#[path = "support/logging.rs"]
mod logging;

use std::convert::Infallible;

use bytes::Bytes;
use channels_rpc::{rpc_method, shutdown_on_signal, Consumer, RpcService};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tower_service::Service;

#[derive(Consumer, Default)]
struct Api;

/// The application's version.
#[rpc_method(consumer = Api)]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The application's own routes, with JSON-RPC (HTTP and WebSocket) under /api/rpc.
async fn route(mut rpc: RpcService<Api>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    match req.uri().path() {
        "/api/rpc" => rpc.call(req).await,
        "/health" => Ok(Response::new(Full::new(Bytes::from_static(b"ok\n")))),
        _ => Ok(Response::builder().status(404).body(Full::new(Bytes::new())).unwrap()),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    logging::init();
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .iter()
        .position(|a| a == "--addr")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let rpc = RpcService::new(Api::app());
    let rpc_shutdown = rpc.shutdown_handle();
    let connections = GracefulShutdown::new();
    let mut signal = std::pin::pin!(shutdown_on_signal());
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut signal => break,
        };
        let rpc = rpc.clone();
        let service = hyper::service::service_fn(move |req| route(rpc.clone(), req));
        let connection = auto::Builder::new(TokioExecutor::new())
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    // SIGTERM or Ctrl-C: HTTP connections finish their request and close
    // (within 10 s); WebSockets (upgraded, so no longer hyper's) finish their
    // calls and close with 1001.
    drop(listener);
    let http = tokio::time::timeout(std::time::Duration::from_secs(10), connections.shutdown());
    let (_, ()) = tokio::join!(http, rpc_shutdown.shutdown());
    Ok(())
}
