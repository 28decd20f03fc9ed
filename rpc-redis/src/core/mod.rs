//! [`CoreLayer`]: channels_redis' default `RedisChannelLayer`.
//!
//! - A group is the sorted set `{prefix}:group:{group}` on the host its name
//!   hashes to, members the full channel names scored by the time they joined,
//!   renewed for `group_expiry` on each add and pruned of older members before
//!   each group send.
//! - A connection's channel is `specific.{process}!{connection}`; the messages
//!   of every channel of this process wait in one sorted set,
//!   `{prefix}specific.{process}!`, on the host that part hashes to, and the
//!   reserved `__asgi_channel__` field says which channel(s) each is for.
//! - A message is 12 random bytes and msgpack, scored by the time it was sent,
//!   pruned after `expiry`; a channel holds at most its capacity.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use rpc_core::layer::counts::{count_message, Direction};
use rpc_core::layer::{check_message, check_name, LocalRouter};
use rpc_core::{ChannelLayer, Inbox, LayerError};
use serde_json::{Map, Value};
use tokio::task::JoinHandle;

use crate::builder::Settings;
use crate::connection::{connect, now, query};
use crate::shard::{non_local_name, shard_index};

/// This layer's name in `channels_rpc_layer_messages_total`.
pub(crate) const LAYER_NAME: &str = "redis";

mod body;
mod capacity;
mod receive;
mod scripts;

pub(crate) use capacity::Capacities;

/// Memberships of closed channels still to remove while Redis is down, at
/// most; older ones are left to expire with `group_expiry`.
const MAX_PENDING_DISCARDS: usize = 10_000;

/// How often removals that failed are tried again.
const RETRY_DISCARDS_EVERY: Duration = Duration::from_secs(1);

/// The core layer: a command connection and a receiving one per host.
#[derive(Debug)]
pub(crate) struct CoreLayer {
    inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    settings: Settings,
    hosts: Vec<ConnectionManager>,
    /// `specific.{process}!`: the part shared by this process's channels.
    local_part: String,
    /// `{prefix}specific.{process}!`: where their messages wait.
    process_key: String,
    router: LocalRouter,
    /// The groups each local channel joined, to leave them when it closes.
    memberships: Mutex<HashMap<String, HashSet<String>>>,
    /// `(group, channel)` removals that failed, tried again later.
    pending_discards: Mutex<VecDeque<(String, String)>>,
    /// Round robin over the hosts for channels without a `!`, as channels_redis does.
    next_host: AtomicUsize,
}

impl CoreLayer {
    pub(crate) fn start(settings: Settings) -> Result<Self, LayerError> {
        let mut hosts = Vec::new();
        let mut receivers = Vec::new();
        for url in &settings.hosts {
            hosts.push(connect(url, settings.timeout, settings.timeout, None)?);
            let blocking_reply = receive::BLOCK + settings.timeout;
            receivers.push(connect(url, settings.timeout, blocking_reply, None)?);
        }
        let local_part = format!("specific.{:032x}!", rand::random::<u128>());
        let inner = Arc::new(Inner {
            process_key: format!("{}{local_part}", settings.prefix),
            local_part,
            router: LocalRouter::new(settings.capacity).counted_as(LAYER_NAME),
            memberships: Mutex::default(),
            pending_discards: Mutex::default(),
            next_host: AtomicUsize::new(0),
            hosts,
            settings,
        });
        let mut tasks: Vec<JoinHandle<()>> = receivers
            .into_iter()
            .enumerate()
            .map(|(host, connection)| tokio::spawn(receive::receive(inner.clone(), host, connection)))
            .collect();
        tasks.push(tokio::spawn(retry_discards(inner.clone())));
        Ok(CoreLayer { inner, tasks })
    }
}

impl Drop for CoreLayer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Where one group send writes: a message queue key, its host, the group
/// members whose messages wait there, and its capacity.
struct Target {
    key: String,
    host: usize,
    channels: Vec<String>,
    capacity: usize,
}

impl Inner {
    fn group_key(&self, group: &str) -> String {
        format!("{}:group:{group}", self.settings.prefix)
    }

    fn host_of(&self, name: &str) -> usize {
        shard_index(name, self.hosts.len())
    }

    /// `int(time.time()) - seconds`, the bound channels_redis prunes below.
    fn older_than(seconds: u64) -> i64 {
        now() as i64 - seconds as i64
    }

    async fn add_member(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        let key = self.group_key(group);
        let mut pipe = redis::pipe();
        pipe.cmd("ZADD").arg(&key).arg(now()).arg(channel).ignore();
        pipe.cmd("EXPIRE")
            .arg(&key)
            .arg(self.settings.group_expiry_secs)
            .ignore();
        let host = &self.hosts[self.host_of(group)];
        query::<()>(host, self.settings.timeout, pipe).await
    }

    async fn remove_member(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        let mut command = redis::cmd("ZREM");
        command.arg(self.group_key(group)).arg(channel);
        let host = &self.hosts[self.host_of(group)];
        query::<()>(host, self.settings.timeout, command).await
    }

    /// Removes `(group, channel)` now, or later if Redis does not answer.
    async fn remove_member_or_retry(&self, group: String, channel: String) {
        if let Err(e) = self.remove_member(&group, &channel).await {
            tracing::warn!(group, channel, error = %e, "cannot leave the group yet; will retry");
            let mut pending = self.pending_discards.lock().expect("not poisoned");
            if pending.len() >= MAX_PENDING_DISCARDS {
                pending.pop_front();
            }
            pending.push_back((group, channel));
        }
    }

    /// The group's current members, after pruning those older than `group_expiry`.
    async fn members(&self, group: &str) -> Result<Vec<String>, LayerError> {
        let key = self.group_key(group);
        let mut pipe = redis::pipe();
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg(0)
            .arg(Self::older_than(self.settings.group_expiry_secs))
            .ignore();
        pipe.cmd("ZRANGE").arg(&key).arg(0).arg(-1);
        let host = &self.hosts[self.host_of(group)];
        let (members,): (Vec<Vec<u8>>,) = query(host, self.settings.timeout, pipe).await?;
        Ok(members
            .into_iter()
            .filter_map(|member| match String::from_utf8(member) {
                Ok(name) if check_name("channel", &name).is_ok() => Some(name),
                _ => {
                    tracing::warn!(group, "invalid member of the group's sorted set skipped");
                    None
                }
            })
            .collect())
    }

    /// channels_redis' `_map_channel_keys_to_connection`: members sharing a
    /// queue key share one message, listing them all in `__asgi_channel__`.
    /// Members of one process (one key) mostly come one after another: a
    /// member with the previous member's key joins its target with no key
    /// made or looked up.
    fn targets(&self, channels: Vec<String>) -> Vec<Target> {
        let mut targets: Vec<Target> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut last: Option<usize> = None;
        for channel in channels {
            let non_local = non_local_name(&channel);
            if let Some(i) = last.filter(|&i| targets[i].key.strip_prefix(&self.settings.prefix) == Some(non_local)) {
                targets[i].channels.push(channel);
                continue;
            }
            let key = format!("{}{non_local}", self.settings.prefix);
            match by_key.get(&key) {
                Some(&i) => {
                    last = Some(i);
                    targets[i].channels.push(channel);
                }
                None => {
                    last = Some(targets.len());
                    by_key.insert(key.clone(), targets.len());
                    targets.push(Target {
                        key,
                        host: self.host_of(non_local),
                        capacity: self.settings.capacities.of(&channel),
                        channels: vec![channel],
                    });
                }
            }
        }
        targets
    }

    /// Writes one host's share of a group send with channels_redis' script;
    /// how many members were full.
    async fn send_to_host(
        &self,
        host: usize,
        targets: &[&Target],
        message: &Map<String, Value>,
    ) -> Result<i64, LayerError> {
        let expired = Self::older_than(self.settings.expiry_secs);
        let mut pipe = redis::pipe();
        for target in targets {
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(&target.key)
                .arg(0)
                .arg(expired)
                .ignore();
        }
        let eval = pipe.cmd("EVAL").arg(scripts::GROUP_SEND).arg(targets.len());
        for target in targets {
            eval.arg(&target.key);
        }
        for target in targets {
            eval.arg(body::encode_for(message, &target.channels, &self.settings.codec)?);
        }
        for target in targets {
            eval.arg(target.capacity);
        }
        eval.arg(now()).arg(self.settings.expiry_secs);
        let (over_capacity,): (i64,) = query(&self.hosts[host], self.settings.timeout, pipe).await?;
        Ok(over_capacity)
    }

    async fn group_send(&self, group: &str, message: Map<String, Value>) -> Result<(), LayerError> {
        let members = self.members(group).await?;
        let member_count = members.len();
        let targets = self.targets(members);
        let mut hosts: Vec<usize> = targets.iter().map(|t| t.host).collect();
        hosts.sort_unstable();
        hosts.dedup();
        for host in hosts {
            let here: Vec<&Target> = targets.iter().filter(|t| t.host == host).collect();
            let over_capacity = self.send_to_host(host, &here, &message).await?;
            if over_capacity > 0 {
                tracing::info!(
                    group,
                    over_capacity,
                    members = member_count,
                    "channels over capacity in group"
                );
            }
        }
        Ok(())
    }

    async fn send(&self, channel: &str, mut message: Map<String, Value>) -> Result<(), LayerError> {
        // A process-local channel's messages wait under the part before `!`, on
        // that part's host: where channels_redis' receive looks for them.
        let non_local = non_local_name(channel);
        let host = if non_local.len() < channel.len() {
            message.insert(body::ASGI_CHANNEL.to_owned(), Value::from(channel));
            self.host_of(non_local)
        } else {
            self.next_host.fetch_add(1, Ordering::Relaxed) % self.hosts.len()
        };
        let mut command = redis::cmd("EVAL");
        command
            .arg(scripts::SEND)
            .arg(1)
            .arg(format!("{}{non_local}", self.settings.prefix))
            .arg(Self::older_than(self.settings.expiry_secs))
            .arg(self.settings.capacities.of(channel))
            .arg(now())
            .arg(body::encode(&message, &self.settings.codec)?)
            .arg(self.settings.expiry_secs);
        let full: i64 = query(&self.hosts[host], self.settings.timeout, command).await?;
        if full == 1 {
            return Err(LayerError::ChannelFull(channel.to_owned()));
        }
        Ok(())
    }
}

/// Tries the removals that failed again, every [`RETRY_DISCARDS_EVERY`].
async fn retry_discards(inner: Arc<Inner>) {
    loop {
        tokio::time::sleep(RETRY_DISCARDS_EVERY).await;
        let due: Vec<(String, String)> = inner.pending_discards.lock().expect("not poisoned").drain(..).collect();
        for (group, channel) in due {
            inner.remove_member_or_retry(group, channel).await;
        }
    }
}

/// `f`, failing with [`LayerError::Unavailable`] after `timeout` overall.
async fn within<T>(
    timeout: Duration,
    f: impl std::future::Future<Output = Result<T, LayerError>>,
) -> Result<T, LayerError> {
    tokio::time::timeout(timeout, f)
        .await
        .unwrap_or_else(|_| Err(LayerError::Unavailable("Redis did not answer in time".to_owned())))
}

#[async_trait]
impl ChannelLayer for CoreLayer {
    async fn new_channel(&self) -> Result<Inbox, LayerError> {
        let name = format!("{}{:032x}", self.inner.local_part, rand::random::<u128>());
        Ok(self.inner.router.open(name))
    }

    async fn close_channel(&self, channel: &str) {
        self.inner.router.close(channel);
        let groups = self.inner.memberships.lock().expect("not poisoned").remove(channel);
        for group in groups.into_iter().flatten() {
            self.inner.remove_member_or_retry(group, channel.to_owned()).await;
        }
    }

    async fn send(&self, channel: &str, message: Value) -> Result<(), LayerError> {
        check_name("channel", channel)?;
        check_message(&message)?;
        let message = body::into_object(message)?;
        within(self.inner.settings.timeout, self.inner.send(channel, message)).await?;
        count_message(LAYER_NAME, Direction::Sent);
        Ok(())
    }

    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        check_name("channel", channel)?;
        self.inner.add_member(group, channel).await?;
        if self.inner.router.is_local(channel) {
            let mut memberships = self.inner.memberships.lock().expect("not poisoned");
            memberships
                .entry(channel.to_owned())
                .or_default()
                .insert(group.to_owned());
        }
        Ok(())
    }

    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        check_name("channel", channel)?;
        self.inner.remove_member(group, channel).await?;
        if let Some(groups) = self.inner.memberships.lock().expect("not poisoned").get_mut(channel) {
            groups.remove(group);
        }
        Ok(())
    }

    async fn group_send(&self, group: &str, message: Value) -> Result<(), LayerError> {
        check_name("group", group)?;
        check_message(&message)?;
        let message = body::into_object(message)?;
        within(self.inner.settings.timeout, self.inner.group_send(group, message)).await?;
        count_message(LAYER_NAME, Direction::Sent);
        Ok(())
    }
}
