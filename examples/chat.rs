//! A chat server: `join(room)`, `leave(room)`, `say(room, text)`; every member
//! of a room receives `chat.message({"room": ..., "text": ...})`.
//!
//! One process, in-process groups:
//!
//! ```text
//! cargo run --example chat -- --addr 127.0.0.1:8000
//! ```
//!
//! Two processes sharing groups through Redis (REDIS_URL works too):
//!
//! ```text
//! cargo run --example chat -- --addr 127.0.0.1:8001 --redis redis://127.0.0.1:6379
//! cargo run --example chat -- --addr 127.0.0.1:8002 --redis redis://127.0.0.1:6379
//! ```

use std::sync::Arc;

use channels_rpc::{ChannelLayer, Consumer, InProcessLayer, RedisLayer, Server, ServerConfig};

/// Serves the chat methods, which live in the example methods crate (with
/// the specification's examples beside them).
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Chat;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = arg("--addr").unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let layer: Arc<dyn ChannelLayer> = match arg("--redis").or_else(|| std::env::var("REDIS_URL").ok()) {
        Some(url) => RedisLayer::builder(url).build()?,
        None => Arc::new(InProcessLayer::default()),
    };
    let server = Server::bind(addr)
        .config(ServerConfig::builder().channel_layer(layer).build()?)
        .websocket("/ws/", Chat::app())
        .http("/rpc/", Chat::app())
        .listen()
        .await?;
    println!("listening on {}", server.local_addr());
    server
        .serve_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
