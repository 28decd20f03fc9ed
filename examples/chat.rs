//! A chat server: `join(room)`, `leave(room)`, `say(room, text)`; every member
//! of a room receives `chat.message({"room": ..., "text": ...})`.
//!
//! It serves a page too: open `http://127.0.0.1:8000/` in a browser. The page
//! (`examples/chat-page/`) loads the JavaScript client from
//! `/channels-rpc.js` and talks to the WebSocket at `/ws/`.
//!
//! One process, in-process groups:
//!
//! ```text
//! cargo run --example chat -- --addr 127.0.0.1:8000
//! ```
//!
//! Two processes sharing groups through Redis (REDIS_URL works too, and may
//! hold a comma-separated list); `--redis` repeated shards over several hosts,
//! `--layer core|pubsub` picks channels_redis' layer (default core):
//!
//! ```text
//! cargo run --example chat -- --addr 127.0.0.1:8001 --redis redis://127.0.0.1:6379
//! cargo run --example chat -- --addr 127.0.0.1:8002 --redis redis://127.0.0.1:6379 --layer core
//! ```

#[path = "support/logging.rs"]
mod logging;

use std::sync::Arc;

use channels_rpc::{
    shutdown_on_signal, Asset, ChannelLayer, Consumer, InProcessLayer, RedisLayer, Server, ServerConfig,
};

/// Serves the chat methods, which live in the example methods crate (with
/// the specification's examples beside them).
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Chat;

/// The page may load its own script, style and module and talk to its own
/// server, nothing else: no inline script runs, whatever a message holds.
const PAGE_POLICY: &str = "default-src 'self'; connect-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'";

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Every value of a repeatable flag.
fn args(name: &str) -> Vec<String> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2).filter(|w| w[0] == name).map(|w| w[1].clone()).collect()
}

/// `--layer core|pubsub` (default core, as Django's) on the hosts of every
/// `--redis URL` or of a comma-separated `REDIS_URL`; in-process without either.
fn choose_layer() -> Result<Arc<dyn ChannelLayer>, Box<dyn std::error::Error>> {
    let mut hosts = args("--redis");
    if hosts.is_empty() {
        hosts = rpc_redis::split_hosts(&std::env::var("REDIS_URL").unwrap_or_default());
    }
    if hosts.is_empty() {
        return Ok(Arc::new(InProcessLayer::default()));
    }
    let flavor: rpc_redis::Flavor = arg("--layer").as_deref().unwrap_or("core").parse()?;
    Ok(RedisLayer::with_flavor(flavor, hosts).build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    logging::init();
    let addr = arg("--addr").unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let layer = choose_layer()?;
    let server = Server::bind(addr)
        .config(
            ServerConfig::builder()
                .channel_layer(layer)
                .serve_client("/channels-rpc.js")
                .build()?,
        )
        .asset(
            "/",
            Asset::html(include_str!("chat-page/index.html")).header("content-security-policy", PAGE_POLICY),
        )
        .asset("/chat.js", Asset::javascript(include_str!("chat-page/chat.js")))
        .asset(
            "/chat.css",
            Asset::new("text/css; charset=utf-8", include_str!("chat-page/chat.css")),
        )
        .asset(
            "/favicon.svg",
            Asset::new("image/svg+xml", include_str!("chat-page/favicon.svg")),
        )
        .websocket("/ws/", Chat::app())
        .http("/rpc/", Chat::app())
        .listen()
        .await?;
    println!("listening on {}", server.local_addr());
    server.serve_until(shutdown_on_signal()).await?;
    Ok(())
}
