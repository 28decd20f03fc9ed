//! The clients of the soak test, each a task holding one WebSocket at a time:
//!
//! - a **caller** makes one well-formed call every interval (`soak.echo`, or
//!   `soak.sleep` to have calls in flight) and checks its answer: id and
//!   result; an answer missing after [`ANSWER_TIMEOUT`] is an error;
//! - a **slow reader** asks for [`SLOW_READER_BACKLOG`] of replies, never
//!   reads one (its receive buffer is 4 KiB), and keeps sending; the
//!   server's write timeout must cut it off, and then it connects again;
//! - a **garbage sender** sends malformed JSON and invalid requests and checks
//!   each spec error, then an oversized frame, which must close the
//!   connection 1009; then it connects again;
//! - a **churner** connects, makes one call, closes (1000), and again.
//!
//! Every client stops at the stop flag and closes its connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::soak_server::{MAX_BLOB, MAX_MESSAGE};

/// A call's answer must come within this.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The replies a slow reader asks for and never reads: far more than the
/// kernel's buffers hold (8 MiB: a loopback send buffer grows to 4 MiB),
/// so the server's writes must stall.
pub const SLOW_READER_BACKLOG: usize = 256 * MAX_BLOB;

/// How a client's share of the connections behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Well-formed calls, every answer checked.
    Caller,
    /// Sends, never reads.
    SlowReader,
    /// Malformed and oversized messages.
    Garbage,
    /// Connect, one call, close, again.
    Churner,
}

/// What the clients did, counted as they go.
#[derive(Debug, Default)]
pub struct Tally {
    /// Well-formed calls sent (callers and churners).
    pub calls_sent: AtomicU64,
    /// Of those, answered with the right id and result.
    pub calls_answered: AtomicU64,
    /// Connections opened (every role, reconnections included).
    pub connects: AtomicU64,
    /// Connections whose handshake failed.
    pub connect_failures: AtomicU64,
    /// Slow readers the server cut off.
    pub slow_cut_off: AtomicU64,
    /// Garbage messages answered with the right spec error.
    pub garbage_answered: AtomicU64,
    /// Oversized frames answered by a close 1009.
    pub closed_1009: AtomicU64,
    /// Oversized frames after which the connection was reset before the
    /// close frame was read (the server closes with the frame's rest unread).
    pub reset_after_oversized: AtomicU64,
    /// Wrong answers, missing answers, unexpected closes.
    pub errors: AtomicU64,
    messages: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Tally {
    /// Tells every client to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn error(&self, message: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        if messages.len() < 10 {
            messages.push(message);
        }
    }

    /// The first few error messages.
    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sleeps `pause`, or less if the clients are told to stop meanwhile.
    async fn pause(&self, pause: Duration) {
        let until = Instant::now() + pause;
        while !self.stopping() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(200).min(until - Instant::now())).await;
        }
    }
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

type Socket = WebSocketStream<TcpStream>;

/// Opens a WebSocket to `addr`'s `/ws/`; `receive_buffer` sets the socket's
/// receive buffer (a slow reader's is small, so that it holds little).
async fn connect(addr: SocketAddr, receive_buffer: Option<u32>, tally: &Tally) -> Option<Socket> {
    let opened = async {
        let socket = TcpSocket::new_v4()?;
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        let config = WebSocketConfig::default().read_buffer_size(4096);
        tokio_tungstenite::client_async_with_config(format!("ws://{addr}/ws/"), stream, Some(config))
            .await
            .map_err(std::io::Error::other)
    };
    match tokio::time::timeout(ANSWER_TIMEOUT, opened).await {
        Ok(Ok((socket, _))) => {
            count(&tally.connects);
            Some(socket)
        }
        Ok(Err(e)) => {
            count(&tally.connect_failures);
            tally.error(format!("connect: {e}"));
            None
        }
        Err(_) => {
            count(&tally.connect_failures);
            tally.error("connect: timed out".to_owned());
            None
        }
    }
}

/// The next text message, skipping pings and pongs; an error for anything else.
async fn next_text(socket: &mut Socket) -> Result<Value, String> {
    loop {
        let message = tokio::time::timeout(ANSWER_TIMEOUT, socket.next())
            .await
            .map_err(|_| format!("no answer within {ANSWER_TIMEOUT:?}"))?;
        match message {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).map_err(|e| format!("answer not JSON: {e}"));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => return Err(format!("unexpected {other:?}")),
            Some(Err(e)) => return Err(format!("receive: {e}")),
            None => return Err("the server closed the connection".to_owned()),
        }
    }
}

/// Call `n` of a client: every fourth one sleeps 20 ms on the server.
fn well_formed(n: u64) -> (String, Value) {
    let request = if n.is_multiple_of(4) {
        json!({"jsonrpc": "2.0", "method": "soak.sleep", "params": [20, n], "id": n})
    } else {
        json!({"jsonrpc": "2.0", "method": "soak.echo", "params": [n], "id": n})
    };
    (request.to_string(), json!(n))
}

/// Makes call `n` and checks its answer.
async fn call(socket: &mut Socket, n: u64, tally: &Tally) -> Result<(), String> {
    let (request, expected) = well_formed(n);
    count(&tally.calls_sent);
    socket
        .send(Message::text(request))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let reply = next_text(socket).await.map_err(|e| format!("call {n}: {e}"))?;
    if reply["id"] != json!(n) || reply["result"] != expected {
        return Err(format!("call {n}: wrong answer {reply}"));
    }
    count(&tally.calls_answered);
    Ok(())
}

/// Closes with 1000 and reads to the end, within a bound.
async fn close(mut socket: Socket) {
    let closing = async {
        let _ = socket.close(None).await;
        while let Some(Ok(_)) = socket.next().await {}
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), closing).await;
}

/// Runs one client of `role` until the stop flag. `start` staggers its
/// first connection, `interval` paces its calls or reconnections; `id`
/// makes its call numbers its own.
pub async fn run(role: Role, addr: SocketAddr, id: u64, start: Duration, interval: Duration, tally: &Tally) {
    tally.pause(start).await;
    match role {
        Role::Caller => caller(addr, id, interval, tally).await,
        Role::SlowReader => slow_reader(addr, interval, tally).await,
        Role::Garbage => garbage(addr, interval, tally).await,
        Role::Churner => churner(addr, id, interval, tally).await,
    }
}

async fn caller(addr: SocketAddr, id: u64, interval: Duration, tally: &Tally) {
    let Some(mut socket) = connect(addr, None, tally).await else {
        return;
    };
    let mut n = id << 32;
    while !tally.stopping() {
        n += 1;
        if let Err(e) = call(&mut socket, n, tally).await {
            tally.error(e);
            return;
        }
        tally.pause(interval).await;
    }
    close(socket).await;
}

async fn churner(addr: SocketAddr, id: u64, interval: Duration, tally: &Tally) {
    let mut n = id << 32;
    while !tally.stopping() {
        let Some(mut socket) = connect(addr, None, tally).await else {
            return;
        };
        n += 1;
        if let Err(e) = call(&mut socket, n, tally).await {
            tally.error(e);
            return;
        }
        close(socket).await;
        tally.pause(interval).await;
    }
}

/// Asks for more than the kernel buffers hold, never reads, and sends a small
/// call every `interval` until a send fails: the server has dropped it.
async fn slow_reader(addr: SocketAddr, interval: Duration, tally: &Tally) {
    let blobs = SLOW_READER_BACKLOG / MAX_BLOB;
    while !tally.stopping() {
        let Some(mut socket) = connect(addr, Some(4096), tally).await else {
            return;
        };
        let opened = Instant::now();
        let mut cut_off = false;
        for n in 0..blobs {
            let request = json!({"jsonrpc": "2.0", "method": "soak.blob", "params": [MAX_BLOB], "id": n});
            if socket.feed(Message::text(request.to_string())).await.is_err() {
                cut_off = true;
                break;
            }
        }
        cut_off = cut_off || socket.flush().await.is_err();
        while !cut_off && !tally.stopping() {
            tally.pause(interval).await;
            let (request, _) = well_formed(0);
            let sent = tokio::time::timeout(ANSWER_TIMEOUT, socket.send(Message::text(request))).await;
            cut_off = !matches!(sent, Ok(Ok(())));
        }
        if cut_off {
            count(&tally.slow_cut_off);
            if opened.elapsed() < Duration::from_secs(1) {
                tally.error(format!("a slow reader was cut off after {:?}", opened.elapsed()));
            }
        }
        // Dropped unread: the client side of a reader that never reads.
        drop(socket);
    }
}

/// The garbage a garbage sender sends, each with the error code it must get.
const GARBAGE: [(&str, i64); 6] = [
    (r#"{"jsonrpc":"2.0","method":"soak.echo","params":[1],"id":"#, -32700),
    ("not json at all", -32700),
    (r#"{"jsonrpc":"2.0","params":[1],"id":7}"#, -32600),
    ("[]", -32600),
    (r#"{"jsonrpc":"2.0","method":"soak.nope","id":8}"#, -32601),
    (
        r#"{"jsonrpc":"2.0","method":"soak.echo","params":["one"],"id":9}"#,
        -32602,
    ),
];

async fn garbage(addr: SocketAddr, interval: Duration, tally: &Tally) {
    let oversized = "x".repeat(2 * MAX_MESSAGE);
    while !tally.stopping() {
        let Some(mut socket) = connect(addr, None, tally).await else {
            return;
        };
        for (text, code) in GARBAGE {
            if let Err(e) = spec_error(&mut socket, text, code).await {
                tally.error(format!("garbage {text:?}: {e}"));
                return;
            }
            count(&tally.garbage_answered);
            if tally.stopping() {
                return close(socket).await;
            }
        }
        match oversized_closes(&mut socket, &oversized).await {
            Ok(true) => count(&tally.closed_1009),
            Ok(false) => count(&tally.reset_after_oversized),
            Err(e) => tally.error(format!("oversized frame: {e}")),
        }
        tally.pause(interval).await;
    }
}

/// Sends `text` and checks that the answer is error `code` (with a null id
/// for a parse error).
async fn spec_error(socket: &mut Socket, text: &str, code: i64) -> Result<(), String> {
    socket
        .send(Message::text(text.to_owned()))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let reply = next_text(socket).await?;
    let code_ok = reply["error"]["code"] == json!(code);
    let id_ok = code != -32700 || reply["id"].is_null();
    if code_ok && id_ok {
        Ok(())
    } else {
        Err(format!("answered {reply}, expected error {code}"))
    }
}

/// Sends a frame past the server's limit: `Ok(true)` if a close 1009 came
/// back, `Ok(false)` if the connection was reset before it could be read.
async fn oversized_closes(socket: &mut Socket, oversized: &str) -> Result<bool, String> {
    // The server may close before the whole frame is written.
    let _ = socket.send(Message::text(oversized.to_owned())).await;
    loop {
        let message = tokio::time::timeout(ANSWER_TIMEOUT, socket.next())
            .await
            .map_err(|_| "no close within the time limit".to_owned())?;
        match message {
            Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::Size => return Ok(true),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => return Err(format!("got {other:?}, not a close 1009")),
            Some(Err(_)) | None => return Ok(false),
        }
    }
}
