//! [`ServerConfig`]: every transport limit and timer, with its default and why,
//! built by [`ServerConfigBuilder`], which refuses a configuration that would
//! hang or refuse every connection.

use std::sync::Arc;
use std::time::Duration;

use rpc_core::{CallLimits, ChannelLayer, InProcessLayer, Limits, RateLimit, StatusMapping};
use tower_http::cors::CorsLayer;

use crate::cors::Cors;
pub use crate::error::ConfigError;
use crate::origin::AllowedOrigins;

/// Transport settings, read through getters; made by
/// [`ServerConfig::builder`] (validated) or [`ServerConfig::default`].
/// Protocol limits (message size, depth, batch length) live in [`Limits`] and
/// apply to HTTP bodies and WebSocket messages alike.
///
/// ```
/// use channels_rpc::{Limits, ServerConfig};
/// use std::time::Duration;
///
/// let config = ServerConfig::builder()
///     .limits(Limits::default().max_message_size(1 << 20))
///     .max_in_flight(64)
///     .ping_interval(Some(Duration::from_secs(10)))
///     .header_read_timeout(Duration::from_secs(5))
///     .build()
///     .expect("a valid configuration");
/// assert_eq!(config.max_in_flight(), 64);
///
/// // Settings that would hang every connection are refused, with the reason.
/// let zero = ServerConfig::builder().max_in_flight(0).build();
/// assert!(zero.unwrap_err().to_string().contains("max_in_flight"));
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    limits: Limits,
    max_in_flight: usize,
    outbound_queue: usize,
    client_calls: CallLimits,
    rate_limit: Option<RateLimit>,
    ping_interval: Option<Duration>,
    idle_timeout: Duration,
    write_timeout: Duration,
    shutdown_timeout: Duration,
    status_mapping: StatusMapping,
    cors: Option<Cors>,
    /// Built from `cors` once, by `build`.
    cors_layer: Option<CorsLayer>,
    layer: Arc<dyn ChannelLayer>,
    websocket_read_buffer: usize,
    h2c: bool,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    keep_alive_timeout: Duration,
    max_connections: usize,
    allowed_origins: AllowedOrigins,
    client_path: Option<String>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConfig>,
    #[cfg(feature = "tls")]
    tls_handshake_timeout: Duration,
}

impl ServerConfig {
    /// 256 calls in flight per WebSocket connection.
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
    /// 1,024 queued pushes per WebSocket connection.
    pub const DEFAULT_OUTBOUND_QUEUE: usize = 1024;
    /// Ping WebSockets every 30 s.
    pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
    /// Drop a WebSocket peer silent for 90 s (three missed pings).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    /// Give up on a WebSocket write after 10 s.
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Read WebSockets 4 KiB at a time.
    pub const DEFAULT_WEBSOCKET_READ_BUFFER: usize = 4 * 1024;
    /// Wait up to 10 s for running calls on shutdown.
    pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
    /// 10 s for a request's head (request line and headers) to arrive, from
    /// the connection's start or its first byte after an idle spell: a slow
    /// link sends a head in well under a second; a slowloris client never does.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// 30 s for a request's body to arrive once its head has: 10 MiB (the
    /// default message size) at 3 Mbit/s; a client trickling its body is cut
    /// off with 408.
    pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
    /// 60 s for an HTTP connection with no request in progress: long enough
    /// for a client's pool to reuse it (browsers keep theirs 60 to 300 s;
    /// nginx closes after 75 s), short enough not to hoard descriptors.
    pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);
    /// 10,000 connections (HTTP and WebSocket together): half of a 20,000
    /// descriptor limit, leaving room for the layer's, the logs' and the
    /// accept backlog's.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
    /// Serve h2c beside HTTP/1.1: on.
    pub const DEFAULT_H2C: bool = true;
    /// 10 s for a TLS handshake, from the accept: a handshake takes two
    /// round trips, well under a second on any link; a client that stalls
    /// mid-handshake (or sends nothing) is closed past it.
    #[cfg(feature = "tls")]
    pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// The smallest WebSocket read buffer accepted.
    pub const MIN_WEBSOCKET_READ_BUFFER: usize = 256;

    /// A builder starting from the defaults.
    pub fn builder() -> ServerConfigBuilder {
        ServerConfigBuilder {
            config: ServerConfig::default(),
            origins: Ok(AllowedOrigins::default()),
        }
    }

    /// A builder starting from this configuration, to change a few settings.
    pub fn into_builder(self) -> ServerConfigBuilder {
        let origins = Ok(self.allowed_origins.clone());
        ServerConfigBuilder { config: self, origins }
    }

    /// The protocol limits; `max_message_size` also bounds HTTP bodies (413
    /// past it) and WebSocket messages (close 1009 past it).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Calls one WebSocket connection may have running at once; past it the
    /// server stops reading from that connection until one finishes.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// Pushed messages queued for one WebSocket connection; a peer that lets
    /// the queue fill is too slow and is disconnected.
    pub fn outbound_queue(&self) -> usize {
        self.outbound_queue
    }

    /// The bounds on the server's calls to one WebSocket client
    /// (`ctx.call_client`): how many may wait at once, and for how long
    /// (defaults [`CallLimits::DEFAULT_MAX_PENDING`], [`CallLimits::DEFAULT_TIMEOUT`]).
    pub fn client_call_limits(&self) -> CallLimits {
        self.client_calls
    }

    /// How fast each WebSocket connection may call, if bounded (off by
    /// default). Over HTTP every request is a connection of its own: bound
    /// HTTP clients in front of the server (a proxy or a tower layer).
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// How often WebSocket peers are pinged, all at once, by one thread per
    /// service; silence is judged at these ticks. `None`: no pings.
    pub fn ping_interval(&self) -> Option<Duration> {
        self.ping_interval
    }

    /// A WebSocket peer silent for this long (no frame, no pong) is dropped.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// A WebSocket write that cannot complete in this time means the peer
    /// stopped reading: the connection is dropped.
    pub fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// How long a graceful shutdown waits for running calls.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// HTTP status of error responses.
    pub fn status_mapping(&self) -> StatusMapping {
        self.status_mapping
    }

    /// Cross-origin access for browsers over HTTP; `None` (the default) sends
    /// no CORS headers and costs nothing per request.
    pub fn cors(&self) -> Option<&Cors> {
        self.cors.as_ref()
    }

    pub(crate) fn cors_layer(&self) -> Option<&CorsLayer> {
        self.cors_layer.as_ref()
    }

    /// The channel layer for groups; an in-process layer unless set.
    pub fn channel_layer(&self) -> &Arc<dyn ChannelLayer> {
        &self.layer
    }

    /// Bytes read from a WebSocket at a time. tungstenite zero-fills this
    /// buffer before each read and keeps it per connection, so a small one is
    /// cheaper per read and per idle connection; large messages take more reads.
    pub fn websocket_read_buffer(&self) -> usize {
        self.websocket_read_buffer
    }

    /// Whether HTTP/2 with prior knowledge (h2c) is served beside HTTP/1.1.
    pub fn h2c(&self) -> bool {
        self.h2c
    }

    /// The longest a request's head may take to arrive, counted from the
    /// connection's start (this bounds the h2c protocol sniffing as well) or
    /// from the first byte after an idle spell. Past it the connection is closed.
    pub fn header_read_timeout(&self) -> Duration {
        self.header_read_timeout
    }

    /// The longest a request's body may take to arrive after its head. Past
    /// it the request is answered 408 and the connection closed.
    pub fn body_read_timeout(&self) -> Duration {
        self.body_read_timeout
    }

    /// An HTTP connection (HTTP/1.1 keep-alive or HTTP/2) with no request in
    /// progress for this long is closed.
    pub fn keep_alive_timeout(&self) -> Duration {
        self.keep_alive_timeout
    }

    /// Open connections (HTTP and WebSocket together) past which new ones are
    /// closed as soon as they are accepted, without reading or answering them.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Which `Origin`s may open a WebSocket.
    pub fn allowed_origins(&self) -> &AllowedOrigins {
        &self.allowed_origins
    }

    /// The path the JavaScript client is served at, if any (default: none).
    pub fn client_path(&self) -> Option<&str> {
        self.client_path.as_deref()
    }

    /// The TLS settings: `Some`, the server speaks https and wss only on
    /// its port (default: none, plain http and ws).
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<&crate::tls::TlsConfig> {
        self.tls.as_ref()
    }

    /// The longest a TLS handshake may take, from the accept; past it the
    /// connection is closed. The header read timeout starts once it is done.
    #[cfg(feature = "tls")]
    pub fn tls_handshake_timeout(&self) -> Duration {
        self.tls_handshake_timeout
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            outbound_queue: Self::DEFAULT_OUTBOUND_QUEUE,
            client_calls: CallLimits::default(),
            rate_limit: None,
            ping_interval: Some(Self::DEFAULT_PING_INTERVAL),
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            write_timeout: Self::DEFAULT_WRITE_TIMEOUT,
            shutdown_timeout: Self::DEFAULT_SHUTDOWN_TIMEOUT,
            status_mapping: StatusMapping::default(),
            cors: None,
            cors_layer: None,
            layer: Arc::new(InProcessLayer::default()),
            websocket_read_buffer: Self::DEFAULT_WEBSOCKET_READ_BUFFER,
            h2c: Self::DEFAULT_H2C,
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: Self::DEFAULT_BODY_READ_TIMEOUT,
            keep_alive_timeout: Self::DEFAULT_KEEP_ALIVE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            allowed_origins: AllowedOrigins::default(),
            client_path: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            tls_handshake_timeout: Self::DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        }
    }
}

/// Builds a [`ServerConfig`]; [`build`](Self::build) checks every setting
/// and says which one is wrong.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ServerConfigBuilder {
    config: ServerConfig,
    origins: Result<AllowedOrigins, ConfigError>,
}

impl ServerConfigBuilder {
    /// Sets the protocol limits (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Sets the calls in flight per WebSocket connection, at least 1
    /// (default [`ServerConfig::DEFAULT_MAX_IN_FLIGHT`]).
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.config.max_in_flight = calls;
        self
    }

    /// Sets the outbound queue length per WebSocket connection, at least 1
    /// (default [`ServerConfig::DEFAULT_OUTBOUND_QUEUE`]).
    pub fn outbound_queue(mut self, messages: usize) -> Self {
        self.config.outbound_queue = messages;
        self
    }

    /// Sets how many calls to one WebSocket client may wait for its answer
    /// at once, at least 1 (default [`CallLimits::DEFAULT_MAX_PENDING`]).
    pub fn max_client_calls(mut self, calls: usize) -> Self {
        self.config.client_calls.max_pending = calls;
        self
    }

    /// Sets how long a call to a WebSocket client waits for its answer,
    /// non-zero (default [`CallLimits::DEFAULT_TIMEOUT`]).
    pub fn client_call_timeout(mut self, timeout: Duration) -> Self {
        self.config.client_calls.timeout = timeout;
        self
    }

    /// Bounds how fast each WebSocket connection may call (a token bucket
    /// per connection; off by default). A call over the rate answers -32002
    /// `Too many calls` with `data.retry_after_ms`; a notification over it
    /// is dropped.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use channels_rpc::{RateLimit, ServerConfig};
    ///
    /// let config = ServerConfig::builder()
    ///     .rate_limit(RateLimit::per_second(NonZeroU32::new(50).unwrap()))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(config.rate_limit().unwrap().calls_per_second(), 50);
    /// assert_eq!(ServerConfig::default().rate_limit(), None);
    /// ```
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.config.rate_limit = Some(limit);
        self
    }

    /// Sets the WebSocket ping interval, non-zero; `None`: no pings
    /// (default [`ServerConfig::DEFAULT_PING_INTERVAL`]).
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.config.ping_interval = interval;
        self
    }

    /// Sets the WebSocket idle timeout, longer than the ping interval
    /// (default [`ServerConfig::DEFAULT_IDLE_TIMEOUT`]).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Sets the WebSocket write timeout, non-zero
    /// (default [`ServerConfig::DEFAULT_WRITE_TIMEOUT`]).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.write_timeout = timeout;
        self
    }

    /// Sets the graceful shutdown timeout; zero closes at once
    /// (default [`ServerConfig::DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// Allows cross-origin calls over HTTP (default: none).
    pub fn cors(mut self, cors: Cors) -> Self {
        self.config.cors = Some(cors);
        self
    }

    /// Sets the channel layer, e.g. a Redis layer shared by many processes
    /// (default: an in-process layer).
    pub fn channel_layer(mut self, layer: Arc<dyn ChannelLayer>) -> Self {
        self.config.layer = layer;
        self
    }

    /// Serves HTTP/2 with prior knowledge (h2c) beside HTTP/1.1
    /// (default [`ServerConfig::DEFAULT_H2C`], on).
    /// Off, the server speaks HTTP/1.1 only and skips sniffing the protocol.
    pub fn h2c(mut self, on: bool) -> Self {
        self.config.h2c = on;
        self
    }

    /// Sets how many bytes are read from a WebSocket at a time, at least
    /// [`ServerConfig::MIN_WEBSOCKET_READ_BUFFER`]
    /// (default [`ServerConfig::DEFAULT_WEBSOCKET_READ_BUFFER`]).
    pub fn websocket_read_buffer(mut self, bytes: usize) -> Self {
        self.config.websocket_read_buffer = bytes;
        self
    }

    /// Sets the HTTP status mapping of errors (default [`StatusMapping::default`]).
    pub fn status_mapping(mut self, mapping: StatusMapping) -> Self {
        self.config.status_mapping = mapping;
        self
    }

    /// Sets the header read timeout, non-zero
    /// (default [`ServerConfig::DEFAULT_HEADER_READ_TIMEOUT`]).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.header_read_timeout = timeout;
        self
    }

    /// Sets the body read timeout, non-zero
    /// (default [`ServerConfig::DEFAULT_BODY_READ_TIMEOUT`]).
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_read_timeout = timeout;
        self
    }

    /// Sets the HTTP keep-alive idle timeout, non-zero
    /// (default [`ServerConfig::DEFAULT_KEEP_ALIVE_TIMEOUT`]).
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.config.keep_alive_timeout = timeout;
        self
    }

    /// Sets the most open connections, at least 1
    /// (default [`ServerConfig::DEFAULT_MAX_CONNECTIONS`]).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.max_connections = connections;
        self
    }

    /// Sets the `Origin`s allowed to open a WebSocket besides the default
    /// ones (none sent, or the server's own): exact origins
    /// (`https://app.example.com`, `http://localhost:8000`), host patterns
    /// (`*.example.com`, `.example.com`, `https://*.example.com`), or `*` for
    /// any. See [`AllowedOrigins`] for the rules; a malformed pattern is an
    /// error at [`build`](Self::build).
    pub fn allowed_origins<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list = AllowedOrigins::list(patterns);
        self.origins = match (self.origins, list) {
            (Ok(old), Ok(new)) => Ok(new
                .allow_missing(old.allows_missing())
                .allow_same_origin(old.allows_same_origin())),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        self
    }

    /// Whether a WebSocket handshake without an `Origin` header (non-browser
    /// clients send none) is allowed (default: allowed).
    pub fn allow_missing_origin(mut self, allow: bool) -> Self {
        self.origins = self.origins.map(|o| o.allow_missing(allow));
        self
    }

    /// Whether a WebSocket handshake whose `Origin` names the request's own
    /// `Host` is allowed (default: allowed).
    pub fn allow_same_origin(mut self, allow: bool) -> Self {
        self.origins = self.origins.map(|o| o.allow_same_origin(allow));
        self
    }

    /// Serves the channels-rpc JavaScript client (an ES module exporting
    /// `connect`; [`Asset::client_script`](crate::Asset::client_script)) at
    /// `path`, e.g. `"/channels-rpc.js"`, on every [`Server`](crate::Server)
    /// built with this configuration (default: not served). A page then
    /// loads it with `import { connect } from "/channels-rpc.js"`.
    pub fn serve_client(mut self, path: impl Into<String>) -> Self {
        self.config.client_path = Some(path.into());
        self
    }

    /// Serves https and wss instead of http and ws on the server's port
    /// (default: plain). A plain-HTTP client is then closed at its first
    /// bytes, without an answer.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsConfig) -> Self {
        self.config.tls = Some(tls);
        self
    }

    /// Sets the TLS handshake timeout, non-zero
    /// (default [`ServerConfig::DEFAULT_TLS_HANDSHAKE_TIMEOUT`]).
    #[cfg(feature = "tls")]
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.tls_handshake_timeout = timeout;
        self
    }

    /// The configuration, or the first setting that would make the server
    /// hang, spin or refuse everything.
    pub fn build(self) -> Result<ServerConfig, ConfigError> {
        let mut config = self.config;
        config.allowed_origins = self.origins?;
        let positive = |setting, value: Duration| {
            if value.is_zero() {
                Err(ConfigError::new(setting, "must be longer than zero"))
            } else {
                Ok(())
            }
        };
        if config.limits.message_size() == 0 {
            return Err(ConfigError::new(
                "limits",
                "max_message_size 0 would refuse every message",
            ));
        }
        if config.max_in_flight == 0 {
            return Err(ConfigError::new(
                "max_in_flight",
                "must be at least 1: with 0 calls in flight a connection never reads",
            ));
        }
        if config.outbound_queue == 0 {
            return Err(ConfigError::new("outbound_queue", "must be at least 1"));
        }
        if config.client_calls.max_pending == 0 {
            return Err(ConfigError::new("max_client_calls", "must be at least 1"));
        }
        if config.client_calls.timeout.is_zero() {
            return Err(ConfigError::new("client_call_timeout", "must be longer than zero"));
        }
        if config.max_connections == 0 {
            return Err(ConfigError::new(
                "max_connections",
                "must be at least 1: 0 refuses every connection",
            ));
        }
        if config.websocket_read_buffer < ServerConfig::MIN_WEBSOCKET_READ_BUFFER {
            return Err(ConfigError::new(
                "websocket_read_buffer",
                format!("must be at least {} bytes", ServerConfig::MIN_WEBSOCKET_READ_BUFFER),
            ));
        }
        if let Some(interval) = config.ping_interval {
            positive("ping_interval", interval)?;
            if config.idle_timeout <= interval {
                return Err(ConfigError::new(
                    "idle_timeout",
                    format!(
                        "{:?} must be longer than ping_interval ({interval:?}): silence is judged at ping ticks",
                        config.idle_timeout
                    ),
                ));
            }
        }
        positive("idle_timeout", config.idle_timeout)?;
        positive("write_timeout", config.write_timeout)?;
        positive("header_read_timeout", config.header_read_timeout)?;
        positive("body_read_timeout", config.body_read_timeout)?;
        positive("keep_alive_timeout", config.keep_alive_timeout)?;
        #[cfg(feature = "tls")]
        positive("tls_handshake_timeout", config.tls_handshake_timeout)?;
        if let Some(path) = &config.client_path {
            if !path.starts_with('/') {
                return Err(ConfigError::new(
                    "serve_client",
                    format!("the path {path:?} must start with '/'"),
                ));
            }
        }
        config.cors_layer = config.cors.as_ref().map(Cors::layer).transpose()?;
        Ok(config)
    }
}
