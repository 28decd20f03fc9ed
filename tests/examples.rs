//! The examples as a user runs them: each takes `--addr 127.0.0.1:0`, prints
//! `listening on HOST:PORT` first once bound, and answers there.
//!
//! `cargo test --workspace` builds the examples before running tests; a
//! binary that is missing (a filtered `cargo test --test examples`) fails the
//! test, saying how to build it: an example not run is never a pass.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn example(name: &str) -> PathBuf {
    // target/debug/deps/examples-HASH -> target/debug/examples/NAME
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/PROFILE/deps")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace`, which builds the examples, or `cargo build --examples` first",
        path.display()
    );
    path
}

/// Kills the child by pid when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(path: PathBuf) -> (Running, String, BufReader<std::process::ChildStdout>) {
    start_with(path, &[])
}

/// Starts the example with `flags` after `--addr 127.0.0.1:0`.
fn start_with(path: PathBuf, flags: &[&str]) -> (Running, String, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(path)
        .args(["--addr", "127.0.0.1:0"])
        .args(flags)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {first:?}"))
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"), "{addr}");
    (Running(child), addr, stdout)
}

fn post(addr: &str, body: &str) -> (u16, String) {
    post_with(addr, "", body)
}

/// POSTs `body` with extra header lines (each ending in `\r\n`).
fn post_with(addr: &str, headers: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

#[test]
fn quickstart_serves_the_seed_methods_and_prints_a_curl_line() {
    let path = example("quickstart");
    let (_server, addr, mut stdout) = start(path);
    let mut curl = String::new();
    stdout.read_line(&mut curl).unwrap();
    assert!(curl.contains("curl") && curl.contains(&addr), "{curl}");
    let (status, body) = post(
        &addr,
        r#"{"jsonrpc":"2.0","method":"mymodule.rpc.ping","params":{"fake_an_error":true},"id":1}"#,
    );
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"jsonrpc": "2.0", "error": {"code": -32000, "message": "fake_error", "data": ["fake_error"]}, "id": 1})
    );
}

#[test]
fn spec_server_serves_the_specification_methods() {
    let path = example("spec_server");
    let (_server, addr, _) = start(path);
    let (_, body) = post(
        &addr,
        r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":42,"subtrahend":23},"id":3}"#,
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"jsonrpc": "2.0", "result": 19, "id": 3})
    );
    let (status, _) = post(&addr, r#"{"jsonrpc":"2.0","method":"notify_hello","params":[7]}"#);
    assert_eq!(status, 204);
    // Nothing it serves reads the host on a client's say-so.
    let (_, body) = post(
        &addr,
        r#"{"jsonrpc":"2.0","method":"read_config","params":["/etc/passwd"],"id":4}"#,
    );
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
    assert!(!body.contains("root:"), "{body}");
}

#[test]
fn chat_answers_over_http_with_the_in_process_layer() {
    let path = example("chat");
    let (_server, addr, _) = start(path);
    let (_, body) = post(
        &addr,
        r#"{"jsonrpc":"2.0","method":"say","params":["lobby","hi"],"id":1}"#,
    );
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["result"], true);
}

/// A container stop: SIGTERM while a call runs. The call still gets its
/// answer, then the WebSocket closes with 1001 and the process exits 0.
#[tokio::test]
async fn sigterm_finishes_running_calls_closes_websockets_with_1001_and_exits() {
    let (mut server, addr, _) = start(example("spec_server"));
    let mut socket = common::ws::connect_to(addr.parse().unwrap(), "/ws/", &[]).await;
    let slow = r#"{"jsonrpc":"2.0","method":"slow","params":[700],"id":1}"#;
    socket.send(Message::text(slow)).await.unwrap();
    // Let the request arrive before the signal.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pid = server.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(sent.success());
    let signalled = Instant::now();

    let answer = common::ws::next_json(&mut socket).await;
    assert_eq!(answer, json!({"jsonrpc": "2.0", "result": 700, "id": 1}));
    let close = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a close frame within the shutdown timeout");
    match close {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame with 1001, got {other:?}"),
    }
    let status = tokio::task::spawn_blocking(move || {
        let status = server.0.wait();
        (server, status)
    })
    .await
    .unwrap()
    .1
    .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "{:?}",
        signalled.elapsed()
    );
}

#[tokio::test]
async fn embed_in_hyper_stops_on_sigterm_closing_websockets_with_1001() {
    let (mut server, addr, _) = start(example("embed_in_hyper"));
    let mut socket = common::ws::connect_to(addr.parse().unwrap(), "/api/rpc", &[]).await;
    let version = r#"{"jsonrpc":"2.0","method":"version","id":1}"#;
    assert!(common::ws::call(&mut socket, version).await["result"].is_string());
    let pid = server.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(sent.success());
    let close = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a close frame within the shutdown timeout");
    match close {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame with 1001, got {other:?}"),
    }
    let status = tokio::task::spawn_blocking(move || server.0.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

/// The production flags of `spec_server`, each as a client sees it.
#[tokio::test]
async fn spec_server_flags_token_timeout_rate_limit_origins() {
    let flags = [
        "--token",
        "s3cret",
        "--call-timeout",
        "200",
        "--rate-limit",
        "1",
        "--max-connections",
        "50",
        "--allowed-origin",
        "https://app.example",
    ];
    let (_server, addr, _) = start_with(example("spec_server"), &flags);
    let subtract = r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;

    // --token: no token or a wrong one is 401 with the scheme named.
    let (status, _) = post(&addr, subtract);
    assert_eq!(status, 401);
    let (status, _) = post_with(&addr, "authorization: Bearer guess\r\n", subtract);
    assert_eq!(status, 401);
    let bearer = "authorization: Bearer s3cret\r\n";
    let (status, body) = post_with(&addr, bearer, subtract);
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()["result"].clone()),
        (200, json!(19))
    );
    let socket_addr: std::net::SocketAddr = addr.parse().unwrap();
    let handshake = |headers: Vec<(&'static str, &'static str)>| async move {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{socket_addr}/ws/").into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request).await
    };
    match handshake(vec![]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
        }
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }

    // --allowed-origin: another site's page is refused, the listed one is not.
    let token = ("authorization", "Bearer s3cret");
    match handshake(vec![token, ("origin", "https://evil.example")]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    let (mut socket, _) = handshake(vec![token, ("origin", "https://app.example")])
        .await
        .expect("allowed");

    // --call-timeout: slow(1000) is cut off at 200 ms.
    let reply = common::ws::call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"slow","params":[1000],"id":2}"#,
    )
    .await;
    assert_eq!(reply["error"]["code"], -32001, "{reply}");
    assert_eq!(reply["error"]["data"]["timeout_ms"], 200, "{reply}");

    // --rate-limit 1: slow() took the one token; the next call within the second is refused.
    let reply = common::ws::call(&mut socket, subtract).await;
    assert_eq!(reply["error"]["code"], -32002, "{reply}");
    assert!(
        reply["error"]["data"]["retry_after_ms"].as_u64().unwrap() > 0,
        "{reply}"
    );
}

#[test]
fn auth_refuses_a_caller_without_credentials_and_answers_one_with_them() {
    // Kept open: the example prints a second line (a curl hint) after its address.
    let (_server, addr, _stdout) = start(example("auth"));
    let whoami = r#"{"jsonrpc":"2.0","method":"whoami","id":1}"#;
    assert_eq!(post(&addr, whoami).0, 401);
    let (status, body) = post_with(&addr, "authorization: Bearer alice-demo-token\r\n", whoami);
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()["result"].clone()),
        (200, json!("alice"))
    );
    let (status, body) = post_with(
        &addr,
        "cookie: session=alice-demo-session\r\n",
        r#"{"jsonrpc":"2.0","method":"admin.users","id":2}"#,
    );
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["error"]["code"].clone()
        ),
        (200, json!(-32601))
    );
}

#[test]
fn middleware_refuses_calls_without_the_api_key_even_to_unknown_methods() {
    let (_server, addr, _) = start_with(example("middleware"), &["--api-key", "k1"]);
    let add = r#"{"jsonrpc":"2.0","method":"add","params":[2,3],"id":1}"#;
    let unauthorized = json!({"jsonrpc": "2.0", "error": {"code": -32010, "message": "unauthorized: send the x-api-key header"}, "id": 1});
    for headers in ["", "x-api-key: wrong\r\n"] {
        let (status, body) = post_with(&addr, headers, add);
        assert_eq!(
            (status, serde_json::from_str::<Value>(&body).unwrap()),
            (200, unauthorized.clone())
        );
    }
    // A method that does not exist answers the same to a stranger.
    let (_, body) = post(&addr, r#"{"jsonrpc":"2.0","method":"admin.drop","id":1}"#);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), unauthorized);
    let (_, body) = post_with(&addr, "x-api-key: k1\r\n", add);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"jsonrpc": "2.0", "result": 5, "id": 1})
    );
    let (_, body) = post_with(
        &addr,
        "x-api-key: k1\r\n",
        r#"{"jsonrpc":"2.0","method":"admin.drop","id":1}"#,
    );
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], -32601);
}

#[tokio::test]
async fn middleware_checks_the_api_key_of_a_websocket_per_call() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (_server, addr, _) = start_with(example("middleware"), &["--api-key", "k1"]);
    let add = r#"{"jsonrpc":"2.0","method":"add","params":[2,3],"id":1}"#;
    let (mut stranger, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/rpc/"))
        .await
        .unwrap();
    assert_eq!(common::ws::call(&mut stranger, add).await["error"]["code"], -32010);
    let mut request = format!("ws://{addr}/rpc/").into_client_request().unwrap();
    request.headers_mut().insert("x-api-key", "k1".parse().unwrap());
    let (mut keyed, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(common::ws::call(&mut keyed, add).await["result"], 5);
}

/// `GET path` over HTTP/1.1; the body.
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}

#[tokio::test]
#[cfg_attr(
    not(feature = "metrics"),
    ignore = "needs the `metrics` feature, which `cargo test --workspace` turns on (rpc-core's dev-dependency)"
)]
async fn metrics_serves_prometheus_counts_of_the_calls_made() {
    let (_server, addr, _) = start(example("metrics"));
    let (mut listener, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/rpc/"))
        .await
        .unwrap();
    let listen = r#"{"jsonrpc":"2.0","method":"listen","id":1}"#;
    assert_eq!(common::ws::call(&mut listener, listen).await["result"], true);
    let shout = r#"{"jsonrpc":"2.0","method":"shout","params":["hi"],"id":2}"#;
    for _ in 0..2 {
        let (_, body) = post(&addr, shout);
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["result"], "HI");
        assert_eq!(common::ws::next_json(&mut listener).await["method"], "shouted");
    }
    let (_, body) = post(&addr, r#"{"jsonrpc":"2.0","method":"client.chose.this","id":3}"#);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], -32601);

    let scraped = get(&addr, "/metrics");
    let value = |series: &str| -> f64 {
        scraped
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{scraped}"))
    };
    assert_eq!(value(r#"channels_rpc_calls_total{method="shout",outcome="ok"}"#), 2.0);
    assert_eq!(value(r#"channels_rpc_calls_total{method="listen",outcome="ok"}"#), 1.0);
    assert_eq!(
        value(r#"channels_rpc_calls_total{method="<unknown>",outcome="error"}"#),
        1.0
    );
    assert!(!scraped.contains("client.chose.this"), "{scraped}");
    assert_eq!(
        value(r#"channels_rpc_call_duration_seconds_count{method="shout"}"#),
        2.0
    );
    assert_eq!(value(r#"channels_rpc_connections_open{transport="websocket"}"#), 1.0);
    assert_eq!(value(r#"channels_rpc_connections_open{transport="http"}"#), 0.0);
    assert_eq!(
        value(r#"channels_rpc_layer_messages_total{layer="in_process",direction="sent"}"#),
        2.0
    );
    assert_eq!(
        value(r#"channels_rpc_layer_messages_total{layer="in_process",direction="received"}"#),
        2.0
    );
}
