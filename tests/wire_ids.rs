//! Ids on the wire, over real sockets: a number is echoed byte for byte when
//! a 64-bit float can hold it; one too large (`1e999`) is `-32600` with id
//! `null`, so that a serde_json-based client can read the answer (it cannot
//! read a response echoing `1e999`: serde_json refuses the number).

mod common;

use bytes::Bytes;
use channels_rpc::ServerConfig;
use common::ws::{self, Socket};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Ids a float can hold, big and fractional ones included.
const KEPT: [&str; 5] = [
    "123456789012345678901234567890",
    "1.50",
    "-2.5E+3",
    "1e-999",
    "1.7976931348623157e308",
];

/// Ids too large for a float.
const TOO_LARGE: [&str; 3] = ["1e999", "-1E400", "1.8e308"];

/// POSTs `body` to /rpc/: the status and the body's bytes.
async fn post(addr: std::net::SocketAddr, body: String) -> (u16, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(format!("http://{addr}/rpc/"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.expect("a response");
    let status = response.status().as_u16();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

/// Sends `text` on the socket: the next text frame's bytes.
async fn exchange(socket: &mut Socket, text: String) -> Bytes {
    socket.send(Message::text(text)).await.unwrap();
    loop {
        match socket.next().await.expect("open").expect("a frame") {
            Message::Text(reply) => return Bytes::copy_from_slice(reply.as_bytes()),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn ping(id: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"ping","id":{id}}}"#)
}

fn ping_v1(id: &str) -> String {
    format!(r#"{{"method":"ping","params":[],"id":{id}}}"#)
}

/// What a serde_json client reads from `body`; panics if it cannot.
fn read(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(body)))
}

fn assert_refused(body: &[u8]) {
    let answer = read(body);
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    assert_eq!(
        answer["error"]["data"],
        "\"id\" is a number too large for a 64-bit float"
    );
    assert_eq!(answer["id"], Value::Null, "{answer}");
}

#[tokio::test]
async fn http_echoes_ids_a_float_holds_and_refuses_larger_ones() {
    let server = common::server::start(ServerConfig::default()).await;
    let addr = server.local_addr();
    for id in KEPT {
        let (status, body) = post(addr, ping(id)).await;
        assert_eq!(status, 200);
        assert_eq!(
            &body[..],
            format!(r#"{{"jsonrpc":"2.0","result":"pong","id":{id}}}"#).as_bytes()
        );
        read(&body);
        let (_, body) = post(addr, ping_v1(id)).await;
        assert_eq!(
            &body[..],
            format!(r#"{{"result":"pong","error":null,"id":{id}}}"#).as_bytes()
        );
    }
    for id in TOO_LARGE {
        let (status, body) = post(addr, ping(id)).await;
        assert_eq!(status, 200, "every 2.0 answer is 200");
        assert_refused(&body);
        let (status, body) = post(addr, ping_v1(id)).await;
        assert_eq!(status, 400, "a 1.0 -32600 keeps the draft's status");
        let answer = read(&body);
        assert_eq!(answer["result"], Value::Null);
        assert_eq!(answer["error"]["code"], -32600);
        assert_eq!(answer["id"], Value::Null);
    }
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn websocket_echoes_ids_a_float_holds_and_refuses_larger_ones() {
    let server = common::server::start(ServerConfig::default()).await;
    let mut socket = ws::connect_to(server.local_addr(), "/ws/", &[]).await;
    for id in KEPT {
        let body = exchange(&mut socket, ping(id)).await;
        assert_eq!(
            &body[..],
            format!(r#"{{"jsonrpc":"2.0","result":"pong","id":{id}}}"#).as_bytes()
        );
    }
    for id in TOO_LARGE {
        assert_refused(&exchange(&mut socket, ping(id)).await);
    }
    // In a batch, only the member with that id is refused.
    let batch = format!("[{},{}]", ping("1e999"), ping("7"));
    let mut answers = read(&exchange(&mut socket, batch).await);
    let answers = answers.as_array_mut().expect("an array");
    answers.sort_by_key(|a| a["id"].to_string());
    assert_eq!(answers[0], json!({"jsonrpc": "2.0", "result": "pong", "id": 7}));
    assert_refused(answers[1].to_string().as_bytes());
    server.shutdown().await.expect("shutdown");
}
