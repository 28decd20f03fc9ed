//! A JSON-RPC 2.0 client over HTTP and WebSocket, for channels-rpc servers
//! and any other (it is tested against jsonrpsee's server too).
//!
//! - [`Client::call`]: typed results; params positional from a tuple or `Vec`,
//!   named from a struct or map (anything `Serialize`), none from `()`.
//! - [`Client::notify`], [`Client::batch`].
//! - WebSocket only: the server's notifications ([`Client::on`],
//!   [`Client::notifications`]) and calls to the client ([`Client::answer`],
//!   which a channels-rpc server's `ctx.call_client` reaches).
//! - Bounds with named defaults: per-call timeouts ([`DEFAULT_TIMEOUT`]),
//!   waiting calls ([`DEFAULT_MAX_PENDING`]), answer size
//!   ([`DEFAULT_MAX_MESSAGE_SIZE`]), notification backlog, concurrent server calls.
//! - WebSocket reconnection with jittered exponential backoff ([`Backoff`]) and a
//!   hook to rejoin after it ([`ClientBuilder::on_reconnect`]); calls waiting
//!   when the connection drops fail at once with [`Error::Disconnected`].
//! - Custom headers on every request and on the handshake ([`ClientBuilder::header`]).
//!
//! TLS (`https://`, `wss://`) is not supported yet: the server side has no TLS
//! either; put both behind a TLS-terminating proxy.
//!
//! ```no_run
//! # async fn run() -> Result<(), channels_rpc_client::Error> {
//! use channels_rpc_client::Client;
//! use serde::Serialize;
//!
//! let client = Client::connect("ws://127.0.0.1:8000/ws/").await?;
//! let sum: i64 = client.call("add", (2, 3)).await?;
//!
//! #[derive(Serialize)]
//! struct Greet<'a> { name: &'a str }
//! let hello: String = client.call("greet", Greet { name: "Ada" }).await?;
//!
//! client.on("chat.message", |params| println!("{params}"));
//! client.answer("confirm", |params| async move { Ok(serde_json::json!(true)) });
//! # let _ = (sum, hello); Ok(()) }
//! ```
#![deny(missing_docs)]

mod batch;
mod builder;
mod error;
mod handlers;
mod http;
mod message;
mod ws;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use batch::Batch;
pub use builder::{
    Backoff, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_PENDING,
    DEFAULT_MAX_SERVER_CALLS, DEFAULT_NOTIFICATION_BUFFER, DEFAULT_TIMEOUT,
};
pub use error::{Error, Result, RpcError};
pub use handlers::{Notification, Notifications};

use handlers::Handlers;
use message::{decode, request, to_params, Incoming};

/// A connection to a JSON-RPC server; cheap to clone (clones share it).
///
/// The WebSocket connection closes when [`Client::close`] is called or the
/// last clone is dropped.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match &self.inner.transport {
            Transport::Http(_) => "http",
            Transport::Ws(_) => "ws",
        };
        f.debug_struct("Client")
            .field("transport", &transport)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

struct Inner {
    transport: Transport,
    timeout: Duration,
    handlers: Arc<Handlers>,
}

enum Transport {
    Http(Box<http::HttpTransport>),
    Ws(ws::WsTransport),
}

impl Client {
    /// Settings for a client of `url` (`http://...` or `ws://...`).
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// Connects to `url` with the default settings.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::builder(url).connect().await
    }

    fn from_http(transport: http::HttpTransport, config: &ClientBuilder) -> Self {
        Self {
            inner: Arc::new(Inner {
                transport: Transport::Http(Box::new(transport)),
                timeout: config.timeout,
                handlers: Arc::new(Handlers::new(1)),
            }),
        }
    }

    /// Calls `method` and decodes its result as `T`, within the default timeout.
    ///
    /// `params`: a tuple or `Vec` for positional params, a struct or map for
    /// named ones, `()` for none.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: impl Serialize) -> Result<T> {
        self.call_with_timeout(method, params, self.inner.timeout).await
    }

    /// [`Client::call`] with a timeout of its own.
    pub async fn call_with_timeout<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
        timeout: Duration,
    ) -> Result<T> {
        let message = request(method, to_params(params)?, Some(0));
        let mut outcomes = self.exchange(&message, 1, timeout, method).await?;
        decode(
            outcomes
                .pop()
                .unwrap_or(Err(Error::Decode("no answer to the call".into())))?,
        )
    }

    /// Sends the notification `method(params)`; no answer comes.
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<()> {
        self.send_unanswered(&request(method, to_params(params)?, None), method)
            .await
    }

    /// Sends a notification or a batch of them.
    async fn send_unanswered(&self, message: &Value, method: &str) -> Result<()> {
        match &self.inner.transport {
            Transport::Http(http) => {
                let _permit = http.permit()?;
                http.post_notification(message, self.inner.timeout, method).await
            }
            Transport::Ws(ws) => ws.send(message.to_string()).await,
        }
    }

    /// Sends `batch` as one message; the calls' outcomes in the order they
    /// were added (notifications have none).
    ///
    /// ```no_run
    /// # async fn run(client: channels_rpc_client::Client) -> Result<(), channels_rpc_client::Error> {
    /// use channels_rpc_client::Batch;
    /// let outcomes = client.batch(Batch::new().call("add", (1, 2)).call("ping", ())).await?;
    /// let sum: i64 = serde_json::from_value(outcomes[0].as_ref().unwrap().clone()).unwrap();
    /// # let _ = sum; Ok(()) }
    /// ```
    pub async fn batch(&self, batch: Batch) -> Result<Vec<Result<Value>>> {
        let calls = batch.calls();
        let (messages, _) = batch.into_messages(0)?;
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        if calls == 0 {
            return self
                .send_unanswered(&Value::Array(messages), "batch")
                .await
                .map(|()| Vec::new());
        }
        self.exchange(&Value::Array(messages), calls, self.inner.timeout, "batch")
            .await
    }

    /// Sends `message` holding `calls` calls numbered from 0; their outcomes in order.
    async fn exchange(
        &self,
        message: &Value,
        calls: usize,
        timeout: Duration,
        method: &str,
    ) -> Result<Vec<Result<Value>>> {
        match &self.inner.transport {
            Transport::Ws(ws) => ws.exchange(message, calls, timeout, method).await,
            Transport::Http(http) => {
                let _permit = http.permit()?;
                let mut outcomes: Vec<Option<Result<Value>>> = (0..calls).map(|_| None).collect();
                for incoming in http.post(message, timeout, method).await? {
                    match incoming {
                        Incoming::Response { id: Some(id), outcome } if (id as usize) < calls => {
                            outcomes[id as usize] = Some(outcome);
                        }
                        // One error for the whole message (e.g. a parse error) answers every call.
                        Incoming::Response {
                            id: None,
                            outcome: Err(Error::Rpc(error)),
                        } => {
                            return Err(Error::Rpc(error));
                        }
                        other => tracing::debug!(?other, "ignored in an HTTP answer"),
                    }
                }
                Ok(outcomes
                    .into_iter()
                    .map(|outcome| {
                        outcome.unwrap_or_else(|| Err(Error::Decode("the server did not answer this call".into())))
                    })
                    .collect())
            }
        }
    }

    /// Runs `handler` with the params of each notification `method` the server
    /// pushes (WebSocket only); replaces an earlier handler of `method`.
    pub fn on(&self, method: &str, handler: impl Fn(Value) + Send + Sync + 'static) {
        self.inner.handlers.on(method.to_owned(), Arc::new(handler));
    }

    /// Answers the server's calls of `method` (WebSocket only) with `handler`'s
    /// result or error. Calls of methods without a handler get -32601.
    pub fn answer<F, Fut>(&self, method: &str, handler: F)
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
    {
        self.inner.handlers.answer(method.to_owned(), handler);
    }

    /// Every notification pushed from now on; ends when the connection closes
    /// for good. Over HTTP it ends at once.
    pub fn notifications(&self) -> Notifications {
        if let Transport::Http(_) = self.inner.transport {
            self.inner.handlers.end();
        }
        self.inner.handlers.subscribe()
    }

    /// How many calls wait for their answers now (at most
    /// [`ClientBuilder::max_pending`]).
    pub fn pending_calls(&self) -> usize {
        match &self.inner.transport {
            Transport::Http(http) => http.pending(),
            Transport::Ws(ws) => ws.pending(),
        }
    }

    /// Whether the WebSocket connection is up (HTTP: always true).
    pub fn is_connected(&self) -> bool {
        match &self.inner.transport {
            Transport::Http(_) => true,
            Transport::Ws(ws) => ws.is_connected(),
        }
    }

    /// Sends what is queued, closes the WebSocket connection and waits until
    /// it is closed (HTTP: nothing to close).
    ///
    /// A server may drop the work of a connection that closes (ours does):
    /// a notification sent just before closing may not run. Over HTTP the
    /// notification has run, or is running, when [`Client::notify`] returns.
    pub async fn close(&self) {
        if let Transport::Ws(ws) = &self.inner.transport {
            ws.close().await;
        }
    }
}
