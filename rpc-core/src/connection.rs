//! [`Connection`]: one live connection, its consumer instance and its scope,
//! what every call on it borrows.

use std::any::{Any, TypeId};
use std::sync::Arc;

use crate::layer::{ChannelLayer, LayerError};
use crate::outbound::ConnectionHandle;
use crate::rate_limit::{CallLimiter, RateLimit};
use crate::scope::Scope;

/// One live connection: its consumer instance and its scope.
#[derive(Debug)]
pub struct Connection {
    consumer: Arc<dyn Any + Send + Sync>,
    consumer_name: &'static str,
    scope: Scope,
    handle: Option<ConnectionHandle>,
    layer: Option<Arc<dyn ChannelLayer>>,
    channel: Option<String>,
    limiter: Option<CallLimiter>,
}

impl Connection {
    /// A connection served by `consumer`.
    pub fn new<C: Send + Sync + 'static>(consumer: C, scope: Scope) -> Self {
        Connection::shared(Arc::new(consumer), scope)
    }

    /// A connection served by a consumer that its transport also holds, so
    /// that the transport reaches it typed (for the hooks) without asking the
    /// connection which type it is.
    pub fn shared<C: Send + Sync + 'static>(consumer: Arc<C>, scope: Scope) -> Self {
        Connection {
            consumer,
            consumer_name: std::any::type_name::<C>(),
            scope,
            handle: None,
            layer: None,
            channel: None,
            limiter: None,
        }
    }

    /// The same connection, on `layer`, receiving on `channel` (none for a
    /// connection that cannot receive, like one HTTP request).
    #[inline]
    pub fn with_layer(mut self, layer: Arc<dyn ChannelLayer>, channel: Option<String>) -> Self {
        self.layer = Some(layer);
        self.channel = channel;
        self
    }

    /// The channel layer, if the transport has one.
    pub fn layer(&self) -> Option<&Arc<dyn ChannelLayer>> {
        self.layer.as_ref()
    }

    /// This connection's unique channel name, if it has one.
    pub fn channel_name(&self) -> Option<&str> {
        self.channel.as_deref()
    }

    /// Adds this connection to `group`.
    pub async fn group_add(&self, group: &str) -> Result<(), LayerError> {
        let (layer, channel) = self.layer_and_channel()?;
        layer.group_add(group, channel).await
    }

    /// Removes this connection from `group`.
    pub async fn group_discard(&self, group: &str) -> Result<(), LayerError> {
        let (layer, channel) = self.layer_and_channel()?;
        layer.group_discard(group, channel).await
    }

    fn layer_and_channel(&self) -> Result<(&Arc<dyn ChannelLayer>, &str), LayerError> {
        match (&self.layer, &self.channel) {
            (Some(layer), Some(channel)) => Ok((layer, channel)),
            _ => Err(LayerError::NoChannel),
        }
    }

    pub(crate) fn layer_or_error(&self) -> Result<&Arc<dyn ChannelLayer>, LayerError> {
        self.layer
            .as_ref()
            .ok_or_else(|| LayerError::Unavailable("no channel layer configured".to_owned()))
    }

    /// The same connection, able to receive pushes through `handle`.
    pub fn with_handle(mut self, handle: ConnectionHandle) -> Self {
        self.handle = Some(handle);
        self
    }

    /// The same connection, its calls bounded by `limit` (its own bucket).
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Self {
        self.limiter = Some(limit.limiter());
        self
    }

    /// This connection's rate limiter, if it has one.
    pub fn rate_limiter(&self) -> Option<&CallLimiter> {
        self.limiter.as_ref()
    }

    /// The handle that pushes messages to this connection, if its transport can.
    pub fn handle(&self) -> Option<&ConnectionHandle> {
        self.handle.as_ref()
    }

    /// The scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The scope, to change it (a connect hook may add extensions).
    pub fn scope_mut(&mut self) -> &mut Scope {
        &mut self.scope
    }

    /// The consumer, if it is a `C`.
    pub fn consumer<C: 'static>(&self) -> Option<&C> {
        self.consumer.downcast_ref()
    }

    /// The consumer's type.
    pub(crate) fn consumer_type(&self) -> TypeId {
        (*self.consumer).type_id()
    }

    /// The consumer's type name, for logs.
    pub(crate) fn consumer_name(&self) -> &'static str {
        self.consumer_name
    }
}
