//! Redis channel layers for channels-rpc: groups shared by many server
//! processes, and by Django Channels applications using `channels_redis`.
//!
//! [`RedisLayer::core`] speaks `channels_redis.core.RedisChannelLayer`, the
//! layer Django Channels configures by default: a group `g` is the sorted set
//! `{prefix}:group:g`, a connection's channel is `specific.{hex}!{hex}`, and
//! the messages of a process's channels wait in the sorted set
//! `{prefix}specific.{hex}!`, as 12 random bytes and msgpack.
//! [`RedisLayer::pubsub`] speaks `channels_redis.pubsub.RedisPubSubChannelLayer`:
//! a group `g` is the pub/sub channel `{prefix}__group__g`, a connection's
//! channel `{prefix}specific.{hex}`, messages plain msgpack. The prefix
//! defaults to `asgi`. Delivery is at most once, as in Channels.
//!
//! Given several hosts, both shard exactly as channels_redis does
//! ([`shard_index`]), so one hosts list, in one order, in Django's
//! `CHANNEL_LAYERS` and in Rust agrees on where every group and channel lives.
//!
//! ```no_run
//! use channels_rpc::{Consumer, Server, ServerConfig};
//! use rpc_redis::RedisLayer;
//!
//! #[derive(Consumer, Default)]
//! struct Chat;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = RedisLayer::core(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
//!     .prefix("asgi")
//!     .build()?;
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
//! channels fail within the layer's timeout with [`LayerError::Unavailable`].
//! When Redis is back, the layer reconnects by itself: the core layer's
//! receive loops pop again, the pub/sub layer subscribes again to every group
//! and channel it still has members for. Messages that are not a layer's
//! (other applications, other prefixes, undecodable bytes) are dropped with a
//! warning. Each operation is bounded by the layer's timeout
//! ([`RedisLayer::DEFAULT_TIMEOUT`], or [`RedisLayerBuilder::timeout`]).
//!
//! With the cargo feature `symmetric-encryption`,
//! `RedisLayerBuilder::symmetric_encryption_keys` seals message bodies with
//! Fernet as channels_redis' `symmetric_encryption_keys` does.
#![deny(missing_docs)]

mod builder;
mod codec;
mod connection;
mod core;
mod hosts;
mod pubsub;
mod shard;
mod wire;

pub use builder::{Flavor, RedisLayer, RedisLayerBuilder};
pub use hosts::{split_hosts, IntoHosts};
pub use rpc_core::LayerError;
pub use shard::{non_local_name, shard_index};
pub use wire::{decode, encode, group_channel};
