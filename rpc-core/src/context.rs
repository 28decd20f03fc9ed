//! [`RpcContext`] and the [`Inject`] trait that fills a method's `&T`
//! arguments by their type.

use std::any::TypeId;
use std::marker::PhantomData;
use std::sync::Arc;

use ref_cast::{ref_cast_custom, RefCastCustom};

use crate::client_calls::ClientCallError;
use crate::connection::Connection;
use crate::error::RpcError;
use crate::layer::{ChannelLayer, LayerError};
use crate::message::Version;
use crate::outbound::{ConnectionHandle, PushError};
use crate::params::Params;
use crate::scope::Scope;

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

// Why this is sound.
//
// `RpcContext` is a view of the call's facts (`Call`, crate-private) with
// their borrow lifetime erased to `'static`, so that the type needs no
// lifetime parameter: an `async fn` taking `&RpcContext<'_, C>` must spell the
// lifetime out (a path with an elided lifetime is refused, E0726), and
// `Inject` requires `'static` types. The erasure is harmless because no
// `RpcContext` is ever seen except behind a reference that lives no longer
// than the real `Call<'a>`:
//
// - No `RpcContext` value is ever made. The only way to one is
//   `Call::context`, which turns a `&'s Call<'a>` (so `'a: 's`) into a
//   `&'s RpcContext` with the same `'s`; `from_call`/`retyped` only change
//   the marker type parameter, keeping `'s`. There is no public constructor,
//   and the type is not `Clone`, `Copy` or `Default`.
// - Every API hands out `&'s RpcContext` only, never `&mut` nor a value, so no
//   one can move, swap, `mem::take` or keep one: the generated wrapper
//   (`registry::CallFn`, `for<'s> fn(&'s RpcContext) -> Invoked<'s>`) and the
//   futures of async methods are bound by `'s`; `Inject::inject`, which users
//   may implement for their own types, receives a `&'s RpcContext` and must
//   return a `&'s Self`, and cannot build an `RpcContext` to return. The only
//   `Inject` impl whose `Self` is an `RpcContext` is the one below, which
//   returns the same reference retyped.
// - The field is private to this module, and every accessor ties what it
//   returns to `&self` (`scope`, `connection`, `request_id`, `params_raw`,
//   `handle`, `layer`, `channel_name`, `consumer`, and the `Inject` impls).
//   The only `&'static` ones, `method` and `param_names`, read fields that
//   are `&'static` in every `Call<'a>`, not erased ones.
// - `Send`/`Sync` do not depend on the lifetime: `Call`'s fields are shared
//   references to `Sync` data whatever their lifetime.
#[derive(RefCastCustom)]
#[repr(transparent)]
pub struct RpcContext<C = AnyConsumer> {
    call: Call<'static>,
    #[trivial]
    _consumer: PhantomData<fn() -> C>,
}

/// The facts of one call, borrowed from the connection and the message.
///
/// Fields borrowed for `'a` are erased to `'static` inside an
/// [`RpcContext`]; fields that are `'static` here are truly so.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub connection: &'a Connection,
    /// The method's registered name.
    pub method: &'static str,
    /// The method's JSON parameter names, in order.
    pub param_names: &'static [&'static str],
    /// The method receives the whole params, so extra ones are no error.
    pub takes_params: bool,
    pub version: Version,
    /// The id's JSON text as received; `None` for a notification.
    pub id: Option<&'a str>,
    pub params: Option<&'a Params>,
    /// The call is a member of a batch of sync calls, whose answers are
    /// copied into one array as they come.
    pub in_batch: bool,
}

impl<'a> Call<'a> {
    /// The call seen as a context, for as long as the call is borrowed.
    pub(crate) fn context(&self) -> &RpcContext {
        let erased: *const Call<'static> = (self as *const Call<'a>).cast();
        // SAFETY: `Call<'a>` and `Call<'static>` differ in lifetimes only, so
        // they have the same layout, and the pointer comes from a valid
        // reference. Only the lifetime of the data `self` borrows is
        // extended: the reference made here is bound by the elided lifetime
        // of `&self`, which is no longer than `'a`, and it is only ever
        // exposed as a `&RpcContext` of that same lifetime, through which
        // nothing typed `'static` that is not truly so is handed out (see the
        // doc of `RpcContext`, "Why this is sound").
        let erased: &Call<'static> = unsafe { &*erased };
        RpcContext::from_call(erased)
    }
}

impl<C> RpcContext<C> {
    /// The same call as a context of another consumer type parameter.
    #[ref_cast_custom]
    fn from_call<'s>(call: &'s Call<'static>) -> &'s Self;

    /// Any view of this call (the consumer parameter is only a marker).
    fn retyped<D>(&self) -> &RpcContext<D> {
        RpcContext::<D>::from_call(&self.call)
    }

    pub(crate) fn params_raw(&self) -> Option<&Params> {
        self.call.params
    }

    pub(crate) fn in_batch(&self) -> bool {
        self.call.in_batch
    }

    pub(crate) fn param_names(&self) -> &'static [&'static str] {
        self.call.param_names
    }

    pub(crate) fn takes_params(&self) -> bool {
        self.call.takes_params
    }

    /// The connection's scope.
    pub fn scope(&self) -> &Scope {
        self.call.connection.scope()
    }

    /// The value of type `T` in the scope's extensions (where a connect hook
    /// puts the authenticated user), if there is one.
    ///
    /// ```
    /// use channels_rpc::RpcContext;
    ///
    /// struct User(String);
    ///
    /// fn logged_in(cx: &RpcContext) -> bool {
    ///     cx.extension::<User>().is_some()
    /// }
    /// ```
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.scope().extensions().get::<T>()
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
        self.call.method
    }

    /// The protocol version of the request.
    pub fn version(&self) -> Version {
        self.call.version
    }

    /// Pushes the notification `method(params)` to this connection, now.
    pub fn notify<P: serde::Serialize + ?Sized>(&self, method: &str, params: &P) -> Result<(), PushError> {
        self.handle().ok_or(PushError::Unsupported)?.notify(method, params)
    }

    /// Calls `method(params)` on this connection's client and waits for its
    /// result (see [`ConnectionHandle::call_client`]); over HTTP,
    /// [`ClientCallError::Unsupported`]. `?` turns the error into an
    /// [`RpcError`]: the client's own error as it sent it.
    ///
    /// ```
    /// use channels_rpc::{rpc_method, RpcContext, RpcError};
    ///
    /// /// Asks the caller to confirm before deleting.
    /// #[rpc_method]
    /// async fn delete(ctx: &RpcContext, name: String) -> Result<bool, RpcError> {
    ///     let sure: bool = ctx.call_client("confirm", &[format!("delete {name}?")]).await?;
    ///     Ok(sure)
    /// }
    /// ```
    pub async fn call_client<T, P>(&self, method: &str, params: &P) -> Result<T, ClientCallError>
    where
        T: serde::de::DeserializeOwned,
        P: serde::Serialize + ?Sized,
    {
        let handle = self.handle().ok_or(ClientCallError::Unsupported)?;
        handle.call_client(method, params).await
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

impl<C> std::fmt::Debug for RpcContext<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcContext")
            .field("method", &self.call.method)
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
    /// The id of consumer type `C`.
    pub fn of<C: ?Sized + 'static>() -> Self {
        ConsumerId {
            id: TypeId::of::<C>(),
            name: std::any::type_name::<C>(),
        }
    }
}

/// A type whose reference the framework fills when a method takes `&Self`:
/// `&RpcContext<C>`, `&Scope`, `&Params`, `&Connection`, `&Ext<T>` or `&C`
/// for a consumer `C`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be injected into an RPC method",
    label = "not something the framework can provide",
    note = "a `&T` argument is filled by the framework: use `&RpcContext`, `&RpcContext<C>`, `&Scope`, `&Params`, `&Connection`, `&Ext<T>` for a value in the scope's extensions, or `&C` for a consumer `C`; take JSON parameters by value"
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

/// The error, logged, of a method that requires a consumer other than the connection's.
pub(crate) fn wrong_consumer(cx: &RpcContext, wanted: &'static str) -> RpcError {
    tracing::error!(
        method = cx.method(),
        wanted,
        served_by = cx.call.connection.consumer_name(),
        "method requires another consumer"
    );
    RpcError::internal()
}

impl<C: 'static> Inject for RpcContext<C> {
    fn consumer() -> Option<ConsumerId> {
        (TypeId::of::<C>() != TypeId::of::<AnyConsumer>()).then(ConsumerId::of::<C>)
    }

    fn inject(cx: &RpcContext) -> Result<&Self, RpcError> {
        let any = TypeId::of::<C>() == TypeId::of::<AnyConsumer>();
        if any || cx.call.connection.consumer_type() == TypeId::of::<C>() {
            Ok(cx.retyped())
        } else {
            Err(wrong_consumer(cx, std::any::type_name::<C>()))
        }
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
        Ok(cx.call.params.unwrap_or(Params::from_raw("[]")))
    }
}

/// A method argument `&Ext<T>` receives the `T` in the connection's scope
/// extensions, put there by the connect hook (an authenticated user, a
/// tenant) or by middleware. It derefs to `T`.
///
/// When the scope has no `T` the call answers -32603 "Internal error" and
/// the server logs which type was missing: a method that takes `&Ext<T>`
/// says it is never called without one, so its absence is a setup mistake of
/// the server, not something the caller did. A method that some callers may
/// reach without a `T` takes `&RpcContext` and asks
/// [`RpcContext::extension`]; to refuse those callers, put a
/// [guard](crate::guard) before the method, which runs first.
///
/// ```
/// use channels_rpc::{rpc_method, Ext};
///
/// struct User {
///     name: String,
/// }
///
/// #[rpc_method]
/// fn whoami(user: &Ext<User>) -> String {
///     user.name.clone()
/// }
/// ```
#[derive(RefCastCustom)]
#[repr(transparent)]
pub struct Ext<T>(T);

impl<T> Ext<T> {
    #[ref_cast_custom]
    fn wrap(value: &T) -> &Self;

    /// The value.
    pub fn get(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::Deref for Ext<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Ext<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Ext").field(&self.0).finish()
    }
}

impl<T: Send + Sync + 'static> Inject for Ext<T> {
    fn inject(cx: &RpcContext) -> Result<&Self, RpcError> {
        match cx.extension::<T>() {
            Some(value) => Ok(Ext::wrap(value)),
            None => {
                tracing::error!(
                    method = cx.method(),
                    missing = std::any::type_name::<T>(),
                    "the method takes an extension the scope does not have: the connect hook (or middleware) must insert it"
                );
                Err(RpcError::internal())
            }
        }
    }
}
