//! Prometheus metrics: `MetricsMiddleware` records calls, latencies, open
//! connections and messages through the `metrics` facade; the in-process
//! layer counts its messages; metrics-exporter-prometheus renders them on
//! `GET /metrics`, beside JSON-RPC (HTTP and WebSocket) on `/rpc/`, one port,
//! one axum router. Needs the `metrics` feature.
//!
//! ```text
//! cargo run --example metrics --features metrics -- --addr 127.0.0.1:8000
//! curl -s http://127.0.0.1:8000/rpc/ -d '{"jsonrpc":"2.0","method":"shout","params":["hi"],"id":1}'
//! curl -s http://127.0.0.1:8000/metrics
//! ```

#[path = "support/logging.rs"]
mod logging;

use axum::routing::get;
use axum::Router;
use channels_rpc::middleware::MetricsMiddleware;
use channels_rpc::{rpc_method, shutdown_on_signal, Consumer, RpcContext, RpcError, RpcService};
use metrics_exporter_prometheus::PrometheusBuilder;

#[derive(Consumer, Default)]
struct Api;

/// Joins the `shouts` group: this connection hears every shout.
#[rpc_method(consumer = Api)]
async fn listen(ctx: &RpcContext) -> Result<bool, RpcError> {
    ctx.group_add("shouts").await.map_err(RpcError::application)?;
    Ok(true)
}

/// The text in capitals, also sent to the `shouts` group.
#[rpc_method(consumer = Api)]
async fn shout(ctx: &RpcContext, text: String) -> Result<String, RpcError> {
    let loud = text.to_uppercase();
    let message = channels_rpc::json!({"type": "rpc.notification", "method": "shouted", "params": [loud]});
    ctx.group_send("shouts", message).await.map_err(RpcError::application)?;
    Ok(loud)
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
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .expect("no other metrics recorder is installed");
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);

    let rpc = RpcService::new(Api::app().middleware(MetricsMiddleware::new()));
    let rpc_shutdown = rpc.shutdown_handle();
    let router = Router::new()
        .route("/metrics", get(move || std::future::ready(prometheus.render())))
        .route_service("/rpc/", rpc);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_on_signal())
        .await?;
    rpc_shutdown.shutdown().await;
    Ok(())
}
