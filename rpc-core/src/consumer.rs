//! The [`Consumer`] trait: one instance per connection, with lifecycle hooks.

use std::future::Future;

use serde_json::Value;

use crate::connection::Connection;
use crate::context::{wrong_consumer, ConsumerId, Inject, RpcContext};
use crate::error::RpcError;
use crate::guard::GuardFn;
use crate::registry::MethodSources;
use crate::scope::Scope;

/// The answer of a connect hook that refuses the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The HTTP status the handshake answers (403 unless set).
    pub status: u16,
    /// Why, for the log and the response body.
    pub reason: String,
}

impl Reject {
    /// Refuses with 403 Forbidden.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Reject {
            status: 403,
            reason: reason.into(),
        }
    }

    /// Refuses with 401 Unauthorized (sent with `WWW-Authenticate: Bearer`):
    /// the credentials are missing or wrong.
    ///
    /// ```
    /// use channels_rpc::Reject;
    ///
    /// assert_eq!(Reject::unauthorized("no token").status, 401);
    /// ```
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Reject {
            status: 401,
            reason: reason.into(),
        }
    }
}

/// A consumer: one instance per connection holds that connection's state, and
/// the methods it serves (see [`MethodSources`]) answer its calls.
///
/// Implement it with `#[derive(Consumer)]`, which also supplies default hooks
/// and `MyConsumer::app()`: the consumer's [`App`](crate::App), its method
/// table built once (a hand-written impl calls `App::<MyConsumer>::new()`).
///
/// ```
/// use channels_rpc::{rpc_method, Consumer};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Consumer, Default)]
/// struct Counter {
///     calls: AtomicU64,
/// }
///
/// /// Counts the calls made on this connection.
/// #[rpc_method(consumer = Counter)]
/// fn hits(me: &Counter) -> u64 {
///     me.calls.fetch_add(1, Ordering::Relaxed) + 1
/// }
///
/// let app = Counter::app();
/// assert_eq!(app.method("hits").map(|m| m.rust_name()), Some("hits"));
/// ```
pub trait Consumer: ConsumerHooks + Sized + Send + Sync + 'static {
    /// Where the methods not bound to any consumer come from: the consumer's
    /// own crate, and the crates it names with `#[consumer(include(...))]`.
    /// The derive writes it; see [`MethodSources`].
    const METHOD_SOURCES: MethodSources;

    /// Makes the instance for a new connection.
    fn new(scope: &Scope) -> Self;

    /// The guard over every method and notification handler of this
    /// consumer, asked before the method's own (see [`guard`](crate::guard)).
    /// `#[consumer(guard = path)]` writes it; none by default.
    ///
    /// ```
    /// use channels_rpc::{rpc_method, Consumer, RpcContext};
    ///
    /// fn has_token(cx: &RpcContext) -> bool {
    ///     cx.scope().header("authorization").is_some()
    /// }
    ///
    /// #[derive(Consumer, Default)]
    /// #[consumer(guard = has_token)]
    /// struct Private;
    ///
    /// assert!(Private::guard().is_some());
    /// ```
    fn guard() -> Option<GuardFn> {
        None
    }
}

/// Lifecycle hooks, like `connect` and `disconnect` of a Channels consumer.
/// Every hook has a default; implement the ones you need and mark the struct
/// `#[consumer(hooks)]` so the derive does not supply the defaults.
///
/// ```
/// use channels_rpc::{Consumer, ConsumerHooks, Reject, Scope};
///
/// #[derive(Consumer, Default)]
/// #[consumer(hooks)]
/// struct Members;
///
/// impl ConsumerHooks for Members {
///     async fn connect(&self, scope: &mut Scope) -> Result<(), Reject> {
///         match scope.header("x-user") {
///             Some(_) => Ok(()),
///             None => Err(Reject::forbidden("log in first")),
///         }
///     }
/// }
/// ```
pub trait ConsumerHooks: Send + Sync {
    /// Runs before the connection is accepted; an error refuses it.
    fn connect(&self, scope: &mut Scope) -> impl Future<Output = Result<(), Reject>> + Send {
        let _ = scope;
        async { Ok(()) }
    }

    /// Runs exactly once when the connection ends, with the close code.
    fn disconnect(&self, code: u16) -> impl Future<Output = ()> + Send {
        let _ = code;
        async {}
    }

    /// Receives a channel layer message whose type is not `rpc.notification`
    /// (those go to the client as notifications), like Channels' type-based
    /// handlers. The connection can push to its client or change its groups.
    fn on_message(&self, message: &Value, connection: &Connection) -> impl Future<Output = ()> + Send {
        let _ = connection;
        tracing::debug!(r#type = ?message.get("type"), "layer message with no handler");
        async {}
    }
}

/// Glue between a consumer type and the connections it serves; here so that
/// the connection and the context know nothing of [`Consumer`].
impl Connection {
    /// A connection whose consumer is made by [`Consumer::new`] from the scope.
    pub fn for_consumer<C: Consumer>(scope: Scope) -> Self {
        Connection::new(C::new(&scope), scope)
    }
}

impl<C: Consumer> RpcContext<C> {
    /// The connection's consumer instance.
    pub fn consumer(&self) -> &C {
        self.connection()
            .consumer()
            .expect("checked by Inject before the method runs")
    }
}

impl<C: Consumer> Inject for C {
    fn consumer() -> Option<ConsumerId> {
        Some(ConsumerId::of::<C>())
    }

    fn inject(cx: &RpcContext) -> Result<&Self, RpcError> {
        cx.connection()
            .consumer()
            .ok_or_else(|| wrong_consumer(cx, std::any::type_name::<C>()))
    }
}
