//! The practical limit: tokio-tungstenite for the handshake and for reading,
//! and for a `say` one WebSocket frame, encoded once, written straight to
//! every member's socket in one loop: one `write` per member, no task woken,
//! nothing allocated per member.
//!
//! A member's connection stops being read once it has joined (members send
//! nothing more): its socket goes to the list the speaker's task writes to.
//!
//! [`serve_tasks`] is the same server with a task per connection, as a
//! framework has them: the speaker's task broadcasts one `Message` (its bytes
//! shared) and every member's task writes it to its own socket. Between the
//! two lies the cost of waking one task per member.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

/// The write ends of the members' sockets.
type Members = Arc<Mutex<Vec<Arc<TcpStream>>>>;

/// Serves on a free port of 127.0.0.1, told to `announce`, until killed.
pub async fn serve(announce: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    announce(listener.local_addr()?);
    let members = Members::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let members = members.clone();
        tokio::spawn(async move {
            // A connection that ends badly only ends; the members see it.
            let _ = connection(stream, members).await;
        });
    }
}

/// One request of the chat protocol, as far as these servers read it.
enum Request {
    Join(Value),
    /// The id and the notification text for the members.
    Say(Value, String),
}

fn request(text: &str) -> io::Result<Request> {
    let request: Value = serde_json::from_str(text)?;
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let params = request
        .get("params")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match request.get("method").and_then(Value::as_str) {
        Some("join") => Ok(Request::Join(id)),
        Some("say") => {
            let notification = json!({
                "jsonrpc": "2.0",
                "method": "chat.message",
                "params": {"room": params.first(), "text": params.get(1)},
            });
            Ok(Request::Say(id, notification.to_string()))
        }
        _ => Err(io::Error::other(format!("unexpected message {text}"))),
    }
}

async fn connection(stream: TcpStream, members: Members) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut socket = tokio_tungstenite::accept_async(stream)
        .await
        .map_err(io::Error::other)?;
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message.map_err(io::Error::other)? else {
            continue;
        };
        match request(&text)? {
            Request::Join(id) => {
                socket
                    .send(Message::text(answer(&id)))
                    .await
                    .map_err(io::Error::other)?;
                // Nothing is left buffered: the member waits for this answer.
                members
                    .lock()
                    .expect("not poisoned")
                    .push(Arc::new(socket.into_inner()));
                return Ok(());
            }
            Request::Say(id, notification) => {
                let mut frame = Vec::new();
                Frame::message(notification, OpCode::Data(Data::Text), true)
                    .format(&mut frame)
                    .map_err(io::Error::other)?;
                write_to_all(&members, &frame).await;
                socket
                    .send(Message::text(answer(&id)))
                    .await
                    .map_err(io::Error::other)?;
            }
        }
    }
    Ok(())
}

/// A task per connection: serves on a free port of 127.0.0.1, told to
/// `announce`, until killed.
pub async fn serve_tasks(announce: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    announce(listener.local_addr()?);
    // Room for a few sends in flight; a member that lags further loses some
    // (and the run fails on it).
    let (room, _) = broadcast::channel::<Message>(16);
    loop {
        let (stream, _) = listener.accept().await?;
        let room = room.clone();
        tokio::spawn(async move {
            let _ = task_connection(stream, room).await;
        });
    }
}

async fn task_connection(stream: TcpStream, room: broadcast::Sender<Message>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut socket = tokio_tungstenite::accept_async(stream)
        .await
        .map_err(io::Error::other)?;
    let mut joined: Option<broadcast::Receiver<Message>> = None;
    loop {
        let next = async {
            match &mut joined {
                Some(room) => room.recv().await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            notification = next => {
                let notification = notification.ok_or_else(|| io::Error::other("lagged"))?;
                socket.send(notification).await.map_err(io::Error::other)?;
            }
            message = socket.next() => {
                let Some(message) = message else { return Ok(()) };
                let Message::Text(text) = message.map_err(io::Error::other)? else {
                    continue;
                };
                match request(&text)? {
                    Request::Join(id) => {
                        joined = Some(room.subscribe());
                        socket.send(Message::text(answer(&id))).await.map_err(io::Error::other)?;
                    }
                    Request::Say(id, notification) => {
                        let _ = room.send(Message::text(notification));
                        socket.send(Message::text(answer(&id))).await.map_err(io::Error::other)?;
                    }
                }
            }
        }
    }
}

fn answer(id: &Value) -> String {
    format!(r#"{{"jsonrpc":"2.0","result":true,"id":{id}}}"#)
}

/// Writes `frame` to every member: at once where the socket takes it whole
/// (the usual case), else waiting for those that were full, in turn.
async fn write_to_all(members: &Members, frame: &[u8]) {
    let mut behind = Vec::new();
    {
        let members = members.lock().expect("not poisoned");
        for member in members.iter() {
            match member.try_write(frame) {
                Ok(n) if n == frame.len() => {}
                Ok(n) => behind.push((member.clone(), n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => behind.push((member.clone(), 0)),
                Err(_) => {} // a member that left
            }
        }
    }
    for (member, mut written) in behind {
        while written < frame.len() {
            if member.writable().await.is_err() {
                break;
            }
            match member.try_write(&frame[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
    }
}
