//! [`App`]: a consumer type with its method table and limits, what a transport serves.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::connection::Connection;
use crate::consumer::Consumer;
use crate::context::ConsumerId;
use crate::discover::Discovery;
use crate::dispatch::{Answer, Dispatcher, Reply};
use crate::limits::Limits;
use crate::middleware::{AsyncMiddleware, Middleware};
use crate::registry::{MethodEntry, MethodTable, RegistryError};
use crate::scope::Transport;

/// A consumer type ready to serve: its method table, built once from every
/// linked method, and its limits. Cheap to clone.
///
/// ```
/// use channels_rpc::{rpc_method, Connection, Consumer, Scope, Transport};
///
/// #[derive(Consumer, Default)]
/// struct Api;
///
/// #[rpc_method(consumer = Api)]
/// fn ping() -> &'static str {
///     "pong"
/// }
///
/// let app = Api::app();
/// let conn = Connection::for_consumer::<Api>(Scope::new(Transport::InProcess, "/"));
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let reply = rt.block_on(app.handle(&conn, br#"{"jsonrpc":"2.0","method":"ping","id":1}"#));
/// assert_eq!(reply.unwrap().body(), br#"{"jsonrpc":"2.0","result":"pong","id":1}"#);
/// ```
pub struct App<C> {
    dispatcher: Arc<Dispatcher>,
    _consumer: PhantomData<fn() -> C>,
}

impl<C> std::fmt::Debug for App<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("consumer", &std::any::type_name::<C>())
            .field("dispatcher", &self.dispatcher)
            .finish()
    }
}

impl<C> Clone for App<C> {
    fn clone(&self) -> Self {
        App {
            dispatcher: self.dispatcher.clone(),
            _consumer: PhantomData,
        }
    }
}

impl<C: Consumer> App<C> {
    /// Builds the table; panics, naming both functions, if two methods share a name.
    pub fn new() -> Self {
        Self::try_new().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the table, or says which methods collide.
    #[allow(clippy::result_large_err)]
    pub fn try_new() -> Result<Self, RegistryError> {
        let table = MethodTable::linked(ConsumerId::of::<C>(), C::METHOD_SOURCES)?;
        let mut dispatcher = Dispatcher::new(table, Limits::default());
        dispatcher.set_discovery(Discovery::new().titled_after(std::any::type_name::<C>()));
        dispatcher.set_guard(C::guard());
        Ok(App {
            dispatcher: Arc::new(dispatcher),
            _consumer: PhantomData,
        })
    }

    /// The same app with other limits.
    pub fn limits(self, limits: Limits) -> Self {
        self.changed(|dispatcher| dispatcher.set_limits(limits))
    }

    /// The same app with other `rpc.discover` settings (see [`Discovery`];
    /// an untitled document is titled after the consumer type).
    pub fn discovery(self, discovery: Discovery) -> Self {
        let discovery = discovery.titled_after(std::any::type_name::<C>());
        self.changed(|dispatcher| dispatcher.set_discovery(discovery))
    }

    /// The same app with `middleware` around every call, inside those
    /// added before (the first added is the outermost; see
    /// [`middleware`](crate::middleware)). Every transport runs it: HTTP,
    /// WebSocket, the test communicators, an `RpcService` on a router.
    pub fn middleware(self, middleware: impl Middleware) -> Self {
        self.changed(|dispatcher| dispatcher.add_middleware(middleware))
    }

    /// The same app with an async `middleware` (its `before` may wait):
    /// every call then answers through a future.
    pub fn async_middleware(self, middleware: impl AsyncMiddleware) -> Self {
        self.changed(|dispatcher| dispatcher.add_async_middleware(middleware))
    }

    /// The OpenRPC document that `rpc.discover` answers on `transport` to a
    /// caller whom every guard allows.
    pub fn openrpc_document(&self, transport: Transport) -> serde_json::Value {
        self.dispatcher.openrpc_document(transport)
    }

    fn changed(self, change: impl FnOnce(&mut Dispatcher)) -> Self {
        let mut dispatcher = Arc::try_unwrap(self.dispatcher).unwrap_or_else(|shared| {
            let mut copy = Dispatcher::new(
                MethodTable::linked(ConsumerId::of::<C>(), C::METHOD_SOURCES).expect("built once already"),
                *shared.limits(),
            );
            copy.set_discovery(shared.discovery().clone());
            copy.set_guard(C::guard());
            copy.set_middleware(shared.middleware().clone());
            copy
        });
        change(&mut dispatcher);
        App {
            dispatcher: Arc::new(dispatcher),
            _consumer: PhantomData,
        }
    }

    /// The method (not notification handler) called `name`.
    pub fn method(&self, name: &str) -> Option<&'static MethodEntry> {
        self.dispatcher.table().method(name)
    }

    /// Every method and notification handler this consumer serves.
    pub fn methods(&self) -> Vec<&'static MethodEntry> {
        self.dispatcher.table().entries()
    }

    /// The dispatcher, shared.
    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        &self.dispatcher
    }

    /// Answers one message received on `connection` (see [`Dispatcher::handle`]).
    pub async fn handle(&self, connection: &Connection, input: &[u8]) -> Option<Reply> {
        self.dispatcher.handle(connection, input).await
    }

    /// Answers one message known to be UTF-8 (see [`Dispatcher::handle_text`]).
    pub async fn handle_text(&self, connection: &Connection, input: &str) -> Option<Reply> {
        self.dispatcher.handle_text(connection, input).await
    }

    /// Starts answering one message: at once for sync methods (see [`Dispatcher::start`]).
    pub fn start<'a>(&'a self, connection: &'a Connection, input: &'a [u8]) -> Answer<'a> {
        self.dispatcher.start(connection, input)
    }

    /// [`start`](Self::start) for text known to be UTF-8 (see [`Dispatcher::start_text`]).
    pub fn start_text<'a>(&'a self, connection: &'a Connection, input: &'a str) -> Answer<'a> {
        self.dispatcher.start_text(connection, input)
    }
}

impl<C: Consumer> Default for App<C> {
    fn default() -> Self {
        Self::new()
    }
}
