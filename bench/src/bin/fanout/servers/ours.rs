//! channels-rpc serving spec-methods' chat methods (`join`, `say`) with the
//! layer of the target, limits raised as rpc-bench's own server has them.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use channels_rpc::{ChannelLayer, Consumer, InProcessLayer, Limits, RedisLayer, Server, ServerConfig};

use super::Target;

/// Serves the crate of methods it includes.
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Chat;

/// Serves on a free port of 127.0.0.1, told to `announce`, until the process is killed.
pub async fn serve(target: Target, redis: Option<String>, announce: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let layer: Arc<dyn ChannelLayer> = match (target, redis) {
        (Target::InProcess, _) => Arc::new(InProcessLayer::default()),
        (Target::RedisPubsub | Target::RedisCore, Some(url)) => {
            let flavor = if target == Target::RedisCore { "core" } else { "pubsub" };
            RedisLayer::with_flavor(flavor.parse().map_err(io::Error::other)?, url)
                .build()
                .map_err(io::Error::other)?
        }
        _ => return Err(io::Error::other(format!("{target} needs --redis URL"))),
    };
    let config = ServerConfig::builder()
        .limits(Limits::default().max_message_size(64 << 20))
        .max_connections(1 << 20)
        .channel_layer(layer)
        .build()?;
    let server = Server::bind("127.0.0.1:0")
        .config(config)
        .websocket("/ws/", Chat::app())
        .listen()
        .await?;
    announce(server.local_addr());
    server.serve().await
}
