//! [`RedisLayer`] and its [`RedisLayerBuilder`]: which of channels_redis'
//! two layers to speak, on which hosts, with which settings.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rpc_core::{ChannelLayer, Inbox, LayerError};
use serde_json::Value;

use crate::codec::Codec;
use crate::core::{Capacities, CoreLayer};
use crate::hosts::IntoHosts;
use crate::pubsub::PubSubLayer;

/// Which channels_redis layer a [`RedisLayer`] is wire-compatible with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// `channels_redis.core.RedisChannelLayer`, Django Channels' default:
    /// groups are sorted sets, messages wait in sorted sets for `BZPOPMIN`.
    #[default]
    Core,
    /// `channels_redis.pubsub.RedisPubSubChannelLayer`: Redis pub/sub.
    PubSub,
}

impl FromStr for Flavor {
    type Err = String;

    /// `core` or `pubsub`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "core" => Ok(Flavor::Core),
            "pubsub" => Ok(Flavor::PubSub),
            other => Err(format!("unknown Redis layer {other:?}: use core or pubsub")),
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::Core => "core",
            Flavor::PubSub => "pubsub",
        })
    }
}

/// Settings of a [`RedisLayer`], each with channels_redis' default.
#[derive(Debug, Clone)]
pub struct RedisLayerBuilder {
    flavor: Flavor,
    hosts: Vec<String>,
    prefix: String,
    capacity: usize,
    channel_capacity: Vec<(String, usize)>,
    expiry: Duration,
    group_expiry: Duration,
    timeout: Duration,
    #[cfg(feature = "symmetric-encryption")]
    symmetric_encryption_keys: Vec<Vec<u8>>,
}

/// The settings both layers read, checked.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) hosts: Vec<String>,
    pub(crate) prefix: String,
    pub(crate) capacity: usize,
    pub(crate) capacities: Capacities,
    /// Whole seconds, at least 1, as channels_redis uses them.
    pub(crate) expiry_secs: u64,
    pub(crate) group_expiry_secs: u64,
    pub(crate) timeout: Duration,
    /// Plain, or sealed with the deployment's keys.
    pub(crate) codec: Codec,
}

impl RedisLayerBuilder {
    fn new(flavor: Flavor, hosts: Vec<String>) -> Self {
        RedisLayerBuilder {
            flavor,
            hosts,
            prefix: RedisLayer::DEFAULT_PREFIX.to_owned(),
            capacity: RedisLayer::DEFAULT_CAPACITY,
            channel_capacity: Vec::new(),
            expiry: RedisLayer::DEFAULT_EXPIRY,
            group_expiry: RedisLayer::DEFAULT_GROUP_EXPIRY,
            timeout: RedisLayer::DEFAULT_TIMEOUT,
            #[cfg(feature = "symmetric-encryption")]
            symmetric_encryption_keys: Vec::new(),
        }
    }

    /// The key prefix shared with every process of the deployment (default
    /// `asgi`, channels_redis' `prefix`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Messages a channel holds before more are refused (default 100,
    /// channels_redis' `capacity`; at least 1). With the core layer this is
    /// counted in Redis, where a `send` to a full channel fails with
    /// [`LayerError::ChannelFull`] and a group send skips the full member;
    /// with both layers it also bounds each local channel's queue, past which
    /// a slow connection loses messages.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The capacity of the channels whose names match the glob `pattern`
    /// (`*`, `?`, `[...]`, as channels_redis' `channel_capacity` with
    /// fnmatch); the first matching pattern wins. Core layer only.
    pub fn channel_capacity(mut self, pattern: impl Into<String>, capacity: usize) -> Self {
        self.channel_capacity.push((pattern.into(), capacity.max(1)));
        self
    }

    /// How long a message waits in Redis for its receiver (default 60 s,
    /// channels_redis' `expiry`; whole seconds, at least 1). Core layer only.
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    /// How long a group membership lasts without being renewed (default one
    /// day, channels_redis' `group_expiry`; whole seconds, at least 1). Core
    /// layer only.
    pub fn group_expiry(mut self, group_expiry: Duration) -> Self {
        self.group_expiry = group_expiry;
        self
    }

    /// How long one layer operation (a send, a group send, a group add or
    /// discard, a reconnection) may take before it fails with
    /// [`LayerError::Unavailable`] (default [`RedisLayer::DEFAULT_TIMEOUT`],
    /// 2 s; at least 1 ms), so a Redis that answers slowly or not at all
    /// never holds a caller longer. A command that Redis had already been
    /// sent when it timed out may still take effect once Redis catches up.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// channels_redis' `symmetric_encryption_keys` (feature
    /// `symmetric-encryption`): message bodies are sealed with Fernet as
    /// channels_redis seals them, the first key encrypting and every key
    /// decrypting, so keys rotate as in Django: put the new key first
    /// everywhere, and drop the old one once no process encrypts with it.
    /// Give the same keys as Django's `CONFIG`; messages that open with none
    /// of them are dropped with a warning. No key (the default) is no
    /// encryption. With the core layer a token older than `expiry` + 10 s is
    /// refused, as channels_redis refuses it.
    ///
    /// ```no_run
    /// # let _rt = tokio::runtime::Runtime::new().unwrap();
    /// # let _guard = _rt.enter();
    /// // "CONFIG": {"hosts": [...], "symmetric_encryption_keys": ["new secret", "old secret"]}
    /// let layer = rpc_redis::RedisLayer::core("redis://127.0.0.1:6379")
    ///     .symmetric_encryption_keys(["new secret", "old secret"])
    ///     .build();
    /// ```
    #[cfg(feature = "symmetric-encryption")]
    pub fn symmetric_encryption_keys<K: AsRef<[u8]>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.symmetric_encryption_keys = keys.into_iter().map(|k| k.as_ref().to_vec()).collect();
        self
    }

    fn codec(&self, expiry_secs: u64) -> Codec {
        #[cfg(feature = "symmetric-encryption")]
        {
            // channels_redis gives its serializer the core layer's expiry, not the pub/sub layer's.
            let ttl = (self.flavor == Flavor::Core).then_some(expiry_secs + 10);
            Codec::encrypted(&self.symmetric_encryption_keys, ttl)
        }
        #[cfg(not(feature = "symmetric-encryption"))]
        {
            let _ = expiry_secs;
            Codec::default()
        }
    }

    /// The layer. It connects lazily, so a server starts even while Redis is
    /// down; it must be built inside a tokio runtime. Fails on no host, a URL
    /// that does not parse, or a `channel_capacity` pattern that is not a glob.
    pub fn build(self) -> Result<Arc<RedisLayer>, LayerError> {
        if self.hosts.is_empty() {
            return Err(LayerError::Unavailable("no Redis host given".to_owned()));
        }
        let expiry_secs = self.expiry.as_secs().max(1);
        let settings = Settings {
            codec: self.codec(expiry_secs),
            capacities: Capacities::new(self.capacity, &self.channel_capacity)?,
            hosts: self.hosts,
            prefix: self.prefix,
            capacity: self.capacity,
            expiry_secs,
            group_expiry_secs: self.group_expiry.as_secs().max(1),
            timeout: self.timeout,
        };
        let backend = match self.flavor {
            Flavor::Core => Backend::Core(CoreLayer::start(settings)?),
            Flavor::PubSub => Backend::PubSub(PubSubLayer::start(settings)?),
        };
        Ok(Arc::new(RedisLayer { backend }))
    }
}

/// A channel layer over one or several Redis hosts, wire-compatible with
/// channels_redis 4.x: its default `RedisChannelLayer` ([`RedisLayer::core`])
/// or its `RedisPubSubChannelLayer` ([`RedisLayer::pubsub`]), sharded over
/// the hosts exactly as channels_redis shards them.
///
/// ```no_run
/// # fn run() -> Result<(), rpc_redis::LayerError> {
/// # let _rt = tokio::runtime::Runtime::new().unwrap();
/// # let _guard = _rt.enter();
/// use rpc_redis::RedisLayer;
/// // CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
/// //     "CONFIG": {"hosts": ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]}}}
/// let layer = RedisLayer::core(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]).build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RedisLayer {
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    Core(CoreLayer),
    PubSub(PubSubLayer),
}

impl RedisLayer {
    /// `asgi`, channels_redis' default prefix.
    pub const DEFAULT_PREFIX: &'static str = "asgi";
    /// 100 messages per channel, channels_redis' default `capacity`.
    pub const DEFAULT_CAPACITY: usize = 100;
    /// 60 s, channels_redis' default message `expiry`.
    pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(60);
    /// One day, channels_redis' default `group_expiry`.
    pub const DEFAULT_GROUP_EXPIRY: Duration = Duration::from_secs(86_400);
    /// 2 s per layer operation: see [`RedisLayerBuilder::timeout`].
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// Settings for a layer compatible with `channels_redis.core.RedisChannelLayer`
    /// (Django Channels' default) on `hosts`: one URL (`redis://host:port/db`)
    /// or several, in the order of channels_redis' `hosts`.
    pub fn core(hosts: impl IntoHosts) -> RedisLayerBuilder {
        RedisLayerBuilder::new(Flavor::Core, hosts.into_hosts())
    }

    /// Settings for a layer compatible with
    /// `channels_redis.pubsub.RedisPubSubChannelLayer` on `hosts`.
    pub fn pubsub(hosts: impl IntoHosts) -> RedisLayerBuilder {
        RedisLayerBuilder::new(Flavor::PubSub, hosts.into_hosts())
    }

    /// Settings for a layer of either flavor.
    pub fn with_flavor(flavor: Flavor, hosts: impl IntoHosts) -> RedisLayerBuilder {
        RedisLayerBuilder::new(flavor, hosts.into_hosts())
    }

    /// The pub/sub layer on one Redis server, as before the core layer
    /// existed: the same as [`RedisLayer::pubsub`]`(url)`.
    pub fn builder(url: impl Into<String>) -> RedisLayerBuilder {
        Self::pubsub(url.into())
    }

    /// Which channels_redis layer this one speaks.
    pub fn flavor(&self) -> Flavor {
        match self.backend {
            Backend::Core(_) => Flavor::Core,
            Backend::PubSub(_) => Flavor::PubSub,
        }
    }

    fn layer(&self) -> &dyn ChannelLayer {
        match &self.backend {
            Backend::Core(layer) => layer,
            Backend::PubSub(layer) => layer,
        }
    }
}

#[async_trait]
impl ChannelLayer for RedisLayer {
    async fn new_channel(&self) -> Result<Inbox, LayerError> {
        self.layer().new_channel().await
    }

    async fn close_channel(&self, channel: &str) {
        self.layer().close_channel(channel).await
    }

    async fn send(&self, channel: &str, message: Value) -> Result<(), LayerError> {
        self.layer().send(channel, message).await
    }

    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        self.layer().group_add(group, channel).await
    }

    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        self.layer().group_discard(group, channel).await
    }

    async fn group_send(&self, group: &str, message: Value) -> Result<(), LayerError> {
        self.layer().group_send(group, message).await
    }
}
