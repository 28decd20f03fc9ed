//! Channel layers, as in Django Channels: every connection has a unique
//! channel name; channels join and leave named groups; a message sent to a
//! group reaches every member, in this process or (with the Redis layer) in
//! any process sharing the layer. Delivery is at most once.
//!
//! A message is a JSON object with a `"type"`. The type `rpc.notification`
//! (`{"type": "rpc.notification", "method": M, "params": P}`) reaches a
//! WebSocket member as the JSON-RPC notification `M(P)`; any other type goes
//! to the consumer's [`on_message`](crate::ConsumerHooks::on_message) hook.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::outbound::{encode_notification, json_text};
use crate::queue::{self, Queue, TrySendError};

/// The type of a message that becomes a JSON-RPC notification.
pub const RPC_NOTIFICATION: &str = "rpc.notification";

/// Why a layer operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerError {
    /// A group or channel name Channels would refuse: ASCII letters, digits,
    /// `-`, `_` and `.` only, fewer than 100 characters.
    #[error("invalid {kind} name {name:?}: use ASCII letters, digits, '-', '_' or '.', fewer than 100 characters")]
    InvalidName {
        /// "group" or "channel".
        kind: &'static str,
        /// The name given.
        name: String,
    },
    /// The message is not a JSON object with a string `"type"`.
    #[error("a layer message must be a JSON object with a string \"type\"")]
    InvalidMessage,
    /// The connection has no channel (one HTTP request cannot receive).
    #[error("this connection has no channel to add to a group")]
    NoChannel,
    /// The layer's backend is unreachable; the operation was not done.
    #[error("channel layer unavailable: {0}")]
    Unavailable(String),
}

impl From<LayerError> for crate::RpcError {
    fn from(e: LayerError) -> Self {
        crate::RpcError::application(e)
    }
}

/// A received message, shared by every local member of a group. The JSON-RPC
/// notification it stands for is encoded once, however many members get it.
pub struct Envelope {
    message: Value,
    notification: OnceLock<Option<String>>,
}

impl Envelope {
    /// Wraps a message.
    pub fn new(message: Value) -> Arc<Self> {
        Arc::new(Envelope {
            message,
            notification: OnceLock::new(),
        })
    }

    /// The message.
    pub fn message(&self) -> &Value {
        &self.message
    }

    /// Its `"type"`.
    pub fn message_type(&self) -> Option<&str> {
        self.message.get("type")?.as_str()
    }

    /// The JSON-RPC notification text, when the type is `rpc.notification`
    /// and `method` is a string (`params` may be omitted: `[]`).
    pub fn notification(&self) -> Option<&str> {
        self.notification
            .get_or_init(|| {
                if self.message_type() != Some(RPC_NOTIFICATION) {
                    return None;
                }
                let method = self.message.get("method")?.as_str()?;
                let empty = json!([]);
                let params = self.message.get("params").unwrap_or(&empty);
                encode_notification(method, params).ok().map(json_text)
            })
            .as_deref()
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope").field("message", &self.message).finish()
    }
}

/// Where a channel's messages arrive; its transport drains it.
#[derive(Debug)]
pub struct Inbox {
    /// The channel's unique name.
    pub name: String,
    /// Its messages.
    pub messages: Queue<Arc<Envelope>>,
}

/// A channel layer. Implementations: [`InProcessLayer`] (the default, one
/// process) and the Redis layer of `rpc-redis` (many processes).
#[async_trait]
pub trait ChannelLayer: Send + Sync + fmt::Debug + 'static {
    /// A new channel with a unique name, for a new connection.
    async fn new_channel(&self) -> Result<Inbox, LayerError>;

    /// Forgets a channel whose connection ended, and its group memberships.
    async fn close_channel(&self, channel: &str);

    /// Sends `message` to one channel.
    async fn send(&self, channel: &str, message: Value) -> Result<(), LayerError>;

    /// Adds `channel` to `group`.
    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError>;

    /// Removes `channel` from `group`; no error if it was not a member.
    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError>;

    /// Sends `message` to every member of `group`.
    async fn group_send(&self, group: &str, message: Value) -> Result<(), LayerError>;

    /// Sends the JSON-RPC notification `method(params)` to every member of `group`.
    async fn notify_group(&self, group: &str, method: &str, params: Value) -> Result<(), LayerError> {
        self.group_send(
            group,
            json!({"type": RPC_NOTIFICATION, "method": method, "params": params}),
        )
        .await
    }
}

/// Checks a group or channel name the way Channels does.
pub fn check_name(kind: &'static str, name: &str) -> Result<(), LayerError> {
    let valid = !name.is_empty()
        && name.len() < 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'?'));
    // `!` and `?` appear only in channel names Channels makes itself.
    let valid = valid && (kind == "channel" || !name.contains(['!', '?']));
    if valid {
        Ok(())
    } else {
        Err(LayerError::InvalidName {
            kind,
            name: name.to_owned(),
        })
    }
}

/// Checks that a message is an object with a string `"type"`.
pub fn check_message(message: &Value) -> Result<(), LayerError> {
    match message.get("type") {
        Some(Value::String(_)) => Ok(()),
        _ => Err(LayerError::InvalidMessage),
    }
}

/// The channels and groups of this process, shared by the layers: who is
/// here, and which local channels belong to which group.
#[derive(Debug)]
pub struct LocalRouter {
    capacity: usize,
    state: Mutex<Routes>,
}

#[derive(Debug, Default)]
struct Routes {
    channels: HashMap<String, queue::Sender<Arc<Envelope>>>,
    groups: HashMap<String, HashSet<String>>,
}

/// What a change of membership means for a layer that subscribes per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// The group had no local member before: subscribe to it.
    FirstLocal,
    /// The group has no local member any more: unsubscribe.
    LastLocalGone,
    /// Nothing to do.
    Unchanged,
}

impl LocalRouter {
    /// A router whose channels queue at most `capacity` messages each; past
    /// that, messages to a slow channel are dropped (at most once delivery).
    pub fn new(capacity: usize) -> Self {
        LocalRouter {
            capacity: capacity.max(1),
            state: Mutex::new(Routes::default()),
        }
    }

    /// Registers a channel named `name`.
    pub fn open(&self, name: String) -> Inbox {
        let (sender, messages) = queue::bounded(self.capacity);
        self.state
            .lock()
            .expect("not poisoned")
            .channels
            .insert(name.clone(), sender);
        Inbox { name, messages }
    }

    /// Removes a channel; the groups it leaves without a local member.
    pub fn close(&self, name: &str) -> Vec<String> {
        let mut state = self.state.lock().expect("not poisoned");
        state.channels.remove(name);
        let mut emptied = Vec::new();
        state.groups.retain(|group, members| {
            members.remove(name);
            if members.is_empty() {
                emptied.push(group.clone());
                false
            } else {
                true
            }
        });
        emptied
    }

    /// True when `name` is a channel of this process.
    pub fn is_local(&self, name: &str) -> bool {
        self.state.lock().expect("not poisoned").channels.contains_key(name)
    }

    /// Adds a local channel to a group.
    pub fn add(&self, group: &str, channel: &str) -> Membership {
        let mut state = self.state.lock().expect("not poisoned");
        let members = state.groups.entry(group.to_owned()).or_default();
        let first = members.is_empty();
        members.insert(channel.to_owned());
        if first {
            Membership::FirstLocal
        } else {
            Membership::Unchanged
        }
    }

    /// Removes a channel from a group.
    pub fn discard(&self, group: &str, channel: &str) -> Membership {
        let mut state = self.state.lock().expect("not poisoned");
        let Some(members) = state.groups.get_mut(group) else {
            return Membership::Unchanged;
        };
        if !members.remove(channel) || !members.is_empty() {
            return Membership::Unchanged;
        }
        state.groups.remove(group);
        Membership::LastLocalGone
    }

    /// The names of the channels of this process.
    pub fn channel_names(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("not poisoned")
            .channels
            .keys()
            .cloned()
            .collect()
    }

    /// How many local channels are in `group`.
    pub fn members(&self, group: &str) -> usize {
        self.state
            .lock()
            .expect("not poisoned")
            .groups
            .get(group)
            .map_or(0, HashSet::len)
    }

    /// The groups with local members.
    pub fn groups(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("not poisoned")
            .groups
            .keys()
            .cloned()
            .collect()
    }

    /// Delivers to one local channel; false if it is not here.
    pub fn deliver(&self, channel: &str, envelope: Arc<Envelope>) -> bool {
        let sender = self.state.lock().expect("not poisoned").channels.get(channel).cloned();
        match sender {
            Some(sender) => {
                offer(&sender, channel, envelope);
                true
            }
            None => false,
        }
    }

    /// Delivers to every local member of a group; how many were offered it.
    pub fn deliver_to_group(&self, group: &str, envelope: Arc<Envelope>) -> usize {
        let senders: Vec<(String, queue::Sender<Arc<Envelope>>)> = {
            let state = self.state.lock().expect("not poisoned");
            let Some(members) = state.groups.get(group) else {
                return 0;
            };
            members
                .iter()
                .filter_map(|m| Some((m.clone(), state.channels.get(m)?.clone())))
                .collect()
        };
        for (name, sender) in &senders {
            offer(sender, name, envelope.clone());
        }
        senders.len()
    }
}

fn offer(sender: &queue::Sender<Arc<Envelope>>, channel: &str, envelope: Arc<Envelope>) {
    if let Err(TrySendError::Full(_)) = sender.try_send(envelope) {
        tracing::warn!(channel, "channel full: message dropped");
    }
}

/// A fresh channel name, Channels-style: `{prefix}specific.{32 hex digits}`.
pub fn unique_channel_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let random = std::collections::hash_map::RandomState::new();
    let mixed = std::hash::BuildHasher::hash_one(&random, (nanos, count, std::process::id()));
    format!("{prefix}specific.{mixed:016x}{:016x}", nanos ^ count.rotate_left(32))
}

/// The default layer: groups within this process, no set-up, no server.
///
/// ```
/// use channels_rpc::{ChannelLayer, InProcessLayer};
/// use serde_json::json;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let layer = InProcessLayer::default();
/// let mut inbox = layer.new_channel().await.unwrap();
/// layer.group_add("room", &inbox.name).await.unwrap();
/// layer.notify_group("room", "chat.message", json!({"text": "hi"})).await.unwrap();
/// let got = inbox.messages.recv().await.unwrap();
/// assert_eq!(got.notification().unwrap(), r#"{"jsonrpc":"2.0","method":"chat.message","params":{"text":"hi"}}"#);
/// # });
/// ```
#[derive(Debug)]
pub struct InProcessLayer {
    router: LocalRouter,
}

impl InProcessLayer {
    /// 1,000 queued messages per channel before a slow one loses messages.
    pub const DEFAULT_CAPACITY: usize = 1000;

    /// A layer whose channels queue at most `capacity` messages.
    pub fn with_capacity(capacity: usize) -> Self {
        InProcessLayer {
            router: LocalRouter::new(capacity),
        }
    }
}

impl InProcessLayer {
    /// How many channels are in `group` now.
    pub fn members(&self, group: &str) -> usize {
        self.router.members(group)
    }
}

impl Default for InProcessLayer {
    fn default() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }
}

#[async_trait]
impl ChannelLayer for InProcessLayer {
    async fn new_channel(&self) -> Result<Inbox, LayerError> {
        Ok(self.router.open(unique_channel_name("inprocess.")))
    }

    async fn close_channel(&self, channel: &str) {
        self.router.close(channel);
    }

    async fn send(&self, channel: &str, message: Value) -> Result<(), LayerError> {
        check_name("channel", channel)?;
        check_message(&message)?;
        self.router.deliver(channel, Envelope::new(message));
        Ok(())
    }

    async fn group_add(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        check_name("channel", channel)?;
        self.router.add(group, channel);
        Ok(())
    }

    async fn group_discard(&self, group: &str, channel: &str) -> Result<(), LayerError> {
        check_name("group", group)?;
        self.router.discard(group, channel);
        Ok(())
    }

    async fn group_send(&self, group: &str, message: Value) -> Result<(), LayerError> {
        check_name("group", group)?;
        check_message(&message)?;
        self.router.deliver_to_group(group, Envelope::new(message));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_channels_rules() {
        assert!(check_name("group", "room-1_a.b").is_ok());
        assert!(check_name("group", "").is_err());
        assert!(check_name("group", "has space").is_err());
        assert!(check_name("group", &"x".repeat(100)).is_err());
        assert!(check_name("group", "a!b").is_err());
        assert!(check_name("channel", "specific.abc!def").is_ok());
        let a = unique_channel_name("asgi");
        assert!(
            a.starts_with("asgispecific.") && a.len() == "asgispecific.".len() + 32,
            "{a}"
        );
        assert_ne!(a, unique_channel_name("asgi"));
    }

    #[tokio::test]
    async fn membership_ends_with_the_channel() {
        let layer = InProcessLayer::default();
        let mut a = layer.new_channel().await.unwrap();
        let b = layer.new_channel().await.unwrap();
        layer.group_add("room", &a.name).await.unwrap();
        layer.group_add("room", &b.name).await.unwrap();
        assert_eq!(layer.router.groups(), ["room"]);
        layer.close_channel(&b.name).await;
        layer.group_send("room", json!({"type": "x"})).await.unwrap();
        assert_eq!(a.messages.recv().await.unwrap().message_type(), Some("x"));
        layer.close_channel(&a.name).await;
        assert!(layer.router.groups().is_empty());
        assert_eq!(
            layer.group_send("room", json!({"no": "type"})).await,
            Err(LayerError::InvalidMessage)
        );
    }
}
