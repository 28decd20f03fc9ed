//! [`Connection`], [`RpcContext`] and the [`Inject`] trait that fills a
//! method's `&T` arguments by their type.

use std::any::{Any, TypeId};
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use serde_json::value::RawValue;

use crate::consumer::{Consumer, Reject};
use crate::error::RpcError;
use crate::layer::{ChannelLayer, LayerError};
use crate::message::Version;
use crate::outbound::{ConnectionHandle, PushError};
use crate::params::Params;
use crate::registry::MethodEntry;
use crate::scope::Scope;

/// One live connection: its consumer instance and its scope.
#[derive(Debug)]
pub struct Connection {
    consumer: Box<dyn Any + Send + Sync>,
    consumer_name: &'static str,
    scope: Scope,
    handle: Option<ConnectionHandle>,
    layer: Option<Arc<dyn ChannelLayer>>,
    channel: Option<String>,
}

impl Connection {
    /// A connection served by `consumer`.
    pub fn new<C: Consumer>(consumer: C, scope: Scope) -> Self {
        Connection {
            consumer: Box::new(consumer),
            consumer_name: std::any::type_name::<C>(),
            scope,
            handle: None,
            layer: None,
            channel: None,
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

    fn layer_or_error(&self) -> Result<&Arc<dyn ChannelLayer>, LayerError> {
        self.layer
            .as_ref()
            .ok_or_else(|| LayerError::Unavailable("no channel layer configured".to_owned()))
    }

    /// Runs the consumer's connect hook on this connection's scope, which
    /// the hook may change. A connection whose consumer is not a `C` is
    /// refused with 500.
    pub async fn connect<C: Consumer>(&mut self) -> Result<(), Reject> {
        let Some(consumer) = self.consumer.downcast_ref::<C>() else {
            return Err(Reject {
                status: 500,
                reason: format!("the connection's consumer is not a {}", std::any::type_name::<C>()),
            });
        };
        consumer.connect(&mut self.scope).await
    }

    /// The same connection, able to receive pushes through `handle`.
    pub fn with_handle(mut self, handle: ConnectionHandle) -> Self {
        self.handle = Some(handle);
        self
    }

    /// The handle that pushes messages to this connection, if its transport can.
    pub fn handle(&self) -> Option<&ConnectionHandle> {
        self.handle.as_ref()
    }

    /// A connection whose consumer is made by [`Consumer::new`] from the scope.
    pub fn for_consumer<C: Consumer>(scope: Scope) -> Self {
        Connection::new(C::new(&scope), scope)
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
    pub fn consumer<C: Consumer>(&self) -> Option<&C> {
        self.consumer.downcast_ref()
    }

    fn consumer_type(&self) -> TypeId {
        (*self.consumer).type_id()
    }
}

/// Marks an [`RpcContext`] that works with any consumer.
#[derive(Debug, Clone, Copy)]
pub struct AnyConsumer;

/// Everything a method can know about the call it serves: the request id,
/// whether it is a notification, the connection's scope and its consumer, and
/// a way to push notifications back.
///
/// Take it as an argument, `ctx: &RpcContext` (any consumer) or
/// `ctx: &RpcContext<MyConsumer>` (serves only `MyConsumer`, and
/// [`consumer`](RpcContext::consumer) gives it typed):
///
/// ```
/// use channels_rpc::{rpc_method, RpcContext};
///
/// #[rpc_method]
/// async fn whoami(ctx: &RpcContext) -> Option<String> {
///     ctx.scope().header("x-user").map(str::to_owned)
/// }
/// ```
#[repr(transparent)]
pub struct RpcContext<C = AnyConsumer> {
    // The `'static` is a lie the type keeps to itself: an `RpcContext` is
    // only ever reached through a reference made by `Call::context`, which
    // cannot outlive the call, and every accessor below returns borrows tied
    // to `&self`. This keeps the type free of a lifetime parameter, which
    // `async fn` signatures would otherwise have to spell out.
    call: Call<'static>,
    _consumer: PhantomData<fn() -> C>,
}

/// The facts of one call, borrowed from the connection and the message.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub connection: &'a Connection,
    pub entry: &'static MethodEntry,
    pub version: Version,
    /// The id's JSON text as received; `None` for a notification.
    pub id: Option<&'a str>,
    pub params: Option<&'a RawValue>,
}

impl<'a> Call<'a> {
    /// The call seen as a context, for as long as the call is borrowed.
    pub(crate) fn context(&self) -> &RpcContext {
        // SAFETY: `RpcContext` is `repr(transparent)` over `Call`, and
        // `Call<'a>` and `Call<'static>` have the same layout. The returned
        // reference lives no longer than `self`, hence than `'a`, and no
        // method of `RpcContext` hands out anything with the `'static`
        // lifetime of its field: every borrow is tied to `&self`.
        unsafe { &*(self as *const Call<'a> as *const RpcContext) }
    }
}

impl RpcContext {
    fn typed<C>(&self) -> &RpcContext<C> {
        // SAFETY: both are `repr(transparent)` over the same `Call`; the type
        // parameter only appears in a zero-sized `PhantomData`.
        unsafe { &*(self as *const RpcContext as *const RpcContext<C>) }
    }
}

impl<C> RpcContext<C> {
    pub(crate) fn params_raw(&self) -> Option<&RawValue> {
        self.call.params
    }

    pub(crate) fn entry(&self) -> &'static MethodEntry {
        self.call.entry
    }

    /// The connection's scope.
    pub fn scope(&self) -> &Scope {
        &self.call.connection.scope
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        self.call.connection
    }

    /// The request id as its JSON text (`"abc"`, `1`, `null`); `None` for a notification.
    pub fn request_id(&self) -> Option<&str> {
        self.call.id
    }

    /// True when the call is a notification, whose result nobody receives.
    pub fn is_notification(&self) -> bool {
        self.call.id.is_none()
    }

    /// The method's registered name.
    pub fn method(&self) -> &'static str {
        self.call.entry.name()
    }

    /// The protocol version of the request.
    pub fn version(&self) -> Version {
        self.call.version
    }

    /// Pushes the notification `method(params)` to this connection, now.
    pub fn notify<P: serde::Serialize + ?Sized>(&self, method: &str, params: &P) -> Result<(), PushError> {
        self.handle().ok_or(PushError::Unsupported)?.notify(method, params)
    }

    /// The handle that pushes to this connection, to keep for later (a
    /// background task, another connection); `None` over HTTP.
    pub fn handle(&self) -> Option<&ConnectionHandle> {
        self.call.connection.handle()
    }

    /// This connection's channel name, by which others can [`send`](ChannelLayer::send) to it.
    pub fn channel_name(&self) -> Option<&str> {
        self.call.connection.channel_name()
    }

    /// The channel layer.
    pub fn layer(&self) -> Option<&Arc<dyn ChannelLayer>> {
        self.call.connection.layer()
    }

    /// Adds this connection to `group`, Channels' `group_add(group, self.channel_name)`.
    pub async fn group_add(&self, group: &str) -> Result<(), LayerError> {
        self.call.connection.group_add(group).await
    }

    /// Removes this connection from `group`.
    pub async fn group_discard(&self, group: &str) -> Result<(), LayerError> {
        self.call.connection.group_discard(group).await
    }

    /// Sends a layer message (a JSON object with a `"type"`) to every member of `group`.
    pub async fn group_send(&self, group: &str, message: serde_json::Value) -> Result<(), LayerError> {
        self.call.connection.layer_or_error()?.group_send(group, message).await
    }

    /// Sends the JSON-RPC notification `method(params)` to every member of `group`.
    pub async fn notify_group<P: serde::Serialize + ?Sized>(
        &self,
        group: &str,
        method: &str,
        params: &P,
    ) -> Result<(), LayerError> {
        let params = serde_json::to_value(params).map_err(|_| LayerError::InvalidMessage)?;
        self.call
            .connection
            .layer_or_error()?
            .notify_group(group, method, params)
            .await
    }
}

impl<C: Consumer> RpcContext<C> {
    /// The connection's consumer instance.
    pub fn consumer(&self) -> &C {
        self.call
            .connection
            .consumer()
            .expect("checked by Inject before the method runs")
    }
}

impl<C> std::fmt::Debug for RpcContext<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcContext")
            .field("method", &self.call.entry.name())
            .field("id", &self.call.id)
            .field("version", &self.call.version)
            .finish_non_exhaustive()
    }
}

/// The identity of a consumer type, for filtering and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerId {
    /// Its `TypeId`.
    pub id: TypeId,
    /// Its type name.
    pub name: &'static str,
}

impl ConsumerId {
    /// The id of consumer `C`.
    pub fn of<C: Consumer>() -> Self {
        ConsumerId {
            id: TypeId::of::<C>(),
            name: std::any::type_name::<C>(),
        }
    }
}

/// A type whose reference the framework fills when a method takes `&Self`:
/// `&RpcContext<C>`, `&Scope`, `&Params`, `&Connection` or `&C` for a consumer `C`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be injected into an RPC method",
    label = "not something the framework can provide",
    note = "a `&T` argument is filled by the framework: use `&RpcContext`, `&RpcContext<C>`, `&Scope`, `&Params`, `&Connection` or `&C` for a consumer `C`; take JSON parameters by value"
)]
pub trait Inject: 'static {
    /// True when this argument receives the whole `params`, so that parameters
    /// matching no argument are not an error.
    const TAKES_PARAMS: bool = false;

    /// The consumer this argument requires, which restricts the method to it.
    fn consumer() -> Option<ConsumerId> {
        None
    }

    /// Borrows the value from the call.
    fn inject(cx: &RpcContext) -> Result<&Self, RpcError>;
}

fn wrong_consumer(cx: &RpcContext, wanted: &'static str) -> RpcError {
    tracing::error!(
        method = cx.method(),
        wanted,
        served_by = cx.call.connection.consumer_name,
        "method requires another consumer"
    );
    RpcError::internal()
}

impl<C: 'static> Inject for RpcContext<C> {
    fn consumer() -> Option<ConsumerId> {
        (TypeId::of::<C>() != TypeId::of::<AnyConsumer>()).then(|| ConsumerId {
            id: TypeId::of::<C>(),
            name: std::any::type_name::<C>(),
        })
    }

    fn inject(cx: &RpcContext) -> Result<&Self, RpcError> {
        let any = TypeId::of::<C>() == TypeId::of::<AnyConsumer>();
        if any || cx.call.connection.consumer_type() == TypeId::of::<C>() {
            Ok(cx.typed())
        } else {
            Err(wrong_consumer(cx, std::any::type_name::<C>()))
        }
    }
}

impl<C: Consumer> Inject for C {
    fn consumer() -> Option<ConsumerId> {
        Some(ConsumerId::of::<C>())
    }

    fn inject(cx: &RpcContext) -> Result<&Self, RpcError> {
        cx.call
            .connection
            .consumer()
            .ok_or_else(|| wrong_consumer(cx, std::any::type_name::<C>()))
    }
}

impl Inject for Scope {
    fn inject(cx: &RpcContext) -> Result<&Self, RpcError> {
        Ok(cx.scope())
    }
}

impl Inject for Connection {
    fn inject(cx: &RpcContext) -> Result<&Self, RpcError> {
        Ok(cx.connection())
    }
}

impl Inject for Params {
    const TAKES_PARAMS: bool = true;

    fn inject(cx: &RpcContext) -> Result<&Self, RpcError> {
        static EMPTY: OnceLock<Box<RawValue>> = OnceLock::new();
        let raw = match cx.call.params {
            Some(raw) => raw,
            None => EMPTY.get_or_init(|| RawValue::from_string("[]".to_owned()).expect("valid JSON")),
        };
        Ok(Params::from_raw(raw))
    }
}
