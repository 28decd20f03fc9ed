//! [`ServerConfig`]: every transport limit and timer, with its default and why.

use std::sync::Arc;
use std::time::Duration;

use rpc_core::{ChannelLayer, InProcessLayer, Limits, StatusMapping};

use crate::cors::Cors;

/// Transport settings. Protocol limits (message size, depth, batch length)
/// live in [`Limits`] and apply to HTTP bodies and WebSocket messages alike.
///
/// ```
/// use channels_rpc::{Limits, ServerConfig};
/// use std::time::Duration;
///
/// let config = ServerConfig::default()
///     .limits(Limits::default().max_message_size(1 << 20))
///     .max_in_flight(64)
///     .ping_interval(Some(Duration::from_secs(10)));
/// assert_eq!(config.max_in_flight_per_connection, 64);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Protocol limits; `max_message_size` also bounds HTTP bodies (413 past it)
    /// and WebSocket messages (close 1009 past it).
    pub limits: Limits,
    /// Calls one WebSocket connection may have running at once; past it the
    /// server stops reading from that connection until one finishes.
    pub max_in_flight_per_connection: usize,
    /// Pushed messages queued for one WebSocket connection; a peer that lets
    /// the queue fill is too slow and is disconnected.
    pub outbound_queue: usize,
    /// How often WebSocket peers are pinged, all at once, by one thread per
    /// service; silence is judged at these ticks. `None` disables pings.
    pub ping_interval: Option<Duration>,
    /// A WebSocket peer silent for this long (no frame, no pong) is dropped.
    pub idle_timeout: Duration,
    /// A write that cannot complete in this time means the peer stopped reading:
    /// the connection is dropped.
    pub write_timeout: Duration,
    /// How long a graceful shutdown waits for running calls.
    pub shutdown_timeout: Duration,
    /// HTTP status of error responses.
    pub status_mapping: StatusMapping,
    /// Cross-origin access for browsers; `None` (the default) sends no CORS headers.
    pub cors: Option<Cors>,
    /// The channel layer for groups; an in-process layer unless set.
    pub layer: Arc<dyn ChannelLayer>,
    /// Bytes read from a WebSocket at a time. tungstenite zero-fills this
    /// buffer before each read and keeps it per connection, so a small one is
    /// cheaper per read and per idle connection; large messages take more reads.
    pub websocket_read_buffer: usize,
    /// Also serve HTTP/2 with prior knowledge (h2c) on the same port (default
    /// on). Off, the server speaks HTTP/1.1 only and skips sniffing the protocol.
    pub h2c: bool,
}

impl ServerConfig {
    /// 256 calls in flight per connection.
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
    /// 1,024 queued pushes per connection.
    pub const DEFAULT_OUTBOUND_QUEUE: usize = 1024;
    /// Ping every 30 s.
    pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
    /// Drop a peer silent for 90 s (three missed pings).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    /// Give up on a write after 10 s.
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Read WebSockets 4 KiB at a time.
    pub const DEFAULT_WEBSOCKET_READ_BUFFER: usize = 4 * 1024;
    /// Wait up to 10 s for running calls on shutdown.
    pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

    /// Sets the protocol limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the calls in flight per WebSocket connection.
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight_per_connection = calls.max(1);
        self
    }

    /// Sets the outbound queue length per WebSocket connection.
    pub fn outbound_queue(mut self, messages: usize) -> Self {
        self.outbound_queue = messages.max(1);
        self
    }

    /// Sets the ping interval (`None`: no pings).
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets the write timeout.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets the graceful shutdown timeout.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Allows cross-origin calls over HTTP.
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Sets the channel layer (e.g. a Redis layer shared by many processes).
    pub fn channel_layer(mut self, layer: Arc<dyn ChannelLayer>) -> Self {
        self.layer = layer;
        self
    }

    /// Serves HTTP/2 with prior knowledge (h2c) beside HTTP/1.1.
    pub fn h2c(mut self, on: bool) -> Self {
        self.h2c = on;
        self
    }

    /// Sets how many bytes are read from a WebSocket at a time.
    pub fn websocket_read_buffer(mut self, bytes: usize) -> Self {
        self.websocket_read_buffer = bytes.max(256);
        self
    }

    /// Sets the HTTP status mapping of errors.
    pub fn status_mapping(mut self, mapping: StatusMapping) -> Self {
        self.status_mapping = mapping;
        self
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            max_in_flight_per_connection: Self::DEFAULT_MAX_IN_FLIGHT,
            outbound_queue: Self::DEFAULT_OUTBOUND_QUEUE,
            ping_interval: Some(Self::DEFAULT_PING_INTERVAL),
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            write_timeout: Self::DEFAULT_WRITE_TIMEOUT,
            shutdown_timeout: Self::DEFAULT_SHUTDOWN_TIMEOUT,
            status_mapping: StatusMapping::default(),
            cors: None,
            layer: Arc::new(InProcessLayer::default()),
            websocket_read_buffer: Self::DEFAULT_WEBSOCKET_READ_BUFFER,
            h2c: true,
        }
    }
}
