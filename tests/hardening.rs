//! Safe by default, over real sockets: header-read and keep-alive timeouts on
//! both HTTP paths (h2c sniffing and HTTP/1.1 only), the connection cap, the
//! WebSocket origin check. Timeouts are configured short (hundreds of
//! milliseconds); every wait is bounded.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use channels_rpc::{Consumer, ConsumerHooks, Reject, Scope, Server, ServerConfig, ServerHandle};
use common::ws::{call, connect_to};
use common::Everyone;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const HEADER_READ: Duration = Duration::from_millis(400);
const KEEP_ALIVE: Duration = Duration::from_millis(400);
/// The watchdog closes between the timeout and a quarter more; this leaves
/// room for a loaded machine without letting a missing timeout pass.
const SLACK: Duration = Duration::from_millis(1500);
const PING: &str = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;

/// Every connect hook that ran, by the connection's `x-test` tag.
static CONNECTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records that its connect hook ran.
#[derive(Consumer, Default)]
#[consumer(hooks)]
struct Guarded;

impl ConsumerHooks for Guarded {
    async fn connect(&self, scope: &mut Scope) -> Result<(), Reject> {
        let tag = scope.header("x-test").unwrap_or("untagged").to_owned();
        CONNECTED.lock().unwrap().push(tag);
        Ok(())
    }
}

fn connected(tag: &str) -> bool {
    CONNECTED.lock().unwrap().iter().any(|t| t == tag)
}

async fn start(config: ServerConfig) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .config(config)
        .http("/rpc/", Everyone::app())
        .websocket("/ws/", Everyone::app())
        .websocket("/guarded/", Guarded::app())
        .listen()
        .await
        .expect("bind 127.0.0.1:0")
        .spawn()
}

fn timeouts(h2c: bool) -> ServerConfig {
    ServerConfig::builder()
        .h2c(h2c)
        .header_read_timeout(HEADER_READ)
        .keep_alive_timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Sends `chunks` one every `every` until the server closes the connection;
/// the time from the connection to the close, and what was read.
async fn trickle(server: &ServerHandle, chunks: &[&[u8]], every: Duration) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut socket = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut read = Vec::new();
    let mut buf = [0u8; 1024];
    let mut chunks = chunks.iter().cycle();
    let deadline = started + Duration::from_secs(10);
    loop {
        tokio::select! {
            n = socket.read(&mut buf) => match n {
                Ok(0) | Err(_) => return (started.elapsed(), read),
                Ok(n) => read.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(every) => {
                // A write may fail once the server has closed: the read says so next.
                let _ = socket.write_all(chunks.next().unwrap()).await;
            }
            () = tokio::time::sleep_until(deadline.into()) => panic!("the connection is still open after 10 s"),
        }
    }
}

fn assert_cut_off_by_header_timeout(elapsed: Duration, read: &[u8], what: &str) {
    assert!(
        elapsed >= HEADER_READ,
        "{what}: closed after {elapsed:?}, before the timeout"
    );
    assert!(
        elapsed < HEADER_READ + SLACK,
        "{what}: closed after {elapsed:?}, long past the timeout"
    );
    assert!(
        !String::from_utf8_lossy(read).contains("HTTP/1.1 200"),
        "{what}: was answered"
    );
}

/// One header line every 100 ms, forever: closed within the header timeout.
async fn slowloris_is_cut_off(h2c: bool) {
    let server = start(timeouts(h2c)).await;
    let (elapsed, read) = trickle(
        &server,
        &[b"POST /rpc/ HTTP/1.1\r\n", b"host: x\r\n", b"x-slow: 1\r\n"],
        Duration::from_millis(100),
    )
    .await;
    assert_cut_off_by_header_timeout(elapsed, &read, "slowloris");
    // The server goes on serving.
    let (_, answer) = http1_exchange(&server).await;
    assert!(answer.contains(r#""result":"pong""#), "{answer}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn slowloris_is_cut_off_on_the_h2c_path() {
    slowloris_is_cut_off(true).await;
}

#[tokio::test]
async fn slowloris_is_cut_off_on_http1_only() {
    slowloris_is_cut_off(false).await;
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_cut_off_on_both_paths() {
    for h2c in [true, false] {
        let server = start(timeouts(h2c)).await;
        let started = Instant::now();
        let mut socket = TcpStream::connect(server.local_addr()).await.unwrap();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
            .await
            .expect("closed within 10 s");
        assert!(matches!(read, Ok(0) | Err(_)), "h2c {h2c}: {read:?}");
        assert_cut_off_by_header_timeout(started.elapsed(), &[], &format!("silent client, h2c {h2c}"));
        until_connections(&server, 0).await;
        server.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_slowloris_client() {
    for h2c in [true, false] {
        let config = ServerConfig::builder()
            .h2c(h2c)
            .header_read_timeout(HEADER_READ)
            .shutdown_timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let server = start(config).await;
        let addr = server.local_addr();
        let client = tokio::spawn(async move {
            let mut socket = TcpStream::connect(addr).await.unwrap();
            socket.write_all(b"POST /rpc/ HTTP/1.1\r\n").await.unwrap();
            let mut buf = [0u8; 64];
            loop {
                tokio::select! {
                    n = socket.read(&mut buf) => if matches!(n, Ok(0) | Err(_)) { return },
                    () = tokio::time::sleep(Duration::from_millis(100)) => {
                        let _ = socket.write_all(b"x-slow: 1\r\n").await;
                    }
                }
            }
        });
        until_connections(&server, 1).await;
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), server.shutdown())
            .await
            .expect("shutdown waited for the slowloris client")
            .unwrap();
        assert!(
            started.elapsed() < HEADER_READ + SLACK,
            "h2c {h2c}: {:?}",
            started.elapsed()
        );
        tokio::time::timeout(Duration::from_secs(5), client)
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn a_trickled_h2_preface_is_cut_off_while_sniffing() {
    let server = start(timeouts(true)).await;
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let bytes: Vec<&[u8]> = preface.chunks(1).collect();
    // 2.4 s for the whole preface: only the watchdog closes it in time.
    let (elapsed, read) = trickle(&server, &bytes, Duration::from_millis(100)).await;
    assert_cut_off_by_header_timeout(elapsed, &read, "trickled preface");
    server.shutdown().await.unwrap();
}

/// One request on a fresh HTTP/1.1 connection: the stream, kept open, and the answer.
async fn http1_exchange(server: &ServerHandle) -> (TcpStream, String) {
    let mut socket = TcpStream::connect(server.local_addr()).await.unwrap();
    let request = format!(
        "POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{PING}",
        PING.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut answer))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    (socket, String::from_utf8_lossy(&answer[..n]).into_owned())
}

#[tokio::test]
async fn keep_alive_timeout_closes_idle_http1_connections() {
    for h2c in [true, false] {
        let config = ServerConfig::builder()
            .h2c(h2c)
            .header_read_timeout(Duration::from_secs(30))
            .keep_alive_timeout(KEEP_ALIVE)
            .build()
            .unwrap();
        let server = start(config).await;
        let (mut socket, answer) = http1_exchange(&server).await;
        assert!(answer.contains(r#""result":"pong""#), "{answer}");
        let idle = Instant::now();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
            .await
            .expect("closed within 10 s");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        let elapsed = idle.elapsed();
        assert!(elapsed >= KEEP_ALIVE, "h2c {h2c}: closed after {elapsed:?}");
        assert!(elapsed < KEEP_ALIVE + SLACK, "h2c {h2c}: closed after {elapsed:?}");
        server.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_request_in_progress_is_not_idle() {
    let config = ServerConfig::builder()
        .header_read_timeout(Duration::from_millis(200))
        .keep_alive_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let server = start(config).await;
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(format!("http://{}/rpc/", server.local_addr()))
        .body(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","method":"slow","params":[1000],"id":1}"#,
        )))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), client.request(request))
        .await
        .expect("an answer within 5 s")
        .expect("answered, not cut off");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, Bytes::from_static(br#"{"jsonrpc":"2.0","result":1000,"id":1}"#));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn keep_alive_timeout_closes_idle_h2_connections() {
    let config = ServerConfig::builder()
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive_timeout(KEEP_ALIVE)
        .build()
        .unwrap();
    let server = start(config).await;
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::post(format!("http://{}/rpc/", server.local_addr()))
        .body(Full::new(Bytes::from_static(PING.as_bytes())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, Bytes::from_static(br#"{"jsonrpc":"2.0","result":"pong","id":1}"#));
    let idle = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the server closed the idle h2 connection within 10 s")
        .unwrap()
        .ok();
    let elapsed = idle.elapsed();
    assert!(elapsed >= KEEP_ALIVE && elapsed < KEEP_ALIVE + SLACK, "{elapsed:?}");
    server.shutdown().await.unwrap();
}

/// True when the server closes `socket` without answering a request on it.
async fn refused(mut socket: TcpStream) -> bool {
    let request = format!(
        "POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{PING}",
        PING.len()
    );
    let _ = socket.write_all(request.as_bytes()).await;
    let mut buf = [0u8; 256];
    match tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) => false,
        Err(_) => panic!("neither answered nor closed within 5 s"),
    }
}

async fn until_connections(server: &ServerHandle, open: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.stats().connections() + server.stats().websockets() != open {
        assert!(Instant::now() < deadline, "{open} connections expected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn connections_past_the_cap_are_refused_until_one_closes() {
    let config = ServerConfig::builder().max_connections(3).build().unwrap();
    let server = start(config).await;
    // Two keep-alive HTTP connections and a WebSocket: the cap counts both kinds.
    let (first, answer) = http1_exchange(&server).await;
    assert!(answer.contains("pong"));
    let (_second, answer) = http1_exchange(&server).await;
    assert!(answer.contains("pong"));
    let mut ws = connect_to(server.local_addr(), "/ws/", &[]).await;
    until_connections(&server, 3).await;

    let fourth = TcpStream::connect(server.local_addr()).await.unwrap();
    assert!(refused(fourth).await, "connection 4 of 3 was served");
    let over = format!("ws://{}/ws/", server.local_addr());
    assert!(
        tokio_tungstenite::connect_async(over.as_str()).await.is_err(),
        "a WebSocket past the cap was accepted"
    );
    // The open ones still work.
    let reply = call(&mut ws, PING).await;
    assert_eq!(reply["result"], "pong");

    drop(first);
    until_connections(&server, 2).await;
    let (_third, answer) = http1_exchange(&server).await;
    assert!(answer.contains(r#""result":"pong""#), "below the cap again: {answer}");
    server.shutdown().await.unwrap();
}

/// The handshake's HTTP status: 101 when upgraded.
async fn handshake(server: &ServerHandle, tag: &str, origin: Option<&str>) -> u16 {
    let mut request = format!("ws://{}/guarded/", server.local_addr())
        .into_client_request()
        .unwrap();
    request.headers_mut().insert("x-test", tag.parse().unwrap());
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, response)) => {
            drop(socket);
            response.status().as_u16()
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("handshake failed: {e}"),
    }
}

#[tokio::test]
async fn cross_origin_handshakes_get_403_before_the_connect_hook() {
    let config = ServerConfig::builder()
        .allowed_origins(["https://app.example.com", "*.trusted.test"])
        .build()
        .unwrap();
    let server = start(config).await;
    let own = format!("http://{}", server.local_addr());
    assert_eq!(handshake(&server, "evil", Some("https://evil.example")).await, 403);
    assert_eq!(
        handshake(&server, "lookalike", Some("https://app.example.com.evil.example")).await,
        403
    );
    assert_eq!(handshake(&server, "null", Some("null")).await, 403);
    assert_eq!(handshake(&server, "listed", Some("https://app.example.com")).await, 101);
    assert_eq!(handshake(&server, "pattern", Some("https://a.trusted.test")).await, 101);
    assert_eq!(handshake(&server, "same-origin", Some(&own)).await, 101);
    assert_eq!(handshake(&server, "no-origin", None).await, 101);
    for refused in ["evil", "lookalike", "null"] {
        assert!(!connected(refused), "the connect hook ran for {refused}");
    }
    for accepted in ["listed", "pattern", "same-origin", "no-origin"] {
        assert!(connected(accepted), "the connect hook did not run for {accepted}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_default_origin_policy_and_its_switches() {
    let server = start(ServerConfig::default()).await;
    let own = format!("http://{}", server.local_addr());
    assert_eq!(
        handshake(&server, "default-cross", Some("https://app.example.com")).await,
        403
    );
    assert_eq!(handshake(&server, "default-same", Some(&own)).await, 101);
    assert_eq!(handshake(&server, "default-none", None).await, 101);
    server.shutdown().await.unwrap();

    let strict = ServerConfig::builder()
        .allow_missing_origin(false)
        .allow_same_origin(false)
        .allowed_origins(["https://app.example.com"])
        .build()
        .unwrap();
    let server = start(strict).await;
    let own = format!("http://{}", server.local_addr());
    assert_eq!(handshake(&server, "strict-none", None).await, 403);
    assert_eq!(handshake(&server, "strict-same", Some(&own)).await, 403);
    assert_eq!(
        handshake(&server, "strict-listed", Some("https://app.example.com")).await,
        101
    );
    server.shutdown().await.unwrap();

    let any = ServerConfig::builder().allowed_origins(["*"]).build().unwrap();
    let server = start(any).await;
    assert_eq!(handshake(&server, "any", Some("https://anywhere.example")).await, 101);
    server.shutdown().await.unwrap();
    assert!(!connected("default-cross") && !connected("strict-none") && !connected("strict-same"));
}

#[tokio::test]
async fn invalid_settings_are_refused_with_their_name() {
    let cases = [
        (ServerConfig::builder().max_in_flight(0).build(), "max_in_flight"),
        (ServerConfig::builder().outbound_queue(0).build(), "outbound_queue"),
        (ServerConfig::builder().max_connections(0).build(), "max_connections"),
        (
            ServerConfig::builder().header_read_timeout(Duration::ZERO).build(),
            "header_read_timeout",
        ),
        (
            ServerConfig::builder().keep_alive_timeout(Duration::ZERO).build(),
            "keep_alive_timeout",
        ),
        (
            ServerConfig::builder()
                .ping_interval(Some(Duration::from_secs(30)))
                .idle_timeout(Duration::from_secs(20))
                .build(),
            "idle_timeout",
        ),
        (
            ServerConfig::builder()
                .allowed_origins(["https://x.example/path"])
                .build(),
            "allowed_origins",
        ),
    ];
    for (built, setting) in cases {
        let err = built.expect_err(setting);
        assert_eq!(err.setting(), setting, "{err}");
        assert!(err.to_string().contains(setting), "{err}");
    }
}

const BODY_READ: Duration = Duration::from_millis(400);

/// A complete head, then a body one byte every 100 ms that never ends: the
/// request is answered 408 within the body read timeout and the connection closes.
async fn body_trickle_is_cut_off(h2c: bool) {
    let config = ServerConfig::builder()
        .h2c(h2c)
        .body_read_timeout(BODY_READ)
        .build()
        .unwrap();
    let server = start(config).await;
    let started = Instant::now();
    let mut socket = TcpStream::connect(server.local_addr()).await.unwrap();
    socket
        .write_all(b"POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{")
        .await
        .unwrap();
    let mut read = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = started + Duration::from_secs(10);
    let elapsed = loop {
        tokio::select! {
            n = socket.read(&mut buf) => match n {
                Ok(0) | Err(_) => break started.elapsed(),
                Ok(n) => read.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                let _ = socket.write_all(b" ").await;
            }
            () = tokio::time::sleep_until(deadline.into()) => panic!("the connection is still open after 10 s"),
        }
    };
    let answer = String::from_utf8_lossy(&read);
    assert!(answer.starts_with("HTTP/1.1 408"), "h2c {h2c}: {answer}");
    assert!(
        elapsed >= BODY_READ,
        "h2c {h2c}: answered after {elapsed:?}, before the timeout"
    );
    assert!(elapsed < BODY_READ + SLACK, "h2c {h2c}: closed after {elapsed:?}");
    // The server goes on serving.
    let (_, answer) = http1_exchange(&server).await;
    assert!(answer.contains(r#""result":"pong""#), "{answer}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_with_408_on_both_paths() {
    body_trickle_is_cut_off(true).await;
    body_trickle_is_cut_off(false).await;
}
