//! channels-rpc: JSON-RPC 1.0 and 2.0 over WebSocket and HTTP, where one
//! attribute turns a plain function into a remote method, the way the Python
//! channels-rpc does it on Django Channels.
//!
//! ```
//! use channels_rpc::{rpc_method, Connection, Consumer, RpcError, Scope, Transport};
//!
//! #[derive(Consumer, Default)]
//! struct MyConsumer;
//!
//! #[rpc_method("mymodule.rpc.ping", consumer = MyConsumer)]
//! fn ping(fake_an_error: bool) -> Result<&'static str, RpcError> {
//!     if fake_an_error {
//!         Err(RpcError::application("fake_error"))
//!     } else {
//!         Ok("pong")
//!     }
//! }
//!
//! let app = MyConsumer::app();
//! let conn = Connection::for_consumer::<MyConsumer>(Scope::new(Transport::InProcess, "/"));
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let call = br#"{"jsonrpc":"2.0","method":"mymodule.rpc.ping","params":[true],"id":1}"#;
//! let reply = rt.block_on(app.handle(&conn, call)).unwrap();
//! assert_eq!(
//!     std::str::from_utf8(reply.body()).unwrap(),
//!     r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"fake_error","data":["fake_error"]},"id":1}"#
//! );
//! ```
//!
//! A consumer serves exactly what its code chose: methods bound to it
//! (`consumer = T`), unbound methods of its own crate, and unbound methods of
//! the crates it names in `#[consumer(include(...))]` (see [`MethodSources`]).
//! Linking a crate of methods never publishes them.
#![deny(missing_docs)]

// The attributes and the derive.
pub use rpc_macros::{rpc_method, rpc_notification, Consumer};

// Consumers, their hooks, and which methods they serve.
/// The trait behind `#[derive(Consumer)]`.
pub use rpc_core::Consumer;
pub use rpc_core::{App, ConsumerHooks, MethodSources, Reject};

// What a method receives and returns.
pub use rpc_core::{AnyConsumer, Connection, Ext, Inject, Params, RpcContext, RpcError, Scope, Transport, Version};

// Who may call what.
pub use rpc_core::guard;
pub use rpc_core::{Guard, GuardAnswer, GuardFn};

// Introspection of a consumer's table, and why one cannot be built.
pub use rpc_core::{Discovery, MethodEntry, MethodKind, RegistryError};
/// `schemars`, whose `JsonSchema` types get their schema in `rpc.discover`.
#[cfg(feature = "schemars")]
pub use schemars;

// The Rust client.
/// The Rust client (the `channels-rpc-client` crate): calls any JSON-RPC 2.0
/// server over HTTP or WebSocket, answers `call_client`, reconnects.
#[cfg(feature = "client")]
pub use channels_rpc_client as client;

// Answers, limits and HTTP statuses.
pub use rpc_core::{Limits, RateLimit, Reply, StatusMapping};

// Layers around every call, and connection events.
pub use rpc_core::middleware;
pub use rpc_core::{AsyncMiddleware, Middleware};

// Server push and channel layers.
pub use rpc_core::{ChannelLayer, ConnectionHandle, InProcessLayer, LayerError, PushError};

// Calls from the server to a WebSocket client.
pub use rpc_core::{CallLimits, ClientCallError};
#[cfg(feature = "redis")]
pub use rpc_redis::{RedisLayer, RedisLayerBuilder};

// Serving.
pub use rpc_transport::testing;
#[cfg(feature = "tls")]
pub use rpc_transport::TlsConfig;
pub use rpc_transport::{
    shutdown_on_signal, AllowedOrigins, Asset, ConfigError, Cors, Listening, RpcService, Server, ServerConfig,
    ServerConfigBuilder, ServerHandle, ServiceShutdown, Stats,
};

// JSON values, for params and results.
pub use serde_json::{json, Number, Value};

/// Not public API: what generated code names.
#[doc(hidden)]
pub mod __private {
    pub use rpc_core::__private::*;
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
