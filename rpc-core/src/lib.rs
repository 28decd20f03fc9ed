//! The protocol engine of channels-rpc: JSON-RPC 1.0 and 2.0 messages, the
//! link-time method registry, per-consumer method tables and dispatch.
//!
//! Users depend on the `channels-rpc` facade, which re-exports the user's
//! part of this crate and the macros; the examples here are written against it.
//!
//! The modules, in the order a message meets them:
//!
//! | module | what |
//! |---|---|
//! | [`limits`] | size, depth and batch limits checked before parsing |
//! | `message` | reading a 1.0/2.0 request or batch, borrowing from the input |
//! | [`registry`] | the linkme slice of [`MethodEntry`], [`MethodSources`] and each consumer's [`MethodTable`] |
//! | [`connection`] | [`Connection`]: one live connection, its consumer and scope |
//! | [`context`] | [`RpcContext`] and [`Inject`]: what a method can ask for |
//! | [`consumer`] | [`Consumer`] and [`ConsumerHooks`]: one instance per connection |
//! | [`params`] | decoding `params` into arguments, by position or by name |
//! | [`guard`] | [`Guard`]: who may call a method, asked before it runs |
//! | [`handler`] | running a method (sync, async, blocking), catching panics |
//! | `response` | writing the response envelope into one buffer |
//! | [`middleware`] | [`Middleware`]: layers around every call, connection events |
//! | [`dispatch`] | [`Dispatcher`]: bytes in, optional [`Reply`] out |
//! | [`discover`] | `rpc.discover`: the OpenRPC document of a consumer ([`Discovery`]) |
//! | [`schema`] | JSON Schemas of parameter and result types (`schemars` feature) |
//! | [`app`] | [`App`]: a consumer type with its table, what transports serve |
//! | [`outbound`] | [`ConnectionHandle`]: server push to one connection |
//! | [`client_calls`] | calls from the server to a connection's client, answered by id |
//! | [`queue`] | the bounded per-connection queues behind push and layers |
//! | [`layer`] | [`ChannelLayer`]: groups across connections and processes |
#![deny(missing_docs)]

pub mod app;
pub mod client_calls;
pub mod connection;
pub mod consumer;
pub mod context;
pub mod discover;
pub mod dispatch;
pub mod error;
pub mod guard;
pub mod handler;
mod json_writer;
pub mod layer;
pub mod limits;
mod message;
pub mod middleware;
/// Not public API: the message parser, for the fuzz targets in `fuzz/`.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use message::fuzzing;
#[cfg(test)]
mod miri_tests;
pub mod outbound;
pub mod params;
pub mod queue;
pub mod rate_limit;
pub mod registry;
mod response;
pub mod schema;
pub mod scope;
mod trace;

pub use app::App;
pub use client_calls::{CallLimits, ClientCallError, Delivery, PendingCalls};
pub use connection::Connection;
pub use consumer::{Consumer, ConsumerHooks, Reject};
pub use context::{AnyConsumer, ConsumerId, Ext, Inject, RpcContext};
pub use discover::Discovery;
pub use dispatch::{Answer, Dispatcher, Reply, StatusMapping};
pub use error::RpcError;
pub use guard::{Guard, GuardAnswer, GuardFn};
pub use layer::{ChannelLayer, Envelope, InProcessLayer, Inbox, LayerError};
pub use limits::Limits;
pub use message::Version;
pub use middleware::{AsyncMiddleware, Middleware, Middlewares};
pub use outbound::{ConnectionHandle, Outbox, PushError};
pub use params::{FromParams, Params};
pub use rate_limit::{CallLimiter, RateLimit};
pub use registry::{MethodEntry, MethodKind, MethodSources, MethodTable, RegistryError};
pub use scope::{Scope, Transport};

/// Not public API: what the macros' generated code names, through
/// `::channels_rpc::__private`.
#[doc(hidden)]
pub mod __private {
    pub use crate::app::App;
    pub use crate::context::{ConsumerId, Inject, RpcContext};
    pub use crate::guard::GuardFn;
    pub use crate::handler::{call_async, call_blocking, call_sync, Invoked, MethodFuture, ViaResult, ViaSerialize};
    pub use crate::registry::MethodSources;
    pub use crate::registry::{EntryParts, MethodEntry, MethodKind, ParamSchema, CHANNELS_RPC_METHODS};
    pub use crate::response::Encoded;
    pub use crate::schema::{
        any_schema, unit_schema, SchemaFn, SchemaGen, SchemaProbe, ViaJsonSchema, ViaNoSchema, ViaResultSchema,
    };
    pub use crate::{consumer::Consumer, consumer::ConsumerHooks, error::RpcError, scope::Scope};
    pub use core;
    pub use linkme::{self, distributed_slice};
    pub use serde;

    /// The consumer named by `consumer = C`.
    pub fn consumer_id<C: Consumer>() -> Option<ConsumerId> {
        Some(ConsumerId::of::<C>())
    }

    /// The consumer an injected argument type requires.
    pub fn consumer_of<T: Inject + ?Sized>() -> Option<ConsumerId> {
        T::consumer()
    }

    /// Borrows an injected argument from the call.
    pub fn inject<T: Inject + ?Sized>(cx: &RpcContext) -> Result<&T, RpcError> {
        T::inject(cx)
    }

    /// Whether an injected argument type receives the whole params.
    pub const fn takes_params<T: Inject + ?Sized>() -> bool {
        T::TAKES_PARAMS
    }

    /// Decodes one JSON parameter; generated code calls it spanned at the
    /// parameter's type, so a type that is not `Deserialize` is reported there.
    pub fn decode_param<'de, T: serde::de::DeserializeOwned, D: serde::Deserializer<'de>>(
        de: D,
    ) -> Result<T, D::Error> {
        T::deserialize(de)
    }
}
