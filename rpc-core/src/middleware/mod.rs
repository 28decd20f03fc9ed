//! Middleware: layers around every call and hooks on every connection.
//!
//! A [`Middleware`] sees each call before it runs ([`Middleware::before`]:
//! the method name, the raw params, the id, the version and the
//! [`Connection`] with its scope) and may let it through, refuse it with an
//! [`RpcError`] or answer it itself ([`Verdict`]); after the call it sees the
//! outcome and the time taken ([`Middleware::after`]). It also hears of
//! connections opening and closing (with the WebSocket close code) and of
//! every message in and out. An [`AsyncMiddleware`] may wait in its `before`
//! (a session store, a token check against a service).
//!
//! ```
//! use std::time::Duration;
//! use channels_rpc::middleware::{CallInfo, Middleware, Outcome, Verdict};
//! use channels_rpc::{rpc_method, Connection, Consumer, RpcError, Scope, Transport};
//!
//! #[derive(Consumer, Default)]
//! struct Api;
//!
//! #[rpc_method(consumer = Api)]
//! fn ping() -> &'static str {
//!     "pong"
//! }
//!
//! /// Refuses every call without an `x-api-key` header.
//! struct ApiKey;
//!
//! impl Middleware for ApiKey {
//!     fn before(&self, call: &CallInfo<'_>) -> Verdict {
//!         match call.scope().header("x-api-key") {
//!             Some("secret") => Verdict::Continue,
//!             _ => Verdict::Reject(RpcError::new(-32010, "an API key is required")),
//!         }
//!     }
//! }
//!
//! let app = Api::app().middleware(ApiKey);
//! let conn = Connection::for_consumer::<Api>(Scope::new(Transport::InProcess, "/"));
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let reply = rt.block_on(app.handle(&conn, br#"{"jsonrpc":"2.0","method":"ping","id":1}"#));
//! assert_eq!(reply.unwrap().error_code(), Some(-32010));
//! ```
//!
//! # Why a small trait, not a `tower::Layer`
//!
//! The dispatcher answers calls to sync methods without building a future
//! ([`Answer::Ready`](crate::Answer)), and a transport may start a message
//! twice (once to see whether it answers at once, then for real in a future
//! that owns the message). A `tower::Service` returns a future per call, so
//! even a no-op layer would force the boxed path on every sync call (or, like
//! jsonrpsee's `RpcServiceT`, a future type per layer that the caller polls).
//! A sync `before`/`after` pair keeps sync calls future-free, and an async
//! middleware declares itself as such when installed, so the dispatcher
//! knows before anything runs whether a message answers later: no hook ever
//! runs twice for one call.
//!
//! # Order
//!
//! The first installed is the outermost: `before` hooks run in the order the
//! middlewares were added, `after` hooks in the reverse order (only of the
//! middlewares whose `before` ran). A `Reject` or `Respond` stops the call
//! there: the inner middlewares and the method do not run. Inside the
//! middlewares, a call meets, in order: the guards (the consumer's, then the
//! method's; see [`guard`](crate::guard)), the connection's rate limit, the
//! call's timeout, then the method.
//!
//! Middleware runs for every member of a batch, for notifications (whose
//! answer is never sent, whatever the verdict) and for unknown methods (so
//! an auth layer can hide them: [`CallInfo::registered_method`] is `None`).
//! It does not run for what is no call: a message that does not parse, a
//! member that is no valid request.
//!
//! # Cost
//!
//! With none installed, dispatch pays one branch per message. With some, a
//! call pays one clock read and a virtual call per hook. Params and results
//! are never logged by this module: a middleware sees them and decides.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::connection::Connection;
use crate::error::RpcError;
use crate::message::Version;
use crate::params::Params;
use crate::response::Encoded;
use crate::scope::{Scope, Transport};

#[cfg(feature = "metrics")]
mod metrics;
mod run;

#[cfg(feature = "metrics")]
pub use self::metrics::{MetricsMiddleware, UNKNOWN_METHOD};

/// What a middleware's `before` decides about a call.
#[derive(Debug)]
pub enum Verdict {
    /// Let the call go on to the next middleware, then the method.
    Continue,
    /// Refuse the call: it answers this error (nothing, for a notification).
    Reject(RpcError),
    /// Answer the call with this result, without running the method.
    Respond(serde_json::Value),
}

/// The future of an [`AsyncMiddleware`]'s `before`.
pub type VerdictFuture<'a> = Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>;

/// A layer around every call, and hooks on every connection; all hooks do
/// nothing by default. See the [module documentation](self) for the order.
pub trait Middleware: Send + Sync + 'static {
    /// Before the call: let it through, refuse it or answer it.
    fn before(&self, call: &CallInfo<'_>) -> Verdict {
        let _ = call;
        Verdict::Continue
    }

    /// After the call (or after a middleware answered it): its outcome and
    /// the time since the first middleware saw it.
    fn after(&self, call: &CallInfo<'_>, outcome: &Outcome<'_>) {
        let _ = (call, outcome);
    }

    /// A connection opened: a WebSocket once its connect hook accepted it,
    /// an HTTP request once its consumer accepted it (a request is a
    /// connection of its own, as in Django Channels).
    fn on_connect(&self, connection: &Connection) {
        let _ = connection;
    }

    /// A connection closed: a WebSocket with its close code (1006 when the
    /// peer vanished), an HTTP request (`None`) once answered.
    fn on_disconnect(&self, connection: &Connection, code: Option<u16>) {
        let _ = (connection, code);
    }

    /// A message came in on `connection`: a WebSocket text or binary
    /// message, an HTTP request body.
    fn on_message_in(&self, connection: &Connection, message: &[u8]) {
        let _ = (connection, message);
    }

    /// A message goes out on `connection`: a reply, a push, a group
    /// message, a call to the client; an HTTP response body.
    fn on_message_out(&self, connection: &Connection, message: &[u8]) {
        let _ = (connection, message);
    }
}

/// A middleware whose `before` may wait. Installing one makes every call
/// of its app answer through a future (the boxed path); a sync
/// [`Middleware`] keeps sync methods future-free.
///
/// ```
/// use channels_rpc::middleware::{AsyncMiddleware, CallInfo, Verdict, VerdictFuture};
///
/// /// Lets a call through once a (slow) session store knows its token.
/// struct Sessions;
///
/// impl AsyncMiddleware for Sessions {
///     fn before<'a>(&'a self, call: &'a CallInfo<'a>) -> VerdictFuture<'a> {
///         Box::pin(async move {
///             tokio::task::yield_now().await;
///             match call.scope().header("x-session") {
///                 Some(_) => Verdict::Continue,
///                 None => Verdict::Reject(channels_rpc::RpcError::new(-32010, "no session")),
///             }
///         })
///     }
/// }
/// ```
pub trait AsyncMiddleware: Send + Sync + 'static {
    /// Before the call: let it through, refuse it or answer it, in time.
    fn before<'a>(&'a self, call: &'a CallInfo<'a>) -> VerdictFuture<'a>;

    /// After the call, as [`Middleware::after`].
    fn after(&self, call: &CallInfo<'_>, outcome: &Outcome<'_>) {
        let _ = (call, outcome);
    }
}

/// One call as a middleware sees it.
#[derive(Debug)]
pub struct CallInfo<'a> {
    pub(crate) connection: &'a Connection,
    pub(crate) method: &'a str,
    pub(crate) registered: Option<&'static str>,
    pub(crate) version: Version,
    pub(crate) id: Option<&'a str>,
    pub(crate) params: Option<&'a Params>,
}

impl<'a> CallInfo<'a> {
    /// The method name as the client sent it (any string: never use it as a
    /// metrics label, see [`registered_method`](Self::registered_method)).
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The name of the method or notification handler that serves the call
    /// here; `None` when the consumer serves no such method on this
    /// transport (the call answers -32601 unless a middleware answers it).
    pub fn registered_method(&self) -> Option<&'static str> {
        self.registered
    }

    /// The id's JSON text as received (`"7"`, `"\"a\""`, `"null"`); `None`
    /// for a notification.
    pub fn id(&self) -> Option<&'a str> {
        self.id
    }

    /// Whether the call is a notification (it gets no answer).
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }

    /// The JSON-RPC version of the request.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The params, undecoded (their JSON text is [`Params::get`]); `None`
    /// when the request has none.
    pub fn params(&self) -> Option<&'a Params> {
        self.params
    }

    /// The connection the call came on.
    pub fn connection(&self) -> &'a Connection {
        self.connection
    }

    /// The connection's scope (path, headers, peer, extensions).
    pub fn scope(&self) -> &'a Scope {
        self.connection.scope()
    }

    /// The transport the call came on.
    pub fn transport(&self) -> Transport {
        self.connection.scope().transport()
    }
}

/// How a call ended, as the `after` hooks see it.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    pub(crate) answer: Option<&'a Encoded>,
    pub(crate) elapsed: Duration,
    pub(crate) by_middleware: bool,
}

impl<'a> Outcome<'a> {
    /// The response JSON sent back; `None` for a notification.
    pub fn response(&self) -> Option<&'a [u8]> {
        self.answer.map(Encoded::body)
    }

    /// The error code when the call answered an error.
    pub fn error_code(&self) -> Option<i64> {
        self.answer.and_then(Encoded::error_code)
    }

    /// Whether the call answered a result (`false` for an error, and for a
    /// notification, which answers nothing).
    pub fn is_success(&self) -> bool {
        self.answer.is_some_and(|answer| answer.error_code().is_none())
    }

    /// The time from the first middleware's `before` to the answer.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Whether a middleware answered or refused the call (the method did not run).
    pub fn answered_by_middleware(&self) -> bool {
        self.by_middleware
    }
}

/// One installed middleware.
#[derive(Clone)]
enum Layer {
    Sync(Arc<dyn Middleware>),
    Async(Arc<dyn AsyncMiddleware>),
}

/// The middlewares of an app, outermost first. Transports call its
/// connection-event methods; installing is [`App::middleware`](crate::App::middleware)
/// and [`App::async_middleware`](crate::App::async_middleware).
#[derive(Clone, Default)]
pub struct Middlewares {
    layers: Vec<Layer>,
    any_async: bool,
}

impl std::fmt::Debug for Middlewares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Middlewares")
            .field("layers", &self.layers.len())
            .field("any_async", &self.any_async)
            .finish()
    }
}

impl Middlewares {
    /// Adds `middleware` inside those already there.
    pub fn push(&mut self, middleware: impl Middleware) {
        self.layers.push(Layer::Sync(Arc::new(middleware)));
    }

    /// Adds an async `middleware` inside those already there.
    pub fn push_async(&mut self, middleware: impl AsyncMiddleware) {
        self.layers.push(Layer::Async(Arc::new(middleware)));
        self.any_async = true;
    }

    /// Whether none is installed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// How many are installed.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    fn sync_layers(&self) -> impl Iterator<Item = &dyn Middleware> {
        self.layers.iter().filter_map(|layer| match layer {
            Layer::Sync(m) => Some(&**m),
            Layer::Async(_) => None,
        })
    }

    /// Tells every middleware that `connection` opened.
    pub fn connected(&self, connection: &Connection) {
        self.sync_layers().for_each(|m| m.on_connect(connection));
    }

    /// Tells every middleware that `connection` closed (`code`: the
    /// WebSocket close code; `None` for HTTP).
    pub fn disconnected(&self, connection: &Connection, code: Option<u16>) {
        self.sync_layers().for_each(|m| m.on_disconnect(connection, code));
    }

    /// Tells every middleware that `message` came in on `connection`.
    pub fn message_in(&self, connection: &Connection, message: &[u8]) {
        self.sync_layers().for_each(|m| m.on_message_in(connection, message));
    }

    /// Tells every middleware that `message` goes out on `connection`.
    pub fn message_out(&self, connection: &Connection, message: &[u8]) {
        self.sync_layers().for_each(|m| m.on_message_out(connection, message));
    }
}
