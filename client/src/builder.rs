//! Client settings, each bound with a named default.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::{http as http_transport, ws, Client};

/// How long a call waits for its answer unless told otherwise: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting (TCP and WebSocket handshake) may take: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many calls may wait for answers at once: 256.
pub const DEFAULT_MAX_PENDING: usize = 256;
/// The largest answer (HTTP body or WebSocket message) accepted: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 << 20;
/// How many unread notifications a [`crate::Notifications`] reader may fall behind: 256.
pub const DEFAULT_NOTIFICATION_BUFFER: usize = 256;
/// How many server-to-client calls are answered at once: 64 (more get -32000).
pub const DEFAULT_MAX_SERVER_CALLS: usize = 64;

/// WebSocket reconnection: exponential backoff with jitter.
///
/// Attempt `n` (from 0) waits a random time between half and all of
/// `initial * 2^n`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait before the first attempt.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Attempts before giving up; `None`: never give up.
    pub max_attempts: Option<u32>,
}

impl Backoff {
    /// 100 ms doubling up to 10 s, without end.
    pub const DEFAULT: Self = Self {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(10),
        max_attempts: None,
    };

    /// The wait before attempt `attempt` (from 0), jittered.
    pub fn delay(&self, attempt: u32) -> Duration {
        let full = self
            .initial
            .saturating_mul(2u32.saturating_pow(attempt.min(31)))
            .min(self.max);
        full / 2 + full.mul_f64(fastrand::f64() / 2.0)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Runs after each reconnection, with the client, to resubscribe or rejoin.
pub(crate) type ReconnectHook = Arc<dyn Fn(Client) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Settings of a [`Client`]; [`ClientBuilder::connect`] makes it.
///
/// ```no_run
/// # async fn run() -> Result<(), channels_rpc_client::Error> {
/// use std::time::Duration;
/// use channels_rpc_client::{Backoff, Client};
///
/// let client = Client::builder("ws://127.0.0.1:8000/ws/")
///     .header("authorization", "Bearer secret")
///     .timeout(Duration::from_secs(5))
///     .reconnect(Some(Backoff::DEFAULT))
///     .on_reconnect(|client| async move {
///         let _ = client.call::<bool>("join", ("lobby",)).await;
///     })
///     .connect()
///     .await?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    pub(crate) url: String,
    pub(crate) headers: HeaderMap,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_pending: usize,
    pub(crate) max_message_size: usize,
    pub(crate) notification_buffer: usize,
    pub(crate) max_server_calls: usize,
    pub(crate) reconnect: Option<Backoff>,
    pub(crate) on_reconnect: Option<ReconnectHook>,
    error: Option<String>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .field("max_pending", &self.max_pending)
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            headers: HeaderMap::new(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            notification_buffer: DEFAULT_NOTIFICATION_BUFFER,
            max_server_calls: DEFAULT_MAX_SERVER_CALLS,
            reconnect: Some(Backoff::DEFAULT),
            on_reconnect: None,
            error: None,
        }
    }

    /// Adds a header to every HTTP request and to the WebSocket handshake
    /// (e.g. `authorization`). An invalid name or value fails [`Self::connect`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => {
                self.error.get_or_insert(format!("invalid header {name:?}"));
            }
        }
        self
    }

    /// The default timeout of each call ([`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time connecting may take ([`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many calls may wait at once ([`DEFAULT_MAX_PENDING`]); more fail
    /// at once with [`Error::TooManyPending`].
    pub fn max_pending(mut self, max: usize) -> Self {
        self.max_pending = max;
        self
    }

    /// The largest answer accepted ([`DEFAULT_MAX_MESSAGE_SIZE`]).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// How far a notification reader may fall behind ([`DEFAULT_NOTIFICATION_BUFFER`]).
    pub fn notification_buffer(mut self, notifications: usize) -> Self {
        self.notification_buffer = notifications.max(1);
        self
    }

    /// How many server-to-client calls are answered at once ([`DEFAULT_MAX_SERVER_CALLS`]).
    pub fn max_server_calls(mut self, max: usize) -> Self {
        self.max_server_calls = max;
        self
    }

    /// WebSocket reconnection ([`Backoff::DEFAULT`]); `None`: a dropped
    /// connection closes the client.
    pub fn reconnect(mut self, backoff: Option<Backoff>) -> Self {
        self.reconnect = backoff;
        self
    }

    /// Runs `hook` with the client after each WebSocket reconnection (not after
    /// the first connection), to resubscribe or rejoin groups.
    pub fn on_reconnect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_reconnect = Some(Arc::new(move |client| Box::pin(hook(client))));
        self
    }

    /// Connects: `http://` posts each call, `ws://` opens a WebSocket.
    /// `https://` and `wss://` are refused: TLS is not supported yet.
    pub async fn connect(self) -> Result<Client> {
        if let Some(reason) = self.error.clone() {
            return Err(Error::InvalidUrl { url: self.url, reason });
        }
        let scheme = self
            .url
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http") => Ok(Client::from_http(http_transport::HttpTransport::new(&self)?, &self)),
            Some("ws") => ws::connect(self).await,
            Some("https" | "wss") => Err(Error::InvalidUrl {
                url: self.url,
                reason: "TLS is not supported yet; use http:// or ws:// (e.g. behind a TLS proxy)".into(),
            }),
            _ => Err(Error::InvalidUrl {
                url: self.url,
                reason: "the scheme must be http:// or ws://".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_its_cap() {
        let backoff = Backoff::DEFAULT;
        for attempt in 0..40 {
            let full = (Duration::from_millis(100) * 2u32.saturating_pow(attempt.min(31))).min(backoff.max);
            let delay = backoff.delay(attempt);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
    }
}
