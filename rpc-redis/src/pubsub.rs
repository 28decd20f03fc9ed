//! [`PubSubLayer`]: channels_redis' `RedisPubSubChannelLayer` over one or
//! several hosts. A pub/sub channel lives on the host its full name hashes to.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{PushInfo, PushKind};
use rpc_core::layer::counts::{count_message, Direction};
use rpc_core::layer::{check_message, check_name, unique_channel_name, LocalRouter, Membership};
use rpc_core::{ChannelLayer, Envelope, Inbox, LayerError};
use serde_json::Value;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::builder::Settings;
use crate::codec::Codec;
use crate::connection::{connect, query, Backoff};
use crate::shard::shard_index;
use crate::wire::{decode, encode, group_channel};

/// This layer's name in `channels_rpc_layer_messages_total`.
const LAYER_NAME: &str = "redis_pubsub";

/// The pub/sub layer: one subscribing connection per host.
#[derive(Debug)]
pub(crate) struct PubSubLayer {
    routes: Arc<Routes>,
    shards: Vec<Arc<Shard>>,
    timeout: Duration,
    tasks: Vec<JoinHandle<()>>,
}

/// One host and what must be subscribed on it.
#[derive(Debug)]
struct Shard {
    index: usize,
    connection: ConnectionManager,
    /// Set when this host's subscriptions may not match what the router needs.
    resubscribe: Notify,
}

#[derive(Debug)]
struct Routes {
    prefix: String,
    codec: Codec,
    group_prefix: String,
    hosts: usize,
    router: LocalRouter,
}

impl Routes {
    /// Every Redis channel this process must be subscribed to on host `shard`.
    fn wanted(&self, shard: usize) -> Vec<String> {
        let groups = self
            .router
            .groups()
            .into_iter()
            .map(|g| group_channel(&self.prefix, &g));
        groups
            .chain(self.router.channel_names())
            .filter(|name| shard_index(name, self.hosts) == shard)
            .collect()
    }

    fn deliver(&self, redis_channel: &str, payload: &[u8]) {
        let Some(message) = self.codec.open(payload).and_then(|packed| decode(&packed)) else {
            tracing::warn!(channel = redis_channel, "undecodable message dropped");
            count_message(LAYER_NAME, Direction::Dropped);
            return;
        };
        let envelope = Envelope::new(message);
        match redis_channel.strip_prefix(&self.group_prefix) {
            Some(group) => {
                self.router.deliver_to_group(group, envelope);
            }
            None => {
                if !self.router.deliver(redis_channel, envelope) {
                    count_message(LAYER_NAME, Direction::Dropped);
                }
            }
        }
    }
}

/// Pub/sub messages arrive as RESP3 pushes on the one multiplexed connection.
fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

impl PubSubLayer {
    pub(crate) fn start(settings: Settings) -> Result<Self, LayerError> {
        let routes = Arc::new(Routes {
            group_prefix: group_channel(&settings.prefix, ""),
            prefix: settings.prefix,
            codec: settings.codec,
            hosts: settings.hosts.len(),
            router: LocalRouter::new(settings.capacity).counted_as(LAYER_NAME),
        });
        let mut shards = Vec::new();
        let mut tasks = Vec::new();
        for (index, url) in settings.hosts.iter().enumerate() {
            let (pushes, received) = mpsc::unbounded_channel::<PushInfo>();
            let connection = connect(&with_resp3(url), settings.timeout, settings.timeout, Some(pushes))?;
            let shard = Arc::new(Shard {
                index,
                connection,
                resubscribe: Notify::new(),
            });
            tasks.push(tokio::spawn(receive(routes.clone(), shard.clone(), received)));
            tasks.push(tokio::spawn(keep_subscribed(
                routes.clone(),
                shard.clone(),
                settings.timeout,
            )));
            shards.push(shard);
        }
        Ok(PubSubLayer {
            routes,
            shards,
            timeout: settings.timeout,
            tasks,
        })
    }

    fn shard(&self, redis_channel: &str) -> &Arc<Shard> {
        &self.shards[shard_index(redis_channel, self.shards.len())]
    }

    async fn publish(&self, redis_channel: String, message: &Value) -> Result<(), LayerError> {
        check_message(message)?;
        let mut command = redis::cmd("PUBLISH");
        command
            .arg(&redis_channel)
            .arg(self.routes.codec.seal(encode(message)?));
        query::<()>(&self.shard(&redis_channel).connection, self.timeout, command).await
    }

    async fn subscribe(&self, redis_channel: &str) -> Result<(), LayerError> {
        let mut command = redis::cmd("SUBSCRIBE");
        command.arg(redis_channel);
        query::<()>(&self.shard(redis_channel).connection, self.timeout, command).await
    }

    async fn unsubscribe(&self, redis_channels: &[String]) {
        for shard in &self.shards {
            let here: Vec<&String> = redis_channels
                .iter()
                .filter(|c| shard_index(c, self.shards.len()) == shard.index)
                .collect();
            if here.is_empty() {
                continue;
            }
            let mut command = redis::cmd("UNSUBSCRIBE");
            command.arg(here);
            if let Err(e) = query::<()>(&shard.connection, self.timeout, command).await {
                // Subscriptions die with the connection anyway, and only wanted ones come back.
                tracing::debug!(error = %e, "unsubscribe failed");
            }
        }
    }
}

impl Drop for PubSubLayer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Hands each message pushed by one host to the local router; a lost
/// connection asks that host's keeper to subscribe again.
async fn receive(routes: Arc<Routes>, shard: Arc<Shard>, mut pushes: mpsc::UnboundedReceiver<PushInfo>) {
    while let Some(push) = pushes.recv().await {
        match push.kind {
            PushKind::Message => {
                if let [redis::Value::BulkString(channel), redis::Value::BulkString(payload)] = &push.data[..] {
                    routes.deliver(&String::from_utf8_lossy(channel), payload);
                }
            }
            PushKind::Disconnection => {
                tracing::warn!(
                    host = shard.index,
                    "Redis connection lost; will subscribe again once it is back"
                );
                shard.resubscribe.notify_one();
            }
            _ => {}
        }
    }
}

/// Whenever asked, subscribes to everything wanted on one host, retrying
/// until it answers.
async fn keep_subscribed(routes: Arc<Routes>, shard: Arc<Shard>, timeout: Duration) {
    loop {
        shard.resubscribe.notified().await;
        let mut backoff = Backoff::new();
        loop {
            let wanted = routes.wanted(shard.index);
            if wanted.is_empty() {
                break;
            }
            let mut command = redis::cmd("SUBSCRIBE");
            command.arg(&wanted);
            match query::<()>(&shard.connection, timeout, command).await {
                Ok(()) => {
                    tracing::info!(host = shard.index, channels = wanted.len(), "subscribed to Redis again");
                    break;
                }
                Err(_) => backoff.wait().await,
            }
        }
    }
}

#[async_trait]
impl ChannelLayer for PubSubLayer {
    async fn new_channel(&self) -> Result<Inbox, LayerError> {
        let inbox = self.routes.router.open(unique_channel_name(&self.routes.prefix));
        if let Err(e) = self.subscribe(&inbox.name).await {
            // The channel works locally now and is subscribed once Redis is back.
            tracing::warn!(error = %e, "could not subscribe a new channel yet");
            self.shard(&inbox.name).resubscribe.notify_one();
        }
        Ok(inbox)
    }

    async fn close_channel(&self, channel: &str) {
        let mut gone: Vec<String> = self
            .routes
            .router
            .close(channel)
            .iter()
            .map(|g| group_channel(&self.routes.prefix, g))
            .collect();
        gone.push(channel.to_owned());
        self.unsubscribe(&gone).await;
    }

    async fn send(&self, channel: &str, message: Value) -> Result<(), LayerError> {
        check_name("channel", channel)?;
        self.publish(channel.to_owned(), &message).await?;
        count_message(LAYER_NAME, Direction::Sent);
        Ok(())
    }

    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        check_name("channel", channel)?;
        if !self.routes.router.is_local(channel) {
            return Err(LayerError::NoChannel);
        }
        if self.routes.router.add(group, channel) == Membership::FirstLocal {
            if let Err(e) = self.subscribe(&group_channel(&self.routes.prefix, group)).await {
                self.routes.router.discard(group, channel);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        if self.routes.router.discard(group, channel) == Membership::LastLocalGone {
            self.unsubscribe(&[group_channel(&self.routes.prefix, group)]).await;
        }
        Ok(())
    }

    async fn group_send(&self, group: &str, message: Value) -> Result<(), LayerError> {
        check_name("group", group)?;
        self.publish(group_channel(&self.routes.prefix, group), &message)
            .await?;
        count_message(LAYER_NAME, Direction::Sent);
        Ok(())
    }
}
