//! channels-rpc serving the `spec-methods` crate (`ping`, `echo`, `add`, ...),
//! as `examples/spec_server.rs` does, with its limits raised so that they
//! never bottleneck the benchmark. Timers (WebSocket ping every 30 s, idle
//! timeout) keep their defaults: they are part of what a user runs.

use std::io;
use std::net::SocketAddr;

use channels_rpc::{Consumer, Limits, Server, ServerConfig};

/// Serves the crate of methods it includes.
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Bench;

/// Binds `addr`, calls `ready` with the bound address, serves forever.
pub async fn serve(addr: &str, ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let config = ServerConfig::builder()
        .limits(Limits::default().max_message_size(64 << 20).max_batch_len(1 << 20))
        .max_in_flight(1 << 16)
        .outbound_queue(1 << 16)
        .max_connections(1 << 20)
        .build()?;
    let server = Server::bind(addr)
        .config(config)
        .websocket("/ws/", Bench::app())
        .http("/rpc/", Bench::app())
        .listen()
        .await?;
    ready(server.local_addr());
    server.serve().await
}
