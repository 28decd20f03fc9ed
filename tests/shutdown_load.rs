//! Graceful shutdown under load, over real sockets: 32 WebSocket connections
//! (tokio-tungstenite) pipeline calls, up to [`WS_WINDOW`] unanswered each,
//! and 32 HTTP/1.1 keep-alive connections send calls (16 with hyper's client,
//! back to back; 16 pipelining [`HTTP_WINDOW`] requests ahead on raw
//! sockets), when the server shuts down mid-stream.
//!
//! **What "fully received before the shutdown began" means here.** A request
//! is *received* once the server has parsed it and handed it to its method:
//! every method of this file records its tag (the request's id) as its first
//! step. Bytes that were still in the kernel's socket buffer, or in the
//! transport's read buffer unparsed (tungstenite's, or the pipelined rest of
//! hyper's), when the shutdown began are not received: the server never
//! started them and owes them nothing. It does owe an answer to every request
//! it received, including those it received while it stopped (in the same
//! read as the last ones): so the test checks that **every tag a method
//! recorded has its response at the client**, and no recorded call is lost,
//! whether it was still running (the `slow` calls: a few ms each) or answered
//! at once (`quick`).
//!
//! Then each WebSocket ends with a close frame of code 1001 after its last
//! response (tungstenite yields nothing after a close frame), and each HTTP
//! connection is closed by the server after its last response (nothing
//! follows a response that says `connection: close`): a request the server
//! did not receive fails as "connection closed", never as a response cut
//! short (that would be a recorded tag without its response).
//!
//! No sleeps synchronize anything: the shutdown starts once the methods have
//! recorded [`BEFORE_SHUTDOWN`] calls with slow calls of both transports
//! running, and every wait is bounded by a timeout.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use channels_rpc::{rpc_method, rpc_notification, Consumer, Server, ServerConfig, ServerHandle};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// Serves this file's methods only.
#[derive(Consumer, Default)]
struct Loaded;

/// WebSocket connections, and HTTP connections.
const WS_CONNECTIONS: usize = 32;
const HTTP_CONNECTIONS: usize = 32;
/// Unanswered calls a WebSocket client keeps in flight.
const WS_WINDOW: usize = 32;
/// Requests a pipelining HTTP client writes ahead of their responses.
const HTTP_WINDOW: usize = 8;
/// Calls the methods must have recorded before the shutdown starts.
const BEFORE_SHUTDOWN: usize = 3000;
/// How long a `slow` call runs.
const SLOW_MS: u64 = 15;
/// The bound on each phase of the test.
const LIMIT: Duration = Duration::from_secs(8);

/// What the server's methods saw.
struct Record {
    /// The tag of every call a method started.
    started: Mutex<BTreeSet<String>>,
    /// `slow` calls running now, by transport (WebSocket, HTTP).
    running: [AtomicUsize; 2],
    /// `slow` calls that finished after the shutdown began, by transport.
    finished_late: [AtomicUsize; 2],
    shutting_down: AtomicBool,
    /// Wakes the test once enough calls ran and slow ones are running.
    ready: Notify,
}

static RECORD: Record = Record {
    started: Mutex::new(BTreeSet::new()),
    running: [AtomicUsize::new(0), AtomicUsize::new(0)],
    finished_late: [AtomicUsize::new(0), AtomicUsize::new(0)],
    shutting_down: AtomicBool::new(false),
    ready: Notify::const_new(),
};

/// 0 for a WebSocket client's tag (`ws…`), 1 for an HTTP one's.
fn transport_of(tag: &str) -> usize {
    usize::from(!tag.starts_with("ws"))
}

fn start_call(tag: &str) {
    let started = {
        let mut started = RECORD.started.lock().unwrap();
        assert!(started.insert(tag.to_owned()), "{tag} started twice");
        started.len()
    };
    let both_running = RECORD.running.iter().all(|r| r.load(Ordering::SeqCst) > 0);
    if started >= BEFORE_SHUTDOWN && both_running {
        RECORD.ready.notify_one();
    }
}

/// Answers at once.
#[rpc_method(consumer = Loaded)]
fn quick(tag: String) -> String {
    start_call(&tag);
    tag
}

/// Runs [`SLOW_MS`] before it answers: in flight when the shutdown begins.
#[rpc_method(consumer = Loaded)]
async fn slow(tag: String) -> String {
    let transport = transport_of(&tag);
    RECORD.running[transport].fetch_add(1, Ordering::SeqCst);
    start_call(&tag);
    tokio::time::sleep(Duration::from_millis(SLOW_MS)).await;
    RECORD.running[transport].fetch_sub(1, Ordering::SeqCst);
    if RECORD.shutting_down.load(Ordering::SeqCst) {
        RECORD.finished_late[transport].fetch_add(1, Ordering::SeqCst);
    }
    tag
}

/// `remember` notifications that ran to their end.
static REMEMBERED: AtomicUsize = AtomicUsize::new(0);
static REMEMBERED_ONE: Notify = Notify::const_new();

/// Runs [`SLOW_MS`], then counts itself.
#[rpc_notification(consumer = Loaded)]
async fn remember() {
    tokio::time::sleep(Duration::from_millis(SLOW_MS)).await;
    REMEMBERED.fetch_add(1, Ordering::SeqCst);
    REMEMBERED_ONE.notify_one();
}

/// Call `seq` of a client: every other one slow.
fn request(tag: &str, seq: usize) -> String {
    let method = if seq.is_multiple_of(2) { "slow" } else { "quick" };
    json!({"jsonrpc": "2.0", "method": method, "params": [tag], "id": tag}).to_string()
}

/// Checks one response and returns its tag.
fn answered_tag(text: &[u8]) -> String {
    let reply: Value = serde_json::from_slice(text).expect("a response is JSON");
    let tag = reply["id"].as_str().unwrap_or_else(|| panic!("no id in {reply}"));
    assert_eq!(reply["result"], tag, "{reply}");
    tag.to_owned()
}

/// How a WebSocket client's connection went.
struct WsOutcome {
    answered: Vec<String>,
    close: Option<CloseCode>,
}

/// Pipelines calls on a new WebSocket until the server closes it.
async fn websocket_client(addr: SocketAddr, client: usize) -> WsOutcome {
    let url = format!("ws://{addr}/ws/");
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("handshake");
    let (mut sink, mut stream) = socket.split();
    let window = Arc::new(Semaphore::new(WS_WINDOW));
    let writer = {
        let window = window.clone();
        tokio::spawn(async move {
            for seq in 0.. {
                let Ok(permit) = window.acquire().await else { return };
                permit.forget();
                let tag = format!("ws{client}-{seq}");
                if sink.send(Message::text(request(&tag, seq))).await.is_err() {
                    return;
                }
            }
        })
    };
    let mut answered = Vec::new();
    let close = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => {
                answered.push(answered_tag(text.as_bytes()));
                window.add_permits(1);
            }
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("ws{client}: {other:?} before a close frame"),
        }
    };
    // The close frame comes last: nothing follows it.
    assert!(
        matches!(stream.next().await, None | Some(Err(_))),
        "ws{client}: a message after the close frame"
    );
    window.close();
    writer.await.unwrap();
    WsOutcome { answered, close }
}

/// One complete response at the start of `buf`: its length, its body's tag,
/// and whether it says `connection: close` (then it must be the last);
/// `None` if incomplete.
fn parse_response(buf: &[u8]) -> Option<(usize, String, bool)> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head) = response.parse(buf).expect("a valid response head") else {
        return None;
    };
    assert_eq!(response.code, Some(200), "{}", String::from_utf8_lossy(buf));
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| std::str::from_utf8(h.value).unwrap().to_owned())
    };
    let length: usize = header("content-length").expect("a content-length").parse().unwrap();
    let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let body = buf.get(head..head + length)?;
    Some((head + length, answered_tag(body), close))
}

/// Pipelines calls on one raw HTTP/1.1 connection (hyper's client does not
/// pipeline): writes up to [`HTTP_WINDOW`] requests ahead of their
/// responses, reads the responses in order, until the server closes it.
async fn pipelining_client(addr: SocketAddr, client: usize) -> Vec<String> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let window = Arc::new(Semaphore::new(HTTP_WINDOW));
    let requests = {
        let window = window.clone();
        tokio::spawn(async move {
            for seq in 0.. {
                let Ok(permit) = window.acquire().await else { return };
                permit.forget();
                let body = request(&format!("pipe{client}-{seq}"), seq);
                let head = format!(
                    "POST /rpc/ HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                // A write fails once the server has closed: it is done.
                if writer.write_all(format!("{head}{body}").as_bytes()).await.is_err() {
                    return;
                }
            }
        })
    };
    let mut answered = Vec::new();
    let mut buf = Vec::new();
    let mut told_to_close = false;
    loop {
        if let Some((length, tag, close)) = parse_response(&buf) {
            assert!(
                !told_to_close,
                "pipe{client}: {tag} answered after a `connection: close`"
            );
            buf.drain(..length);
            answered.push(tag);
            told_to_close = close;
            window.add_permits(1);
            continue;
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => panic!("pipe{client}: {e} after {} responses", answered.len()),
        }
    }
    assert!(
        buf.is_empty(),
        "pipe{client}: the connection closed in a response: {:?}",
        String::from_utf8_lossy(&buf)
    );
    window.close();
    requests.await.unwrap();
    answered
}

/// Sends calls back to back on one HTTP/1.1 keep-alive connection until
/// the server closes it; the tags answered.
async fn http_client(addr: SocketAddr, client: usize) -> Vec<String> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP/1.1 handshake");
    let connection = tokio::spawn(connection);
    let uri = format!("http://{addr}/rpc/");
    let mut answered = Vec::new();
    for seq in 0.. {
        if sender.ready().await.is_err() {
            break;
        }
        let tag = format!("http{client}-{seq}");
        let req = http::Request::post(&uri)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(request(&tag, seq))))
            .unwrap();
        let response = match sender.send_request(req).await {
            Ok(response) => response,
            // Closed before the request was read: the server owes it nothing.
            Err(e) => {
                assert!(!RECORD.started.lock().unwrap().contains(&tag), "{tag}: {e}");
                break;
            }
        };
        assert_eq!(response.status(), 200, "{tag}");
        let body = response.into_body().collect().await.expect("a whole body").to_bytes();
        answered.push(answered_tag(&body));
    }
    // The server, not an error, ended the connection.
    connection.await.unwrap().expect("the connection closes cleanly");
    answered
}

/// Runs `future` within [`LIMIT`].
async fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took over {LIMIT:?}"))
}

/// This file's methods at /ws/ and /rpc/, with a 5 s shutdown timeout.
async fn start() -> ServerHandle {
    let config = ServerConfig::builder()
        .shutdown_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    Server::bind("127.0.0.1:0")
        .config(config)
        .websocket("/ws/", Loaded::app())
        .http("/rpc/", Loaded::app())
        .listen()
        .await
        .expect("bind 127.0.0.1:0")
        .spawn()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_under_load_answers_every_received_call() {
    let server = start().await;
    let addr = server.local_addr();
    let stats = server.stats();
    let websockets: Vec<_> = (0..WS_CONNECTIONS)
        .map(|client| tokio::spawn(websocket_client(addr, client)))
        .collect();
    // Half the HTTP connections pipeline, half send back to back.
    let https: Vec<_> = (0..HTTP_CONNECTIONS)
        .map(|client| match client % 2 {
            0 => tokio::spawn(pipelining_client(addr, client)),
            _ => tokio::spawn(http_client(addr, client)),
        })
        .collect();

    bounded("the first calls", RECORD.ready.notified()).await;
    RECORD.shutting_down.store(true, Ordering::SeqCst);
    bounded("the shutdown", server.shutdown()).await.unwrap();
    assert_eq!(
        (stats.connections(), stats.websockets()),
        (0, 0),
        "connections left open after the shutdown"
    );

    let mut answered = BTreeSet::new();
    for (client, websocket) in websockets.into_iter().enumerate() {
        let outcome = bounded("a WebSocket client", websocket).await.unwrap();
        assert_eq!(outcome.close, Some(CloseCode::Away), "ws{client}'s close code");
        assert!(!outcome.answered.is_empty(), "ws{client} got no answer");
        answered.extend(outcome.answered);
    }
    for (client, http) in https.into_iter().enumerate() {
        let tags = bounded("an HTTP client", http).await.unwrap();
        assert!(!tags.is_empty(), "http client {client} got no answer");
        answered.extend(tags);
    }

    let started = RECORD.started.lock().unwrap();
    let lost: Vec<_> = started.difference(&answered).collect();
    assert!(
        lost.is_empty(),
        "{} of {} received calls got no response: {lost:?}",
        lost.len(),
        started.len()
    );
    let unknown: Vec<_> = answered.difference(&started).collect();
    assert!(unknown.is_empty(), "answers to calls never started: {unknown:?}");
    // The shutdown really came mid-stream: calls were running when it began.
    let late = RECORD.finished_late.each_ref().map(|n| n.load(Ordering::SeqCst));
    assert!(
        late.iter().all(|&n| n > 0),
        "slow calls finished after the shutdown began (ws, http): {late:?}"
    );
}

/// The other way round: the peer closes. The notifications it sent just
/// before its close frame still run to their end (their handlers are async
/// and take a few ms, so they are running when the close arrives), and the
/// close handshake completes.
#[tokio::test]
async fn a_peer_closing_lets_the_notifications_it_sent_run() {
    const SENT: usize = 3;
    let server = start().await;
    let url = format!("ws://{}/ws/", server.local_addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("handshake");
    let notification = json!({"jsonrpc": "2.0", "method": "remember"}).to_string();
    for _ in 0..SENT {
        socket.feed(Message::text(notification.clone())).await.unwrap();
    }
    socket.close(None).await.unwrap();
    let reply = bounded("the close reply", socket.next()).await;
    assert!(matches!(reply, Some(Ok(Message::Close(_)))), "{reply:?}");
    bounded("the notifications", async {
        while REMEMBERED.load(Ordering::SeqCst) < SENT {
            REMEMBERED_ONE.notified().await;
        }
    })
    .await;
    bounded("the shutdown", server.shutdown()).await.unwrap();
}
