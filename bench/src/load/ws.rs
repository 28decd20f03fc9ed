//! The WebSocket side of the load generator (tokio-tungstenite clients): the
//! pipelined call loop behind `ws_ping`, `ws_latency` and `ws_echo_16k`, and
//! the idle connections of `ws_idle`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::check::{self, Call};
use super::Shared;

/// A client WebSocket.
pub type Socket = WebSocketStream<TcpStream>;

/// Opens a WebSocket to `ws://addr/ws/`. The client's read buffer is small:
/// tungstenite zero-fills its free capacity before each read, and the
/// default 128 KiB would make the generator pay a 128 KiB memset per read
/// (see the baseline's `READ_BUFFER_SIZE`).
pub async fn connect(addr: SocketAddr) -> Result<Socket, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let config = WebSocketConfig::default().read_buffer_size(crate::servers::READ_BUFFER_SIZE);
    let (socket, _) = tokio_tungstenite::client_async_with_config(format!("ws://{addr}/ws/"), stream, Some(config))
        .await
        .map_err(|e| format!("WebSocket handshake: {e}"))?;
    Ok(socket)
}

/// The request `id` of `call` as a text message.
fn request(call: &Call, id: u64) -> Message {
    let mut out = Vec::with_capacity(96);
    call.write_request(id, &mut out);
    // SAFETY: `write_request` writes ASCII only (digits, ASCII letters, JSON punctuation).
    Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(Bytes::from(out)) })
}

/// Handles one message: validates an answer against the calls `pending`,
/// removes it. Returns whether it answered a call (control frames do not).
fn on_message(
    message: &Message,
    call: &Call,
    pending: &mut Vec<(u64, Instant)>,
    shared: &Shared,
    latencies: &mut Vec<u64>,
) -> Result<bool, String> {
    let data: &[u8] = match message {
        Message::Text(text) => text.as_bytes(),
        Message::Binary(bytes) => bytes,
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Ok(false),
        Message::Close(frame) => return Err(format!("server closed the WebSocket: {frame:?}")),
    };
    let fields = check::response(data, shared.strict)?;
    let id = fields.id()?;
    let at = pending
        .iter()
        .position(|(p, _)| *p == id)
        .ok_or_else(|| format!("answer to unknown id {id}"))?;
    let (_, sent) = pending.swap_remove(at);
    call.check(id, &fields)?;
    shared.answered(1, sent, latencies);
    Ok(true)
}

/// One connection keeping `in_flight` calls of `call` outstanding until told
/// to stop, then waiting for the last answers. Every answer is validated;
/// the first error ends the connection. Returns the latencies measured.
pub async fn call_loop(addr: SocketAddr, call: Call, in_flight: usize, shared: Arc<Shared>) -> Vec<u64> {
    let mut latencies = Vec::new();
    let mut socket = match connect(addr).await {
        Ok(socket) => socket,
        Err(e) => {
            shared.error(e);
            return latencies;
        }
    };
    if let Err(e) = pipeline(&mut socket, &call, in_flight, &shared, &mut latencies).await {
        shared.error(e);
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
    latencies
}

async fn pipeline(
    socket: &mut Socket,
    call: &Call,
    in_flight: usize,
    shared: &Shared,
    latencies: &mut Vec<u64>,
) -> Result<(), String> {
    let mut pending: Vec<(u64, Instant)> = Vec::with_capacity(in_flight);
    let mut next_id = 0u64;
    for _ in 0..in_flight {
        next_id += 1;
        socket
            .feed(request(call, next_id))
            .await
            .map_err(|e| format!("send: {e}"))?;
        pending.push((next_id, Instant::now()));
    }
    socket.flush().await.map_err(|e| format!("send: {e}"))?;
    while !pending.is_empty() {
        let mut next = socket.next().await;
        // Handle this answer and every other one already read, then flush
        // the new calls in one write.
        loop {
            let message = match next {
                Some(Ok(message)) => message,
                Some(Err(e)) => return Err(format!("receive: {e}")),
                None => return Err("server closed the connection".to_owned()),
            };
            if on_message(&message, call, &mut pending, shared, latencies)? && !shared.stopping() {
                next_id += 1;
                socket
                    .feed(request(call, next_id))
                    .await
                    .map_err(|e| format!("send: {e}"))?;
                pending.push((next_id, Instant::now()));
            }
            match socket.next().now_or_never() {
                Some(more) => next = more,
                None => break,
            }
        }
        socket.flush().await.map_err(|e| format!("send: {e}"))?;
    }
    Ok(())
}

/// Sends one `ping` on an open connection and validates its answer.
pub async fn ping_once(socket: &mut Socket, id: u64, shared: &Shared) -> Result<(), String> {
    socket
        .send(request(&Call::Ping, id))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut pending = vec![(id, Instant::now())];
    let mut ignored = Vec::new();
    while !pending.is_empty() {
        let message = match socket.next().await {
            Some(Ok(message)) => message,
            Some(Err(e)) => return Err(format!("receive: {e}")),
            None => return Err("server closed the connection".to_owned()),
        };
        on_message(&message, &Call::Ping, &mut pending, shared, &mut ignored)?;
    }
    Ok(())
}
