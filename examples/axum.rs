//! A consumer on an axum `Router`, beside the application's REST routes,
//! under tower-http's `TraceLayer`: JSON-RPC over HTTP POST and WebSocket on
//! `/api/rpc`, `GET /health` as any axum handler. SIGTERM or Ctrl-C stops
//! axum gracefully, then the service's shutdown handle lets running calls
//! finish and closes the WebSockets with 1001.
//!
//! ```text
//! RUST_LOG=debug cargo run --example axum -- --addr 127.0.0.1:0
//! curl -s http://HOST:PORT/health
//! curl -s http://HOST:PORT/api/rpc -d '{"jsonrpc":"2.0","method":"version","id":1}'
//! ```

#[path = "support/logging.rs"]
mod logging;

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use channels_rpc::{rpc_method, shutdown_on_signal, Consumer, RpcService};
use tower_http::trace::TraceLayer;

#[derive(Consumer, Default)]
struct Api;

/// The application's version.
#[rpc_method(consumer = Api)]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Answers `ms` (at most 5,000) after sleeping that long: a call that is
/// still running when the server is asked to stop.
#[rpc_method(consumer = Api)]
async fn slow(ms: u64) -> u64 {
    let ms = ms.min(5_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// A REST route of the application's own.
async fn health() -> &'static str {
    "ok\n"
}

/// The application: its REST routes, and JSON-RPC (HTTP and WebSocket) at
/// `/api/rpc`, all traced.
fn router(rpc: RpcService<Api>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route_service("/api/rpc", rpc)
        .layer(TraceLayer::new_for_http())
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
    // axum's graceful shutdown waits for HTTP requests only: a WebSocket,
    // once upgraded, runs in its own task. The handle stops those.
    let rpc_shutdown = rpc.shutdown_handle();
    axum::serve(listener, router(rpc))
        .with_graceful_shutdown(shutdown_on_signal())
        .await?;
    rpc_shutdown.shutdown().await;
    Ok(())
}
