//! [`RedisLayer`]: the channel layer over Redis pub/sub.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind};
use rpc_core::layer::{check_message, check_name, unique_channel_name, LocalRouter, Membership};
use rpc_core::{ChannelLayer, Envelope, Inbox, LayerError};
use serde_json::Value;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::wire::{decode, encode, group_channel};

/// Settings of a [`RedisLayer`], with their defaults.
#[derive(Debug, Clone)]
pub struct RedisLayerBuilder {
    url: String,
    prefix: String,
    capacity: usize,
    timeout: Duration,
}

impl RedisLayerBuilder {
    /// The key prefix shared with every process of the deployment (default
    /// `asgi`, channels_redis' default).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Messages queued per local channel before a slow one loses messages (default 1,000).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How long one Redis operation may take before it fails (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The layer. It connects lazily, so a server starts even while Redis is
    /// down; it must be built inside a tokio runtime.
    pub fn build(self) -> Result<Arc<RedisLayer>, LayerError> {
        RedisLayer::start(self)
    }
}

/// The channel layer over Redis pub/sub, wire-compatible with
/// `channels_redis.pubsub.RedisPubSubChannelLayer`.
#[derive(Debug)]
pub struct RedisLayer {
    shared: Arc<Shared>,
    manager: ConnectionManager,
    timeout: Duration,
    tasks: [JoinHandle<()>; 2],
}

#[derive(Debug)]
struct Shared {
    prefix: String,
    group_prefix: String,
    router: LocalRouter,
    /// Set when the Redis subscriptions may not match what the router needs.
    resubscribe: Notify,
}

impl Shared {
    /// Every Redis channel this process must be subscribed to.
    fn wanted(&self) -> Vec<String> {
        let mut wanted: Vec<String> = self
            .router
            .groups()
            .iter()
            .map(|g| group_channel(&self.prefix, g))
            .collect();
        wanted.extend(self.router.channel_names());
        wanted
    }

    fn deliver(&self, redis_channel: &str, payload: &[u8]) {
        let Some(message) = decode(payload) else {
            tracing::warn!(channel = redis_channel, "undecodable message dropped");
            return;
        };
        let envelope = Envelope::new(message);
        match redis_channel.strip_prefix(&self.group_prefix) {
            Some(group) => {
                self.router.deliver_to_group(group, envelope);
            }
            None => {
                self.router.deliver(redis_channel, envelope);
            }
        }
    }
}

impl RedisLayer {
    /// 1,000 queued messages per local channel.
    pub const DEFAULT_CAPACITY: usize = 1000;
    /// 2 s per Redis operation.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// Settings for a layer on the Redis server at `url` (`redis://host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisLayerBuilder {
        RedisLayerBuilder {
            url: url.into(),
            prefix: "asgi".to_owned(),
            capacity: Self::DEFAULT_CAPACITY,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    fn start(settings: RedisLayerBuilder) -> Result<Arc<Self>, LayerError> {
        let unavailable = |e: redis::RedisError| LayerError::Unavailable(e.to_string());
        // Pub/sub messages arrive as RESP3 pushes on the one multiplexed connection.
        let url = if settings.url.contains("protocol=") {
            settings.url.clone()
        } else if settings.url.contains('?') {
            format!("{}&protocol=resp3", settings.url)
        } else {
            format!("{}?protocol=resp3", settings.url)
        };
        let client = redis::Client::open(url).map_err(unavailable)?;
        let (pushes, receiver) = mpsc::unbounded_channel::<PushInfo>();
        let config = ConnectionManagerConfig::new()
            .set_push_sender(pushes)
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        let shared = Arc::new(Shared {
            group_prefix: group_channel(&settings.prefix, ""),
            prefix: settings.prefix,
            router: LocalRouter::new(settings.capacity),
            resubscribe: Notify::new(),
        });
        let tasks = [
            tokio::spawn(receive(shared.clone(), receiver)),
            tokio::spawn(keep_subscribed(shared.clone(), manager.clone(), settings.timeout)),
        ];
        Ok(Arc::new(RedisLayer {
            shared,
            manager,
            timeout: settings.timeout,
            tasks,
        }))
    }

    /// Runs one Redis command within the timeout.
    async fn run(&self, command: redis::Cmd) -> Result<(), LayerError> {
        let mut connection = self.manager.clone();
        match tokio::time::timeout(self.timeout, command.exec_async(&mut connection)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(LayerError::Unavailable(e.to_string())),
            Err(_) => Err(LayerError::Unavailable("Redis did not answer in time".to_owned())),
        }
    }

    async fn publish(&self, redis_channel: String, message: &Value) -> Result<(), LayerError> {
        check_message(message)?;
        let mut command = redis::cmd("PUBLISH");
        command.arg(redis_channel).arg(encode(message)?);
        self.run(command).await
    }

    async fn subscribe(&self, redis_channel: &str) -> Result<(), LayerError> {
        let mut command = redis::cmd("SUBSCRIBE");
        command.arg(redis_channel);
        self.run(command).await
    }

    async fn unsubscribe(&self, redis_channels: &[String]) {
        if redis_channels.is_empty() {
            return;
        }
        let mut command = redis::cmd("UNSUBSCRIBE");
        command.arg(redis_channels);
        if let Err(e) = self.run(command).await {
            // Subscriptions die with the connection anyway, and only wanted ones come back.
            tracing::debug!(error = %e, "unsubscribe failed");
        }
    }
}

impl Drop for RedisLayer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Hands each pushed pub/sub message to the local router; a lost connection
/// asks the keeper to subscribe again.
async fn receive(shared: Arc<Shared>, mut pushes: mpsc::UnboundedReceiver<PushInfo>) {
    while let Some(push) = pushes.recv().await {
        match push.kind {
            PushKind::Message => {
                if let [redis::Value::BulkString(channel), redis::Value::BulkString(payload)] = &push.data[..] {
                    shared.deliver(&String::from_utf8_lossy(channel), payload);
                }
            }
            PushKind::Disconnection => {
                tracing::warn!("Redis connection lost; will subscribe again once it is back");
                shared.resubscribe.notify_one();
            }
            _ => {}
        }
    }
}

/// Whenever asked, subscribes to everything wanted, retrying until Redis answers.
async fn keep_subscribed(shared: Arc<Shared>, manager: ConnectionManager, timeout: Duration) {
    loop {
        shared.resubscribe.notified().await;
        let mut delay = Duration::from_millis(50);
        loop {
            let wanted = shared.wanted();
            if wanted.is_empty() {
                break;
            }
            let mut command = redis::cmd("SUBSCRIBE");
            command.arg(&wanted);
            let mut connection = manager.clone();
            match tokio::time::timeout(timeout, command.exec_async(&mut connection)).await {
                Ok(Ok(())) => {
                    tracing::info!(channels = wanted.len(), "subscribed to Redis again");
                    break;
                }
                _ => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

#[async_trait]
impl ChannelLayer for RedisLayer {
    async fn new_channel(&self) -> Result<Inbox, LayerError> {
        let inbox = self.shared.router.open(unique_channel_name(&self.shared.prefix));
        if let Err(e) = self.subscribe(&inbox.name).await {
            // The channel works locally now and is subscribed once Redis is back.
            tracing::warn!(error = %e, "could not subscribe a new channel yet");
            self.shared.resubscribe.notify_one();
        }
        Ok(inbox)
    }

    async fn close_channel(&self, channel: &str) {
        let mut gone: Vec<String> = self
            .shared
            .router
            .close(channel)
            .iter()
            .map(|g| group_channel(&self.shared.prefix, g))
            .collect();
        gone.push(channel.to_owned());
        self.unsubscribe(&gone).await;
    }

    async fn send(&self, channel: &str, message: Value) -> Result<(), LayerError> {
        check_name("channel", channel)?;
        self.publish(channel.to_owned(), &message).await
    }

    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        check_name("channel", channel)?;
        if !self.shared.router.is_local(channel) {
            return Err(LayerError::NoChannel);
        }
        if self.shared.router.add(group, channel) == Membership::FirstLocal {
            if let Err(e) = self.subscribe(&group_channel(&self.shared.prefix, group)).await {
                self.shared.router.discard(group, channel);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        if self.shared.router.discard(group, channel) == Membership::LastLocalGone {
            self.unsubscribe(&[group_channel(&self.shared.prefix, group)]).await;
        }
        Ok(())
    }

    async fn group_send(&self, group: &str, message: Value) -> Result<(), LayerError> {
        check_name("group", group)?;
        self.publish(group_channel(&self.shared.prefix, group), &message).await
    }
}
