//! [`InProcessLayer`]: the default channel layer, for one process.

use async_trait::async_trait;
use serde_json::Value;

use super::counts::{count_message, Direction};
use super::{check_message, check_name, unique_channel_name, ChannelLayer, Envelope, Inbox, LayerError, LocalRouter};

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
        count_message(self.router.layer_name(), Direction::Sent);
        if !self.router.deliver(channel, Envelope::new(message)) {
            count_message(self.router.layer_name(), Direction::Dropped);
        }
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
        count_message(self.router.layer_name(), Direction::Sent);
        self.router.deliver_to_group(group, Envelope::new(message));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_channels_rules() {
        assert!(check_name("group", "room-1_a.b").is_ok());
        assert!(check_name("group", "").is_err());
        assert!(check_name("group", "has space").is_err());
        assert!(check_name("group", &"x".repeat(100)).is_err());
        assert!(check_name("group", "a!b").is_err());
        assert!(check_name("channel", "specific.abc!def").is_ok());
        assert!(check_name("group", "a?b").is_err() && check_name("channel", "a?b").is_ok());
        assert!(check_name("channel", "caf\u{e9}").is_err());
        for byte in 0..=127u8 {
            let name = format!("a{}b", byte as char);
            let plain = byte.is_ascii_alphanumeric() || b"-_.".contains(&byte);
            assert_eq!(check_name("group", &name).is_ok(), plain, "{byte}");
            assert_eq!(
                check_name("channel", &name).is_ok(),
                plain || b"!?".contains(&byte),
                "{byte}"
            );
        }
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
