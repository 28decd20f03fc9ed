//! A Redis channel layer for channels-rpc: groups shared by many server
//! processes, and by Django Channels applications using `channels_redis`.
//!
//! It speaks `channels_redis.pubsub.RedisPubSubChannelLayer`'s wire format:
//! a group `g` is the Redis pub/sub channel `{prefix}__group__g`, a connection's
//! channel is `{prefix}specific.{32 hex}`, messages are msgpack maps, and the
//! prefix defaults to `asgi`. Delivery is at most once, as in Channels.
//!
//! ```no_run
//! use channels_rpc::{Consumer, Server, ServerConfig};
//! use rpc_redis::RedisLayer;
//!
//! #[derive(Consumer, Default)]
//! struct Chat;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = RedisLayer::builder("redis://127.0.0.1:6379").prefix("asgi").build()?;
//! Server::bind("127.0.0.1:8000")
//!     .config(ServerConfig::builder().channel_layer(layer).build()?)
//!     .websocket("/ws/", Chat::app())
//!     .serve()
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! While Redis is unreachable, calls keep working; sends to groups and
//! channels fail fast with [`LayerError::Unavailable`]. When Redis is back,
//! the layer reconnects and subscribes again to every group and channel it
//! still has members for.
#![deny(missing_docs)]

mod layer;
mod wire;

pub use layer::{RedisLayer, RedisLayerBuilder};
pub use rpc_core::LayerError;
pub use wire::{decode, encode, group_channel};
