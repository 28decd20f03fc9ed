//! Serves the JSON-RPC 2.0 specification's example methods (and `ping`,
//! `echo`, `add`, `slow`, `boom`, `notify_me`, the seed's `mymodule.rpc.ping`)
//! on POST /rpc/ and WebSocket /ws/. The methods live in the `spec-methods`
//! crate, which the consumer includes: `#[consumer(include(spec_methods))]`.
//!
//! ```text
//! cargo run --release --example spec_server -- --addr 127.0.0.1:0
//! ```

use channels_rpc::{rpc_method, shutdown_on_signal, Consumer, RpcError, Server};

/// Serves the `spec-methods` crate's methods and its own.
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Spec;

/// The seed README's method.
#[rpc_method("mymodule.rpc.ping", consumer = Spec)]
fn seed_ping(fake_an_error: bool) -> Result<&'static str, RpcError> {
    if fake_an_error {
        Err(RpcError::application("fake_error"))
    } else {
        Ok("pong")
    }
}

fn addr_from_args() -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--addr")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Logs go to stderr, filtered by RUST_LOG (default `info`): RUST_LOG=debug
    // shows every connection and call.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::builder()
                .with_default_directive(tracing::Level::INFO.into())
                .from_env_lossy(),
        )
        .init();
    let server = Server::bind(addr_from_args())
        .websocket("/ws/", Spec::app())
        .http("/rpc/", Spec::app())
        .listen()
        .await?;
    println!("listening on {}", server.local_addr());
    server.serve_until(shutdown_on_signal()).await
}
