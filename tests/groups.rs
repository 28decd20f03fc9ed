//! Groups over real WebSockets with the default, in-process channel layer.

mod common;

use std::sync::Arc;
use std::time::Duration;

use channels_rpc::{
    json, ChannelLayer, Connection, Consumer, ConsumerHooks, InProcessLayer, Server, ServerConfig, ServerHandle, Value,
};
use common::ws::{call, chat_message, connect_to, joined, next_json, next_json_within};
use common::Everyone;

/// Answers layer messages of other types by pushing them to its client.
#[derive(Consumer, Default)]
#[consumer(hooks, include(spec_methods))]
struct Reactive;

impl ConsumerHooks for Reactive {
    async fn on_message(&self, message: &Value, connection: &Connection) {
        if let Some(handle) = connection.handle() {
            let _ = handle.notify("layer.message", message);
        }
    }
}

async fn start(layer: Arc<InProcessLayer>) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .config(ServerConfig::builder().channel_layer(layer).build().unwrap())
        .websocket("/ws/", Everyone::app())
        .websocket("/reactive/", Reactive::app())
        .http("/rpc/", Everyone::app())
        .listen()
        .await
        .unwrap()
        .spawn()
}

#[tokio::test]
async fn members_receive_group_notifications_and_others_do_not() {
    let server = start(Arc::new(InProcessLayer::default())).await;
    let mut alice = joined(server.local_addr(), "room").await;
    let mut bob = joined(server.local_addr(), "room").await;
    let mut carol = joined(server.local_addr(), "elsewhere").await;

    let said_ok = call(
        &mut alice,
        r#"{"jsonrpc":"2.0","method":"say","params":["room","hi"],"id":1}"#,
    )
    .await;
    // The notification to alice herself may come before or after her reply.
    let other = next_json(&mut alice).await;
    let mut got = [said_ok, other];
    got.sort_by_key(|m| m.get("id").is_some());
    assert_eq!(
        got,
        [
            chat_message("room", "hi"),
            json!({"jsonrpc": "2.0", "result": true, "id": 1})
        ]
    );
    assert_eq!(next_json(&mut bob).await, chat_message("room", "hi"));
    assert_eq!(next_json_within(&mut carol, Duration::from_millis(200)).await, None);

    // Leaving stops delivery.
    assert_eq!(
        call(
            &mut bob,
            r#"{"jsonrpc":"2.0","method":"leave","params":["room"],"id":2}"#
        )
        .await["result"],
        true
    );
    server
        .layer()
        .notify_group("room", "chat.message", json!({"room": "room", "text": "again"}))
        .await
        .unwrap();
    assert_eq!(next_json(&mut alice).await, chat_message("room", "again"));
    assert_eq!(next_json_within(&mut bob, Duration::from_millis(200)).await, None);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn membership_ends_with_the_connection() {
    let layer = Arc::new(InProcessLayer::default());
    let server = start(layer.clone()).await;
    let first = joined(server.local_addr(), "lobby").await;
    let second = joined(server.local_addr(), "lobby").await;
    assert_eq!(layer.members("lobby"), 2);
    drop(first);
    let mut second = second;
    second.close(None).await.unwrap();
    for _ in 0..200 {
        if layer.members("lobby") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(layer.members("lobby"), 0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_calls_can_send_to_groups_but_not_join_them() {
    let server = start(Arc::new(InProcessLayer::default())).await;
    let mut listener = joined(server.local_addr(), "news").await;
    let http = channels_rpc::testing::HttpCommunicator::new(Everyone::app(), "/rpc/")
        .config(ServerConfig::builder().channel_layer(server.layer()).build().unwrap());
    let sent = http
        .post(r#"{"jsonrpc":"2.0","method":"say","params":["news","from http"],"id":1}"#)
        .await;
    assert_eq!(sent.json().unwrap()["result"], true);
    assert_eq!(next_json(&mut listener).await, chat_message("news", "from http"));
    let join = http
        .post(r#"{"jsonrpc":"2.0","method":"join","params":["news"],"id":2}"#)
        .await;
    assert_eq!(join.json().unwrap()["error"]["code"], -32000);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn other_message_types_reach_the_consumer_hook() {
    let layer = Arc::new(InProcessLayer::default());
    let server = start(layer.clone()).await;
    let mut socket = connect_to(server.local_addr(), "/reactive/", &[]).await;
    assert_eq!(
        call(
            &mut socket,
            r#"{"jsonrpc":"2.0","method":"join","params":["ops"],"id":1}"#
        )
        .await["result"],
        true
    );
    layer
        .group_send("ops", json!({"type": "deploy.finished", "version": 7}))
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "method": "layer.message", "params": {"type": "deploy.finished", "version": 7}})
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_names_and_messages_are_refused() {
    let server = start(Arc::new(InProcessLayer::default())).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let bad = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"join","params":["no spaces"],"id":1}"#,
    )
    .await;
    assert_eq!(bad["error"]["code"], -32000);
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("invalid group name"),
        "{bad}"
    );
    let layer = server.layer();
    assert!(layer.group_send("room", json!({"no": "type"})).await.is_err());
    assert!(layer.group_send("room", json!("text")).await.is_err());
    server.shutdown().await.unwrap();
}
