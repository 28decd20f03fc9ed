//! Transports of channels-rpc: JSON-RPC over HTTP (hyper 1) and WebSocket
//! (tokio-tungstenite) on one port, routed by path to consumers.
//!
//! | module | what |
//! |---|---|
//! | [`server`] | [`Server`]: bind, mount consumers on paths, serve, shut down gracefully |
//! | [`asset`] | [`Asset`]: a static page or script served with an `ETag`, such as the JavaScript client |
//! | [`service`] | [`RpcService`]: one consumer as a `tower::Service`, for your own router |
//! | [`http`] | POST body in, JSON answer out |
//! | `ws` | the upgrade and the per-connection loop |
//! | [`config`] | [`ServerConfig`] and its validating [`ServerConfigBuilder`]: limits, timers, caps, with their defaults |
//! | [`cors`] | [`Cors`]: cross-origin access for browsers over HTTP (tower-http's `CorsLayer`) |
//! | [`origin`] | [`AllowedOrigins`]: which pages may open a WebSocket |
//! | `watchdog` | header-read and keep-alive timeouts of HTTP connections |
//! | `signal` | [`shutdown_on_signal`]: SIGTERM or Ctrl-C, for a graceful stop |
//! | [`stats`] | live connection counts |
//! | `tls` | `TlsConfig`: https and wss with rustls (feature `tls`) |
//! | [`testing`] | in-process communicators for your own tests |
#![deny(missing_docs)]

pub mod asset;
pub mod config;
pub mod cors;
mod error;
pub mod http;
pub mod origin;
mod read_signal;
mod response;
pub mod server;
pub mod service;
mod shutdown;
mod signal;
pub mod stats;
pub mod testing;
mod ticker;
#[cfg(feature = "tls")]
pub mod tls;
mod watchdog;
mod ws;

pub use asset::Asset;
pub use config::{ConfigError, ServerConfig, ServerConfigBuilder};
pub use cors::Cors;
pub use origin::AllowedOrigins;
pub use server::{Listening, Server, ServerHandle};
pub use service::{RpcService, ServiceShutdown};
pub use signal::shutdown_on_signal;
pub use stats::Stats;
#[cfg(feature = "tls")]
pub use tls::TlsConfig;

pub use tokio_tungstenite::tungstenite;
