//! A raw tungstenite client for the end-to-end tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client connection.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `ws://{addr}{path}` with extra request headers.
pub async fn connect_to(addr: std::net::SocketAddr, path: &str, headers: &[(&'static str, &str)]) -> Socket {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request).await.expect("handshake").0
}

/// The next text message as JSON, skipping control frames; panics after 10 s.
pub async fn next_json(socket: &mut Socket) -> Value {
    next_json_within(socket, Duration::from_secs(10))
        .await
        .expect("a message within the time limit")
}

/// The next text message as JSON, or `None` if nothing came within `limit`.
pub async fn next_json_within(socket: &mut Socket, limit: Duration) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(limit, socket.next()).await.ok()?;
        match message.expect("the socket is open").expect("a valid frame") {
            Message::Text(text) => return Some(serde_json::from_str(&text).unwrap()),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Sends one request and returns the next message.
pub async fn call(socket: &mut Socket, request: &str) -> Value {
    socket.send(Message::text(request)).await.unwrap();
    next_json(socket).await
}

/// A new connection to `addr`'s /ws/ that has joined `room` (the chat methods).
pub async fn joined(addr: std::net::SocketAddr, room: &str) -> Socket {
    let mut socket = connect_to(addr, "/ws/", &[]).await;
    let request = format!(r#"{{"jsonrpc":"2.0","method":"join","params":["{room}"],"id":0}}"#);
    let reply = call(&mut socket, &request).await;
    assert_eq!(reply["result"], true, "{reply}");
    socket
}

/// The notification every member of `room` gets when someone says `text` there.
pub fn chat_message(room: &str, text: &str) -> Value {
    serde_json::json!({"jsonrpc": "2.0", "method": "chat.message", "params": {"room": room, "text": text}})
}
