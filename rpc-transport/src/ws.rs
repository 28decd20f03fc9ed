//! JSON-RPC over WebSocket: the upgrade, decided by the consumer's connect
//! hook, then one task per connection that reads messages, runs calls
//! concurrently and writes every reply that is due in one flush.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use bytes::Bytes;
use futures_util::sink::Feed;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rpc_core::{
    Answer, App, Connection, ConnectionHandle, Consumer, Delivery, Envelope, Inbox, Middlewares, Outbox, Reply, Scope,
    Transport,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::config::ServerConfig;
use crate::read_signal::ReadSignal;
use crate::response::{plain, rejected, ResponseBody};
use crate::shutdown::shutdown_signal;
use crate::stats::Stats;
use crate::ticker::Ticker;

/// Close codes (RFC 6455 section 7.4.1).
mod code {
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const NO_STATUS: u16 = 1005;
    pub const ABNORMAL: u16 = 1006;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
}

/// Headers that only serve the WebSocket handshake itself; the scope of the
/// connection that follows does not keep them (`sec-websocket-protocol`,
/// the subprotocols offered, stays).
const HANDSHAKE_ONLY: [header::HeaderName; 5] = [
    header::CONNECTION,
    header::UPGRADE,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_EXTENSIONS,
];

/// The scope of a WebSocket connection from its upgrade request. The header
/// values are copied: hyper's own point into its read buffer, which they would
/// keep alive (kilobytes) for as long as the connection lasts.
pub(crate) fn websocket_scope<B>(req: &Request<B>, peer: Option<SocketAddr>) -> Scope {
    let mut scope = Scope::new(Transport::WebSocket, req.uri().path());
    scope.set_query(req.uri().query().map(str::to_owned));
    let headers = scope.headers_mut();
    for (name, value) in req.headers().iter().filter(|(name, _)| !HANDSHAKE_ONLY.contains(name)) {
        let mut owned = HeaderValue::from_bytes(value.as_bytes()).expect("a valid value stays valid");
        owned.set_sensitive(value.is_sensitive());
        headers.append(name.clone(), owned);
    }
    scope.set_peer(peer);
    scope
}

fn header_has(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// True when `req` asks for a WebSocket upgrade: a GET (RFC 6455 4.1) with
/// `Connection: upgrade` and `Upgrade: websocket`. The method is looked at
/// first: a POST, every HTTP call, costs no header look-up here.
pub fn is_upgrade<B>(req: &Request<B>) -> bool {
    req.method() == http::Method::GET
        && header_has(req.headers(), header::CONNECTION, "upgrade")
        && header_has(req.headers(), header::UPGRADE, "websocket")
}

/// tungstenite's settings from ours.
pub(crate) fn websocket_config(config: &ServerConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(config.limits().message_size()))
        .max_frame_size(Some(config.limits().message_size()))
        .read_buffer_size(config.websocket_read_buffer())
}

/// Shared state a connection needs beyond its app.
#[derive(Clone, Debug)]
pub(crate) struct WsShared {
    pub config: ServerConfig,
    pub shutdown: watch::Receiver<bool>,
    pub stats: Stats,
    /// Ping ticks, every `config.ping_interval`.
    pub ticker: Ticker,
}

/// Answers an upgrade request: runs the consumer's connect hook (403 or its
/// status on refusal), then answers 101 and serves the connection in a new task.
pub(crate) async fn serve_upgrade<C, B>(
    app: App<C>,
    shared: Arc<WsShared>,
    mut req: Request<B>,
    peer: Option<SocketAddr>,
) -> Response<ResponseBody>
where
    C: Consumer,
    B: Send + 'static,
{
    let key = match req.headers().get(header::SEC_WEBSOCKET_KEY) {
        Some(key) if is_upgrade(&req) => key.clone(),
        _ => {
            let mut response = plain(
                StatusCode::UPGRADE_REQUIRED,
                "this path speaks JSON-RPC over WebSocket\n",
            );
            response
                .headers_mut()
                .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            return response;
        }
    };
    if req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut response = plain(StatusCode::BAD_REQUEST, "unsupported WebSocket version\n");
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return response;
    }
    // Once per handshake, before the consumer exists: a page of another site
    // cannot open a connection in its visitor's name.
    if !shared.config.allowed_origins().allows(req.headers()) {
        return plain(StatusCode::FORBIDDEN, "origin not allowed\n");
    }
    let mut scope = websocket_scope(&req, peer);
    let consumer = C::new(&scope);
    if let Err(reject) = consumer.connect(&mut scope).await {
        return rejected(reject);
    }
    // Only a subprotocol the client offered may be chosen.
    let chosen = scope
        .subprotocol()
        .map(str::to_owned)
        .filter(|chosen| header_has(req.headers(), header::SEC_WEBSOCKET_PROTOCOL, chosen));
    scope.set_subprotocol(chosen.clone());
    let on_upgrade = hyper::upgrade::on(&mut req);
    // Put there by our own server for a plain TCP connection (not TLS).
    let read_signal = req.extensions_mut().remove::<Arc<ReadSignal>>();
    let guard = shared.stats.websocket();
    // Boxed while it waits for the upgrade: what a task captures stays in
    // its state for the task's whole life, beside the connection that
    // takes the scope over (see `run`).
    let scope = Box::new(scope);
    let span = tracing::info_span!(
        "connection",
        transport = "websocket",
        peer = %DisplayPeer(peer),
        path = scope.path(),
        channel = tracing::field::Empty,
    );
    tokio::spawn(Instrument::instrument(
        async move {
            let _guard = guard;
            match on_upgrade.await {
                Ok(upgraded) => {
                    let config = Some(websocket_config(&shared.config));
                    if let Some(signal) = &read_signal {
                        signal.activate();
                    }
                    let mut socket =
                        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, config).await;
                    run(&mut socket, &app, consumer, scope, &shared, read_signal.as_deref()).await;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "WebSocket upgrade failed");
                    consumer.disconnect(code::ABNORMAL).await;
                }
            }
        },
        span,
    ));
    let mut response = plain(StatusCode::SWITCHING_PROTOCOLS, "");
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    let accept = derive_accept_key(key.as_bytes());
    headers.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        accept.parse().expect("base64 is a valid header"),
    );
    if let Some(protocol) = chosen.and_then(|p| HeaderValue::from_str(&p).ok()) {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    response
}

/// A peer address for logs: `-` when the transport has none.
pub(crate) struct DisplayPeer(pub Option<SocketAddr>);

impl std::fmt::Display for DisplayPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(peer) => peer.fmt(f),
            None => f.write_str("-"),
        }
    }
}

type Pending<'a> = Pin<Box<dyn Future<Output = Option<Reply>> + Send + 'a>>;

/// The next message from `socket`. While the connection's [`ReadSignal`]
/// says its last read found nothing and no bytes have arrived since,
/// tungstenite is not asked: its buffer then holds no whole frame (it read
/// because it had none), and asking would only clear its whole read buffer
/// (4 KiB by default) once more. For a connection woken to write (a group's
/// notification to 10,000 members) that clear of cold memory was half of
/// the server's own instructions per member.
fn next_frame<'s, S>(
    socket: &'s mut WebSocketStream<S>,
    signal: Option<&'s ReadSignal>,
) -> impl Future<Output = Option<Result<Message, WsError>>> + 's
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    std::future::poll_fn(move |cx| {
        if signal.is_some_and(|signal| signal.poll_arrived(cx).is_pending()) {
            return Poll::Pending;
        }
        socket.poll_next_unpin(cx)
    })
}

/// What ended a connection.
enum End {
    /// Close with this code and tell the consumer.
    Close(u16, &'static str),
    /// The peer closed (with a code, or 1005 if it sent none).
    PeerClosed(u16),
    /// The peer vanished or stopped reading: no close handshake.
    Lost,
}

/// Serves one WebSocket connection until it ends, then runs the consumer's
/// disconnect hook exactly once with the close code. The consumer is kept
/// here typed, and shared with the connection its calls see.
///
/// Every connection's task holds this future for as long as it lives, so
/// its size is memory per connection: the socket comes by reference and the
/// scope boxed, because an `async fn` keeps a parameter it moves twice over
/// (as it came and as moved), and a boxed future stands for each path that
/// is rare and large (the shutdown drain, a write that has to wait).
pub(crate) async fn run<C, S>(
    socket: &mut WebSocketStream<S>,
    app: &App<C>,
    consumer: C,
    scope: Box<Scope>,
    shared: &WsShared,
    read_signal: Option<&ReadSignal>,
) where
    C: Consumer,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let config = &shared.config;
    let (handle, outbox) = ConnectionHandle::channel_with(config.outbound_queue(), config.client_call_limits());
    // Without a channel (the layer's backend is down) calls still work; only groups do not.
    let inbox = match config.channel_layer().new_channel().await {
        Ok(inbox) => Some(inbox),
        Err(e) => {
            tracing::warn!(error = %e, "no layer channel for this connection");
            None
        }
    };
    let channel = inbox.as_ref().map(|i| i.name.clone());
    let consumer = Arc::new(consumer);
    let mut connection = Connection::shared(consumer.clone(), *scope)
        .with_handle(handle)
        .with_layer(config.channel_layer().clone(), channel.clone());
    if let Some(limit) = config.rate_limit() {
        connection = connection.with_rate_limit(limit);
    }
    if let Some(channel) = &channel {
        tracing::Span::current().record("channel", channel.as_str());
    }
    tracing::debug!("WebSocket connected");
    let middleware = app.dispatcher().middleware();
    middleware.connected(&connection);
    let Err(end) = serve(
        socket,
        app,
        &consumer,
        &connection,
        (outbox, inbox),
        shared,
        read_signal,
    )
    .await;
    let code = match end {
        End::Close(code, reason) => {
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            };
            let _ = tokio::time::timeout(config.write_timeout(), socket.close(Some(frame))).await;
            code
        }
        End::PeerClosed(code) => {
            // tungstenite answers the close frame; flush it out.
            let _ = tokio::time::timeout(config.write_timeout(), socket.flush()).await;
            code
        }
        End::Lost => code::ABNORMAL,
    };
    tracing::debug!(code, "WebSocket disconnected");
    middleware.disconnected(&connection, Some(code));
    consumer.disconnect(code).await;
    if let Some(channel) = channel {
        config.channel_layer().close_channel(&channel).await;
    }
}

async fn serve<C: Consumer, S>(
    socket: &mut WebSocketStream<S>,
    app: &App<C>,
    consumer: &C,
    connection: &Connection,
    (mut outbox, mut inbox): (Outbox, Option<Inbox>),
    shared: &WsShared,
    read_signal: Option<&ReadSignal>,
) -> Result<Infallible, End>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let config = &shared.config;
    let events = Events {
        middleware: app.dispatcher().middleware(),
        connection,
    };
    // One future for the connection's life, not one made, registered and
    // dropped at every turn.
    let mut shutdown = std::pin::pin!(shutdown_signal(shared.shutdown.clone()));
    let mut in_flight: FuturesUnordered<Pending<'_>> = FuturesUnordered::new();
    // Silence is judged at ping ticks: a flag per frame, a clock read per tick.
    let mut heard = false;
    let mut last_heard = Instant::now();
    let mut tick = std::pin::pin!(shared.ticker.next());
    tick.as_mut().enable();
    loop {
        let can_read = in_flight.len() < config.max_in_flight();
        let mut out = Round::new(config.write_timeout(), events);
        // Only a turn that read a frame reads on before its flush (a
        // pipelining client has more behind it); a turn woken by anything
        // else leaves the socket to the next turn, which polls it anyway:
        // each poll of an empty socket costs tungstenite a clear of its
        // read buffer, and a group send wakes every member at once.
        let mut reading = false;
        tokio::select! {
            biased;
            () = shutdown.as_mut() => return Err(Box::pin(drain(socket, &mut in_flight, config, events)).await),
            () = overflowed(connection) => return Err(End::Close(code::POLICY, "outbound queue full: reading too slowly")),
            Some(reply) = in_flight.next(), if !in_flight.is_empty() => {
                if let Some(reply) = reply {
                    out.text(socket, reply.into_text()).await?;
                }
            }
            Some(pushed) = outbox.queue.recv() => out.text(socket, pushed).await?,
            Some(envelope) = next_envelope(&mut inbox) => {
                if let Some(notification) = on_envelope(envelope, consumer, connection, &mut in_flight) {
                    out.shared_text(socket, notification).await?;
                }
            }
            frame = next_frame(socket, read_signal), if can_read => {
                heard = true;
                reading = true;
                let read = match on_frame(frame, app, connection, &mut in_flight) {
                    Err(End::PeerClosed(code)) => {
                        let closing = closed_by_peer(code, socket, &mut in_flight, (config, &outbox));
                        return Err(Box::pin(closing).await);
                    }
                    read => read?,
                };
                if let Some(write) = out.read(socket, read) {
                    write.await?;
                }
            }
            () = tick.as_mut() => {
                tick.set(shared.ticker.next());
                tick.as_mut().enable();
                let now = Instant::now();
                if std::mem::take(&mut heard) {
                    last_heard = now;
                } else if now - last_heard > config.idle_timeout() {
                    return Err(End::Lost);
                }
                out.message(socket, Message::Ping(Bytes::new())).await?;
            }
        }
        // Answer everything else that is already due before one flush.
        loop {
            let mut progressed = false;
            while let Some(Some(reply)) = in_flight.next().now_or_never() {
                if let Some(reply) = reply {
                    out.text(socket, reply.into_text()).await?;
                }
                progressed = true;
            }
            while let Some(pushed) = outbox.queue.try_recv() {
                out.text(socket, pushed).await?;
                progressed = true;
            }
            if reading && in_flight.len() < config.max_in_flight() {
                if let Some(frame) = next_frame(socket, read_signal).now_or_never() {
                    heard = true;
                    let read = match on_frame(frame, app, connection, &mut in_flight) {
                        Err(End::PeerClosed(code)) => {
                            let closing = closed_by_peer(code, socket, &mut in_flight, (config, &outbox));
                            return Err(Box::pin(closing).await);
                        }
                        read => read?,
                    };
                    if let Some(write) = out.read(socket, read) {
                        write.await?;
                    }
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        out.flush(socket).await?;
    }
}

/// Completes once a push has found the outbound queue full. It registers no
/// waker of its own: the push that raised the flag woke the queue's receiver,
/// this task, which polls the queue whenever it is about to wait, so the flag
/// is looked at (one atomic load) on the turn that wake starts.
fn overflowed(connection: &Connection) -> impl Future<Output = ()> + '_ {
    std::future::poll_fn(|_| {
        if connection.handle().is_some_and(ConnectionHandle::overflowed) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

/// Where a connection's messages in and out are reported: its app's middlewares.
#[derive(Clone, Copy)]
struct Events<'a> {
    middleware: &'a Middlewares,
    connection: &'a Connection,
}

/// The writes of one turn of the loop: they share one deadline, and one flush
/// sends them all. A peer that does not read them in time is too slow. The
/// deadline starts when a write first has to wait: one that the socket takes
/// at once (nearly all of them) reads no clock and makes no timer.
struct Round<'a> {
    deadline: Option<Instant>,
    limit: Duration,
    unflushed: bool,
    events: Events<'a>,
}

impl<'a> Round<'a> {
    fn new(limit: Duration, events: Events<'a>) -> Self {
        Round {
            deadline: None,
            limit,
            unflushed: false,
            events,
        }
    }

    /// Acts on what a read gave: a reply to write, or a pong marked due
    /// (tungstenite has queued it).
    fn read<'s, S: AsyncRead + AsyncWrite + Unpin>(
        &'s mut self,
        socket: &'s mut WebSocketStream<S>,
        read: Read,
    ) -> Option<InTime<'s, Feed<'s, WebSocketStream<S>, Message>>> {
        match read {
            Read::Nothing => None,
            Read::PingDue => {
                self.unflushed = true;
                None
            }
            Read::Reply(reply) => Some(self.text(socket, reply.into_text())),
        }
    }

    fn text<'s, S: AsyncRead + AsyncWrite + Unpin>(
        &'s mut self,
        socket: &'s mut WebSocketStream<S>,
        text: String,
    ) -> InTime<'s, Feed<'s, WebSocketStream<S>, Message>> {
        self.events
            .middleware
            .message_out(self.events.connection, text.as_bytes());
        self.message(socket, Message::text(text))
    }

    /// A group's notification: the bytes every member shares.
    fn shared_text<'s, S: AsyncRead + AsyncWrite + Unpin>(
        &'s mut self,
        socket: &'s mut WebSocketStream<S>,
        text: Utf8Bytes,
    ) -> InTime<'s, Feed<'s, WebSocketStream<S>, Message>> {
        self.events
            .middleware
            .message_out(self.events.connection, text.as_bytes());
        self.message(socket, Message::Text(text))
    }

    /// Queues a message; writing it out may wait for the peer to read.
    fn message<'s, S: AsyncRead + AsyncWrite + Unpin>(
        &'s mut self,
        socket: &'s mut WebSocketStream<S>,
        message: Message,
    ) -> InTime<'s, Feed<'s, WebSocketStream<S>, Message>> {
        self.unflushed = true;
        InTime::new(socket.feed(message), &mut self.deadline, self.limit)
    }

    async fn flush<S: AsyncRead + AsyncWrite + Unpin>(&mut self, socket: &mut WebSocketStream<S>) -> Result<(), End> {
        if !self.unflushed {
            return Ok(());
        }
        InTime::new(socket.flush(), &mut self.deadline, self.limit).await
    }
}

/// A write of a round, run to its end within the round's deadline. The
/// write is polled first; only once it has to wait is the deadline set (a
/// clock read) and a timer made, boxed because it is large and most writes
/// never need one. The loop awaits these in its own state, so that state,
/// memory per connection, stays small: no nested `async fn` frames.
struct InTime<'r, W> {
    write: W,
    deadline: &'r mut Option<Instant>,
    limit: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<'r, W> InTime<'r, W> {
    fn new(write: W, deadline: &'r mut Option<Instant>, limit: Duration) -> Self {
        InTime {
            write,
            deadline,
            limit,
            timer: None,
        }
    }
}

impl<W: Future<Output = Result<(), WsError>> + Unpin> Future for InTime<'_, W> {
    type Output = Result<(), End>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(written) = Pin::new(&mut this.write).poll(cx) {
            return Poll::Ready(written.map_err(|_| End::Lost));
        }
        let limit = this.limit;
        let deadline = *this.deadline.get_or_insert_with(|| Instant::now() + limit);
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        timer.as_mut().poll(cx).map(|()| Err(End::Lost))
    }
}

/// What one read gave the loop to do.
enum Read {
    /// Nothing to write (a call went on running, a pong came in).
    Nothing,
    /// A ping came in: tungstenite answers it at the next flush.
    PingDue,
    /// A message answered at once (sync methods, errors).
    Reply(Reply),
}

/// After the peer's close frame ([`on_frame`] gave `End::PeerClosed`):
/// sends the close reply, then lets the calls the peer made before it run to their end,
/// within the shutdown timeout, unanswered (nothing may follow a close
/// reply), so that a notification sent just before a close is not lost;
/// calls waiting for the client's answer fail at once as closed.
async fn closed_by_peer<'a, S: AsyncRead + AsyncWrite + Unpin>(
    code: u16,
    socket: &mut WebSocketStream<S>,
    in_flight: &mut FuturesUnordered<Pending<'a>>,
    (config, outbox): (&ServerConfig, &Outbox),
) -> End {
    // tungstenite has queued the close reply: the peer need not wait for the calls.
    let _ = tokio::time::timeout(config.write_timeout(), socket.flush()).await;
    // A call waiting for the client's answer would wait in vain.
    outbox.close_client_calls();
    let finish = async { while in_flight.next().await.is_some() {} };
    let _ = tokio::time::timeout(config.shutdown_timeout(), finish).await;
    End::PeerClosed(code)
}

/// Handles one read result. Messages to sync methods are answered at once;
/// one that calls an `async` or `blocking` method joins `in_flight`.
fn on_frame<'a, C: Consumer>(
    frame: Option<Result<Message, WsError>>,
    app: &'a App<C>,
    connection: &'a Connection,
    in_flight: &mut FuturesUnordered<Pending<'a>>,
) -> Result<Read, End> {
    let message = match frame {
        None => return Err(End::Lost),
        Some(Ok(message)) => message,
        Some(Err(WsError::Capacity(_))) => return Err(End::Close(code::TOO_BIG, "message too big")),
        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => return Err(End::Lost),
        Some(Err(WsError::Protocol(_) | WsError::Utf8(_))) => {
            return Err(End::Close(code::PROTOCOL_ERROR, "protocol error"))
        }
        Some(Err(_)) => return Err(End::Lost),
    };
    // A pending answer borrows the frame; the call then runs in a future that
    // owns the frame (nothing has run yet: the message is parsed again).
    if let Message::Text(text) = &message {
        app.dispatcher().middleware().message_in(connection, text.as_bytes());
    } else if let Message::Binary(bytes) = &message {
        app.dispatcher().middleware().message_in(connection, bytes);
    }
    let answer = match message {
        // tungstenite has checked that a text frame is UTF-8: not again.
        Message::Text(text) => match answered(app.start_text(connection, &text)) {
            Some(reply) => unless_a_response(reply, connection, &text),
            None => {
                in_flight.push(Box::pin(async move { app.handle_text(connection, &text).await }));
                None
            }
        },
        Message::Binary(bytes) => match answered(app.start(connection, &bytes)) {
            Some(reply) => match std::str::from_utf8(&bytes) {
                Ok(text) => unless_a_response(reply, connection, text),
                Err(_) => reply,
            },
            None => {
                in_flight.push(Box::pin(async move { app.handle(connection, &bytes).await }));
                None
            }
        },
        Message::Ping(_) => return Ok(Read::PingDue),
        Message::Pong(_) | Message::Frame(_) => return Ok(Read::Nothing),
        Message::Close(frame) => {
            return Err(End::PeerClosed(frame.map_or(code::NO_STATUS, |f| u16::from(f.code))));
        }
    };
    Ok(answer.map_or(Read::Nothing, Read::Reply))
}

/// The reply to a message, unless the message is the client's response to a
/// call of the server's (`call_client`): a response has no `method`, so it is
/// answered at once with -32600, and only then is it told apart from a bad
/// request. It goes to its call, or is ignored if no call waits for its id
/// (late, repeated, unknown); either way nothing is sent back. Requests never
/// take this path.
fn unless_a_response(reply: Option<Reply>, connection: &Connection, text: &str) -> Option<Reply> {
    match reply {
        Some(reply) if reply.error_code() == Some(INVALID_REQUEST) && !reply.is_batch() => {
            match connection.handle().map(|handle| handle.deliver_response(text)) {
                Some(Delivery::Delivered | Delivery::Unmatched) => None,
                Some(Delivery::NotAResponse) | None => Some(reply),
            }
        }
        other => other,
    }
}

/// The error code of a message that is not a request.
const INVALID_REQUEST: i64 = -32600;

/// The reply of an answer given at once; `None` for a pending one, dropped
/// before it ran.
fn answered(answer: Answer<'_>) -> Option<Option<Reply>> {
    match answer {
        Answer::Ready(reply) => Some(reply),
        Answer::Pending(_) => None,
    }
}

async fn next_envelope(inbox: &mut Option<Inbox>) -> Option<Arc<Envelope>> {
    match inbox {
        Some(inbox) => inbox.messages.recv().await,
        None => std::future::pending().await,
    }
}

/// A layer message: an `rpc.notification` becomes a text message of the
/// envelope's shared bytes (every member sends the same bytes, none copies
/// them); any other type goes to the consumer's `on_message` hook, run beside
/// the calls.
fn on_envelope<'a, C: Consumer>(
    envelope: Arc<Envelope>,
    consumer: &'a C,
    connection: &'a Connection,
    in_flight: &mut FuturesUnordered<Pending<'a>>,
) -> Option<Utf8Bytes> {
    // The bytes' UTF-8 is checked once per send, by the first member.
    let text = |envelope: &Envelope| Utf8Bytes::try_from(envelope.notification_bytes()?.clone()).ok();
    if let Some(text) = envelope.transport_form(text) {
        return Some(text.clone());
    }
    if let Some(text) = text(&envelope) {
        return Some(text);
    }
    in_flight.push(Box::pin(async move {
        consumer.on_message(envelope.message(), connection).await;
        None
    }));
    None
}

/// On shutdown: stop reading, let running calls finish (within the shutdown
/// timeout), send their replies, then close with 1001.
async fn drain<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    in_flight: &mut FuturesUnordered<Pending<'_>>,
    config: &ServerConfig,
    events: Events<'_>,
) -> End {
    let finish = async {
        let mut out = Round::new(config.write_timeout(), events);
        while let Some(reply) = in_flight.next().await {
            if let Some(reply) = reply {
                out.text(socket, reply.into_text()).await?;
            }
        }
        out.flush(socket).await
    };
    match tokio::time::timeout(config.shutdown_timeout(), finish).await {
        Ok(Ok(())) => End::Close(code::GOING_AWAY, "server shutting down"),
        _ => End::Lost,
    }
}
