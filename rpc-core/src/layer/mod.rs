//! Channel layers, as in Django Channels: every connection has a unique
//! channel name; channels join and leave named groups; a message sent to a
//! group reaches every member, in this process or (with the Redis layer) in
//! any process sharing the layer. Delivery is at most once.
//!
//! A message is a JSON object with a `"type"`. The type `rpc.notification`
//! (`{"type": "rpc.notification", "method": M, "params": P}`) reaches a
//! WebSocket member as the JSON-RPC notification `M(P)`; any other type goes
//! to the consumer's [`on_message`](crate::ConsumerHooks::on_message) hook.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::outbound::notification_text;

pub mod counts;
mod in_process;
mod router;

use crate::queue::Queue;
pub use in_process::InProcessLayer;
pub use router::{unique_channel_name, LocalRouter, Membership};

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
    /// The channel holds its capacity of messages already (Channels'
    /// `ChannelFull`); this message was not sent.
    #[error("channel {0:?} is full")]
    ChannelFull(String),
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
/// notification it stands for is encoded once, however many members get it,
/// and its bytes are shared by all of them.
pub struct Envelope {
    message: Value,
    /// Always UTF-8: made from a `String`.
    notification: OnceLock<Option<Bytes>>,
    /// A transport's own form of the notification ([`Envelope::transport_form`]).
    transport_form: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl Envelope {
    /// Wraps a message.
    pub fn new(message: Value) -> Arc<Self> {
        Arc::new(Envelope {
            message,
            notification: OnceLock::new(),
            transport_form: OnceLock::new(),
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
        std::str::from_utf8(self.notification_bytes()?).ok()
    }

    /// The same notification as bytes (UTF-8), encoded at the first call and
    /// shared: cloning them copies nothing, so a transport can hand the same
    /// bytes to every member.
    pub fn notification_bytes(&self) -> Option<&Bytes> {
        self.notification
            .get_or_init(|| {
                if self.message_type() != Some(RPC_NOTIFICATION) {
                    return None;
                }
                let method = self.message.get("method")?.as_str()?;
                let empty = json!([]);
                let params = self.message.get("params").unwrap_or(&empty);
                notification_text(method, params).ok().map(Bytes::from)
            })
            .as_ref()
    }

    /// The notification in a transport's own form (a WebSocket library's
    /// text type, say), made by `make` for the first member that asks and
    /// shared by the rest: checking or converting the bytes once per send,
    /// not once per member. One form per envelope: `None` when `make` gave
    /// none, or when another type was made first (then convert as if there
    /// were no cache).
    ///
    /// ```
    /// use rpc_core::Envelope;
    /// use serde_json::json;
    ///
    /// let envelope = Envelope::new(json!({"type": "rpc.notification", "method": "tick"}));
    /// let text = |e: &Envelope| e.notification().map(str::to_owned);
    /// assert_eq!(envelope.transport_form(text).map(String::as_str), Some(r#"{"jsonrpc":"2.0","method":"tick","params":[]}"#));
    /// assert!(envelope.transport_form(|_| Some(7u8)).is_none(), "a String was made first");
    /// ```
    pub fn transport_form<T: Any + Send + Sync>(&self, make: impl FnOnce(&Envelope) -> Option<T>) -> Option<&T> {
        self.transport_form
            .get_or_init(|| Box::new(make(self)))
            .downcast_ref::<Option<T>>()?
            .as_ref()
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

/// The bytes a name may hold, for [`check_name`]: letters, digits, `-`, `_`,
/// `.`, and `!` and `?` (channel names only). One table look-up per byte: a
/// Redis group send checks every member's name.
const NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'!' | b'?');
        b += 1;
    }
    table
};

/// Checks a group or channel name the way Channels does.
pub fn check_name(kind: &'static str, name: &str) -> Result<(), LayerError> {
    let valid = !name.is_empty() && name.len() < 100 && name.bytes().all(|b| NAME_BYTES[usize::from(b)]);
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
