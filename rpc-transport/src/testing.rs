//! Test communicators, like Channels' `WebsocketCommunicator` and
//! `HttpCommunicator`: drive a consumer in-process, through the same code as
//! a real connection, without opening a port.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use rpc_core::{App, Consumer, Reject, Transport};
use serde_json::Value;
use tokio::io::DuplexStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::config::ServerConfig;
use crate::http::serve_http;
use crate::stats::Stats;
use crate::ticker::Ticker;
use crate::ws::{self, WsShared};

/// A WebSocket connection to a consumer, in-process.
///
/// ```
/// use channels_rpc::testing::WebsocketCommunicator;
/// use channels_rpc::{json, rpc_method, Consumer};
///
/// #[derive(Consumer, Default)]
/// struct Api;
///
/// #[rpc_method(consumer = Api)]
/// fn double(x: i64) -> i64 {
///     2 * x
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut ws = WebsocketCommunicator::new(Api::app(), "/ws/").connect().await.unwrap();
/// ws.send_json(&json!({"jsonrpc": "2.0", "method": "double", "params": [21], "id": 1})).await;
/// assert_eq!(ws.receive_json().await, Some(json!({"jsonrpc": "2.0", "result": 42, "id": 1})));
/// ws.disconnect(1000).await;
/// # });
/// ```
#[derive(Debug)]
pub struct WebsocketCommunicator<C> {
    app: App<C>,
    path: String,
    headers: HeaderMap,
    config: ServerConfig,
}

/// An open in-process WebSocket connection.
#[derive(Debug)]
pub struct OpenWebsocket {
    socket: WebSocketStream<DuplexStream>,
    server: JoinHandle<()>,
    _shutdown: watch::Sender<bool>,
}

impl<C: Consumer> WebsocketCommunicator<C> {
    /// A communicator for `app` at `path`, with the default configuration.
    pub fn new(app: App<C>, path: &str) -> Self {
        WebsocketCommunicator {
            app,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            config: ServerConfig::default(),
        }
    }

    /// Adds a request header the consumer will see in its scope.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        append_header(&mut self.headers, name, value);
        self
    }

    /// Sets the configuration (limits, timers).
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Checks the `Origin` as the server does (403 past it), runs the
    /// consumer's connect hook; on acceptance, the open connection.
    pub async fn connect(self) -> Result<OpenWebsocket, Reject> {
        // The server's origin check, as a real handshake meets it.
        if !self.config.allowed_origins().allows(&self.headers) {
            return Err(Reject::forbidden("origin not allowed"));
        }
        let mut scope = rpc_core::Scope::new(Transport::WebSocket, self.path);
        *scope.headers_mut() = self.headers;
        let consumer = C::new(&scope);
        consumer.connect(&mut scope).await?;
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (shutdown_tx, shutdown) = watch::channel(false);
        let limits = self.config.limits();
        let ws_config = ws::websocket_config(&self.config);
        let shared = WsShared {
            ticker: Ticker::new(self.config.ping_interval()),
            config: self.config,
            shutdown,
            stats: Stats::default(),
        };
        let app = self.app.limits(limits);
        let server = tokio::spawn(async move {
            let mut socket = WebSocketStream::from_raw_socket(server, Role::Server, Some(ws_config)).await;
            ws::run(&mut socket, &app, consumer, Box::new(scope), &shared, None).await;
        });
        let socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        Ok(OpenWebsocket {
            socket,
            server,
            _shutdown: shutdown_tx,
        })
    }
}

impl OpenWebsocket {
    /// Sends text as one message.
    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("the connection is open");
    }

    /// Sends a JSON value as one text message.
    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(&value.to_string()).await;
    }

    /// The next message as JSON, waiting up to one second; `None` if nothing
    /// came or the connection closed.
    pub async fn receive_json(&mut self) -> Option<Value> {
        self.receive_json_within(Duration::from_secs(1)).await
    }

    /// The next message as JSON, waiting up to `timeout`.
    pub async fn receive_json_within(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            let next = tokio::time::timeout(timeout, self.socket.next()).await.ok()??;
            match next.ok()? {
                Message::Text(text) => return serde_json::from_str(&text).ok(),
                Message::Binary(bytes) => return serde_json::from_slice(&bytes).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// True when nothing arrives within `timeout` (a notification got no reply).
    pub async fn receive_nothing(&mut self, timeout: Duration) -> bool {
        self.receive_json_within(timeout).await.is_none()
    }

    /// Closes with `code` and waits until the consumer's disconnect hook has run.
    pub async fn disconnect(mut self, code: u16) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        };
        let _ = self.socket.close(Some(frame)).await;
        while let Some(Ok(_)) = self.socket.next().await {}
        let _ = self.server.await;
    }
}

/// Adds one header; test code, so a bad name or value is a panic.
fn append_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    let value = HeaderValue::from_str(value).expect("a valid header value");
    headers.append(HeaderName::from_static(name), value);
}

/// HTTP requests to a consumer, in-process.
///
/// ```
/// use channels_rpc::testing::HttpCommunicator;
/// use channels_rpc::Consumer;
///
/// #[derive(Consumer, Default)]
/// struct Api;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let http = HttpCommunicator::new(Api::app(), "/rpc/");
/// let response = http.post(r#"{"jsonrpc":"2.0","method":"nope","id":1}"#).await;
/// assert_eq!(response.status, 200);
/// assert_eq!(response.json().unwrap()["error"]["code"], -32601);
/// # });
/// ```
#[derive(Debug)]
pub struct HttpCommunicator<C> {
    app: App<C>,
    path: String,
    headers: HeaderMap,
    config: ServerConfig,
}

/// What an HTTP request got back.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl<C: Consumer> HttpCommunicator<C> {
    /// A communicator for `app` at `path`.
    pub fn new(app: App<C>, path: &str) -> Self {
        HttpCommunicator {
            app,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            config: ServerConfig::default(),
        }
    }

    /// Adds a request header.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        append_header(&mut self.headers, name, value);
        self
    }

    /// Sets the configuration.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.app = self.app.limits(config.limits());
        self.config = config;
        self
    }

    /// POSTs `body`.
    pub async fn post(&self, body: &str) -> HttpResponse {
        self.request("POST", body).await
    }

    /// Sends a request with any method.
    pub async fn request(&self, method: &str, body: &str) -> HttpResponse {
        let mut request = Request::builder().method(method).uri(&self.path);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .expect("a valid request");
        let response = serve_http(&self.app, &self.config, request, None).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        HttpResponse { status, headers, body }
    }
}
