//! WebSocket over a real socket: jsonrpsee's WsClient and raw tungstenite
//! clients (for what a client library will not send) against a server on
//! 127.0.0.1:0.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use channels_rpc::{
    json, rpc_method, Consumer, ConsumerHooks, Limits, Reject, RpcContext, RpcError, Scope, Server, ServerConfig,
    ServerHandle, Value,
};
use common::ws::{call, connect_to, next_json, Socket};
use common::Everyone;
use futures_util::{SinkExt, StreamExt};
use jsonrpsee_core::client::{ClientT, SubscriptionClientT};
use jsonrpsee_core::rpc_params;
use jsonrpsee_ws_client::WsClientBuilder;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// Pushes `count` notifications at once, faster than any queue drains.
#[rpc_method]
fn flood(ctx: &RpcContext, count: u32) -> Result<u32, RpcError> {
    for i in 0..count {
        ctx.notify("flood", &[i])?;
    }
    Ok(count)
}

/// How many calls this connection's consumer has served.
#[rpc_method(consumer = Recorder)]
fn served(me: &Recorder) -> u64 {
    me.served.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

/// Every disconnect seen: (the connection's `x-test` tag, close code).
static DISCONNECTS: Mutex<Vec<(String, u16)>> = Mutex::new(Vec::new());

/// Records its lifecycle under the tag of the `x-test` header; refuses
/// connections that send `x-reject`; picks the `jsonrpc` subprotocol if offered.
#[derive(Consumer)]
#[consumer(new = Recorder::new, hooks, include(spec_methods))]
struct Recorder {
    tag: String,
    served: std::sync::atomic::AtomicU64,
}

impl Recorder {
    fn new(scope: &Scope) -> Self {
        Recorder {
            tag: scope.header("x-test").unwrap_or("untagged").to_owned(),
            served: Default::default(),
        }
    }
}

impl ConsumerHooks for Recorder {
    async fn connect(&self, scope: &mut Scope) -> Result<(), Reject> {
        if scope.header("x-reject").is_some() {
            return Err(Reject::forbidden("not you"));
        }
        if scope
            .header("sec-websocket-protocol")
            .is_some_and(|p| p.contains("jsonrpc"))
        {
            scope.set_subprotocol(Some("jsonrpc".to_owned()));
        }
        Ok(())
    }

    async fn disconnect(&self, code: u16) {
        DISCONNECTS.lock().unwrap().push((self.tag.clone(), code));
    }
}

async fn start(config: ServerConfig) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .config(config)
        .websocket("/ws/", Everyone::app())
        .websocket("/recorded/", Recorder::app())
        .http("/rpc/", Everyone::app())
        .listen()
        .await
        .expect("bind 127.0.0.1:0")
        .spawn()
}

/// Reads until the server's close frame; its code.
async fn close_code(socket: &mut Socket) -> Option<CloseCode> {
    while let Some(Ok(message)) = socket.next().await {
        if let Message::Close(frame) = message {
            return frame.map(|f| f.code);
        }
    }
    None
}

async fn connect(server: &ServerHandle, path: &str, headers: &[(&'static str, &str)]) -> Socket {
    connect_to(server.local_addr(), path, headers).await
}

/// Waits until `tag` has disconnected; its close codes.
async fn disconnects_of(tag: &str) -> Vec<u16> {
    for _ in 0..200 {
        let codes: Vec<u16> = DISCONNECTS
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t == tag)
            .map(|(_, c)| *c)
            .collect();
        if !codes.is_empty() {
            // Give a second call, if there were to be one, the time to show up.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return DISCONNECTS
                .lock()
                .unwrap()
                .iter()
                .filter(|(t, _)| t == tag)
                .map(|(_, c)| *c)
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{tag} never disconnected");
}

async fn until_no_websockets(server: &ServerHandle) {
    for _ in 0..400 {
        if server.stats().websockets() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} WebSocket connections still open", server.stats().websockets());
}

#[tokio::test]
async fn jsonrpsee_ws_client_calls_concurrently_and_receives_pushes() {
    let server = start(ServerConfig::default()).await;
    let client = WsClientBuilder::default()
        .build(format!("ws://{}/ws/", server.local_addr()))
        .await
        .unwrap();
    let diff: i64 = client.request("subtract", rpc_params![42, 23]).await.unwrap();
    assert_eq!(diff, 19);

    // Many calls in flight on one connection, answered as they finish.
    let calls = (0..50u64).map(|i| client.request::<u64, _>("slow", rpc_params![50 + (i % 5) * 10]));
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(|a| a.is_ok()));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "calls ran one at a time: {:?}",
        started.elapsed()
    );

    // A push from inside a method reaches the client as a notification.
    let mut pushes = client.subscribe_to_method::<Value>("news").await.unwrap();
    let ok: bool = client
        .request("notify_me", rpc_params!["news", json!({"headline": "hi"})])
        .await
        .unwrap();
    assert!(ok);
    let pushed = tokio::time::timeout(Duration::from_secs(5), pushes.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pushed, json!({"headline": "hi"}));

    let error = client
        .request::<Value, _>("mymodule.rpc.ping", rpc_params![true])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Method not found"), "{error}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_frames_get_errors_and_the_connection_stays_usable() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect(&server, "/ws/", &[]).await;
    assert_eq!(call(&mut socket, "{oops").await["error"]["code"], -32700);
    assert_eq!(call(&mut socket, "[]").await["error"]["code"], -32600);
    assert_eq!(call(&mut socket, r#"{"foo":"boo"}"#).await["error"]["code"], -32600);
    socket
        .send(Message::binary(Bytes::from_static(&[0xff, 0x00, 0x7b])))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["error"]["code"], -32700);
    socket
        .send(Message::binary(Bytes::from_static(
            br#"{"jsonrpc":"2.0","method":"ping","id":"bin"}"#,
        )))
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": "pong", "id": "bin"})
    );
    // A notification gets nothing: the next reply is the following call's.
    socket
        .send(Message::text(r#"{"jsonrpc":"2.0","method":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"ping","id":2}"#).await["id"],
        2
    );
    let batch = call(
        &mut socket,
        r#"[{"jsonrpc":"2.0","method":"ping","id":1},{"jsonrpc":"2.0","method":"nope","id":2}]"#,
    )
    .await;
    assert_eq!(batch.as_array().unwrap().len(), 2);
    assert_eq!(
        call(&mut socket, r#"{"method":"ping","params":[],"id":9}"#).await,
        json!({"result": "pong", "error": null, "id": 9})
    );
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"boom","id":3}"#).await["error"]["code"],
        -32603
    );
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"ws.only","id":4}"#).await["result"],
        true
    );
    socket.close(None).await.unwrap();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn replies_come_as_calls_finish_not_in_order() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect(&server, "/ws/", &[]).await;
    socket
        .send(Message::text(
            r#"{"jsonrpc":"2.0","method":"slow","params":[400],"id":"slow"}"#,
        ))
        .await
        .unwrap();
    socket
        .send(Message::text(r#"{"jsonrpc":"2.0","method":"ping","id":"fast"}"#))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["id"], "fast");
    assert_eq!(next_json(&mut socket).await["id"], "slow");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_message_closes_with_1009() {
    let limits = Limits::default().max_message_size(1024);
    let server = start(ServerConfig::builder().limits(limits).build().unwrap()).await;
    let mut socket = connect(&server, "/recorded/", &[("x-test", "oversized")]).await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        "x".repeat(4096)
    );
    let _ = socket.send(Message::text(big)).await;
    let code = close_code(&mut socket).await;
    assert_eq!(code, Some(CloseCode::Size));
    assert_eq!(disconnects_of("oversized").await, [1009]);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn connect_hook_rejects_with_403_and_chooses_the_subprotocol() {
    let server = start(ServerConfig::default()).await;
    let mut request = format!("ws://{}/recorded/", server.local_addr())
        .into_client_request()
        .unwrap();
    request.headers_mut().insert("x-reject", "1".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403, got {:?}", other.map(|(_, r)| r.status())),
    }
    let mut request = format!("ws://{}/recorded/", server.local_addr())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "other, jsonrpc".parse().unwrap());
    let (_socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "jsonrpc");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn disconnect_runs_once_with_the_close_code() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect(&server, "/recorded/", &[("x-test", "client-closes")]).await;
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await["result"],
        "pong"
    );
    socket
        .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: CloseCode::Library(4000),
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    assert_eq!(disconnects_of("client-closes").await, [4000]);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn abrupt_drop_mid_call_leaks_nothing() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect(&server, "/recorded/", &[("x-test", "vanished")]).await;
    socket
        .send(Message::text(
            r#"{"jsonrpc":"2.0","method":"slow","params":[5000],"id":1}"#,
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Drop the TCP stream without a close frame.
    drop(socket);
    assert_eq!(disconnects_of("vanished").await, [1006]);
    until_no_websockets(&server).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_disconnected() {
    let config = ServerConfig::builder()
        .write_timeout(Duration::from_millis(500))
        .max_in_flight(8)
        .build()
        .unwrap();
    let server = start(config).await;
    let mut socket = connect(&server, "/recorded/", &[("x-test", "slow-reader")]).await;
    let payload = "y".repeat(256 * 1024);
    // Ask for far more than the socket buffers hold, and never read.
    let request =
        format!(r#"{{"jsonrpc":"2.0","method":"echo","params":["{payload}"]}}"#).replace(r#"]}"#, r#"],"id":1}"#);
    let sender = tokio::spawn(async move {
        for _ in 0..200 {
            if socket.send(Message::text(request.clone())).await.is_err() {
                break;
            }
        }
        socket
    });
    assert_eq!(disconnects_of("slow-reader").await, [1006]);
    until_no_websockets(&server).await;
    sender.abort();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn graceful_shutdown_finishes_calls_then_closes_with_1001() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect(&server, "/recorded/", &[("x-test", "shutdown")]).await;
    socket
        .send(Message::text(
            r#"{"jsonrpc":"2.0","method":"slow","params":[300],"id":1}"#,
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stopping = tokio::spawn(server.shutdown());
    assert_eq!(
        next_json(&mut socket).await["result"],
        300,
        "the running call finishes first"
    );
    let code = close_code(&mut socket).await;
    assert_eq!(code, Some(CloseCode::Away));
    stopping.await.unwrap().unwrap();
    assert_eq!(disconnects_of("shutdown").await, [1001]);
}

#[tokio::test]
async fn idle_peers_are_pinged_and_silent_ones_dropped() {
    let config = ServerConfig::builder()
        .ping_interval(Some(Duration::from_millis(100)))
        .idle_timeout(Duration::from_millis(350))
        .build()
        .unwrap();
    let server = start(config).await;
    // tungstenite answers pings while we read: the connection stays up.
    let mut alive = connect(&server, "/recorded/", &[("x-test", "pinged")]).await;
    let mut pings = 0;
    while pings < 3 {
        match tokio::time::timeout(Duration::from_secs(5), alive.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Message::Ping(_) => pings += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        call(&mut alive, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await["result"],
        "pong"
    );
    // A raw TCP peer that completes the handshake and then says nothing is dropped.
    let silent = connect(&server, "/recorded/", &[("x-test", "silent")]).await;
    assert_eq!(disconnects_of("silent").await, [1006]);
    drop(silent);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_and_websocket_share_the_port() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect(&server, "/ws/", &[]).await;
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await["result"],
        "pong"
    );
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    let request = format!(
        "POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.ends_with(r#"{"jsonrpc":"2.0","result":"pong","id":1}"#),
        "{response}"
    );
    // A plain GET on a WebSocket path asks for an upgrade.
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream
        .write_all(b"GET /ws/ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn in_flight_calls_are_bounded_per_connection() {
    let server = start(ServerConfig::builder().max_in_flight(2).build().unwrap()).await;
    let mut socket = connect(&server, "/ws/", &[]).await;
    let started = std::time::Instant::now();
    for id in 0..3 {
        socket
            .send(Message::text(format!(
                r#"{{"jsonrpc":"2.0","method":"slow","params":[300],"id":{id}}}"#
            )))
            .await
            .unwrap();
    }
    for _ in 0..3 {
        next_json(&mut socket).await;
    }
    let elapsed = started.elapsed();
    // Two run at once; the third waits for a free slot: about 600 ms, not 300.
    assert!(
        elapsed >= Duration::from_millis(580),
        "the bound was not applied: {elapsed:?}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_overflowing_push_queue_closes_with_1008() {
    let server = start(ServerConfig::builder().outbound_queue(4).build().unwrap()).await;
    let mut socket = connect(&server, "/recorded/", &[("x-test", "flooded")]).await;
    socket
        .send(Message::text(
            r#"{"jsonrpc":"2.0","method":"flood","params":[100],"id":1}"#,
        ))
        .await
        .unwrap();
    let code = close_code(&mut socket).await;
    assert_eq!(code, Some(CloseCode::Policy));
    assert_eq!(disconnects_of("flooded").await, [1008]);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn each_connection_has_its_own_consumer() {
    let server = start(ServerConfig::default()).await;
    let mut first = connect(&server, "/recorded/", &[("x-test", "state-1")]).await;
    let mut second = connect(&server, "/recorded/", &[("x-test", "state-2")]).await;
    let served = r#"{"jsonrpc":"2.0","method":"served","id":1}"#;
    assert_eq!(call(&mut first, served).await["result"], 1);
    assert_eq!(call(&mut first, served).await["result"], 2);
    assert_eq!(call(&mut second, served).await["result"], 1);
    server.shutdown().await.unwrap();
}

/// A client's text frame: masked, as RFC 6455 section 5.3 requires.
fn masked_text_frame(text: &str) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let len = text.len();
    let mut frame = vec![0x81];
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    }
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Reads the server's next text frame (unmasked, under 64 KiB) from `socket`,
/// after what `pending` holds already.
async fn read_text_frame(socket: &mut TcpStream, pending: &mut Vec<u8>) -> String {
    use tokio::io::AsyncReadExt;
    loop {
        if pending.len() >= 2 {
            assert_eq!(pending[0], 0x81, "a final text frame");
            let (len, header) = match pending[1] {
                126 if pending.len() >= 4 => (u16::from_be_bytes([pending[2], pending[3]]) as usize, 4),
                126 => (usize::MAX, 4),
                n => (n as usize, 2),
            };
            if len != usize::MAX && pending.len() >= header + len {
                let text = String::from_utf8(pending[header..header + len].to_vec()).unwrap();
                pending.drain(..header + len);
                return text;
            }
        }
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .expect("the server answers within 5 s")
            .unwrap();
        assert!(n > 0, "the server closed the connection");
        pending.extend_from_slice(&buf[..n]);
    }
}

/// The connection's loop skips reading while its socket has had nothing new
/// (tungstenite would clear its read buffer for nothing): a frame sent with
/// the handshake itself, one split over three writes with pauses between,
/// and one sent after the server wrote a push unasked must all be read, on
/// both HTTP paths (hyper's upgrade stream differs with h2c).
#[tokio::test]
async fn frames_with_the_handshake_split_over_writes_or_after_a_push_are_all_read() {
    use tokio::io::AsyncWriteExt;
    for h2c in [true, false] {
        let server = start(ServerConfig::builder().h2c(h2c).build().unwrap()).await;
        let mut socket = TcpStream::connect(server.local_addr()).await.unwrap();
        let mut handshake = b"GET /ws/ HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\nupgrade: websocket\r\n\
            sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            .to_vec();
        handshake.extend(masked_text_frame(r#"{"jsonrpc":"2.0","method":"ping","id":1}"#));
        socket.write_all(&handshake).await.unwrap();
        let mut pending = Vec::new();
        use tokio::io::AsyncReadExt;
        while !pending.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut buf = [0u8; 1024];
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed during the handshake");
            pending.extend_from_slice(&buf[..n]);
        }
        let end = pending.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(
            pending.starts_with(b"HTTP/1.1 101"),
            "{:?}",
            String::from_utf8_lossy(&pending)
        );
        pending.drain(..end);
        let reply = read_text_frame(&mut socket, &mut pending).await;
        assert_eq!(reply, r#"{"jsonrpc":"2.0","result":"pong","id":1}"#, "h2c {h2c}");

        let frame = masked_text_frame(r#"{"jsonrpc":"2.0","method":"echo","params":["split"],"id":2}"#);
        for piece in [&frame[..2], &frame[2..20], &frame[20..]] {
            socket.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let reply = read_text_frame(&mut socket, &mut pending).await;
        assert_eq!(reply, r#"{"jsonrpc":"2.0","result":"split","id":2}"#, "h2c {h2c}");

        // A group's notification wakes the connection to write only; the
        // frame that follows it is still read.
        let room = format!("split-{h2c}");
        let join = format!(r#"{{"jsonrpc":"2.0","method":"join","params":["{room}"],"id":3}}"#);
        socket.write_all(&masked_text_frame(&join)).await.unwrap();
        let reply = read_text_frame(&mut socket, &mut pending).await;
        assert_eq!(reply, r#"{"jsonrpc":"2.0","result":true,"id":3}"#, "h2c {h2c}");
        let mut speaker = connect(&server, "/ws/", &[]).await;
        let said = call(
            &mut speaker,
            &format!(r#"{{"jsonrpc":"2.0","method":"say","params":["{room}","hi"],"id":1}}"#),
        )
        .await;
        assert_eq!(said, json!({"jsonrpc": "2.0", "result": true, "id": 1}));
        let notification: Value = serde_json::from_str(&read_text_frame(&mut socket, &mut pending).await).unwrap();
        assert_eq!(
            notification,
            json!({"jsonrpc": "2.0", "method": "chat.message", "params": {"room": room, "text": "hi"}}),
            "h2c {h2c}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        socket
            .write_all(&masked_text_frame(r#"{"jsonrpc":"2.0","method":"ping","id":4}"#))
            .await
            .unwrap();
        let reply = read_text_frame(&mut socket, &mut pending).await;
        assert_eq!(reply, r#"{"jsonrpc":"2.0","result":"pong","id":4}"#, "h2c {h2c}");
        server.shutdown().await.unwrap();
    }
}
