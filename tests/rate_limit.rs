//! Per-connection rate limits over real WebSockets (`ServerConfig::rate_limit`):
//! a burst passes, the calls past it answer -32002 with a retry hint, every
//! connection has a bucket of its own, and the bucket refills.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use channels_rpc::{RateLimit, Server, ServerConfig, ServerHandle};
use common::ws::{call, connect_to, next_json_within, Socket};
use common::Everyone;
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// 2 calls a second, bursts of 3.
async fn start() -> ServerHandle {
    let limit = RateLimit::per_second(NonZeroU32::new(2).unwrap()).burst(NonZeroU32::new(3).unwrap());
    let config = ServerConfig::builder().rate_limit(limit).build().unwrap();
    Server::bind("127.0.0.1:0")
        .config(config)
        .websocket("/ws/", Everyone::app())
        .listen()
        .await
        .unwrap()
        .spawn()
}

fn subtract(id: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":{id}}}"#)
}

async fn calls(socket: &mut Socket, ids: std::ops::Range<u64>) -> Vec<Value> {
    let mut replies = Vec::new();
    for id in ids {
        replies.push(call(socket, &subtract(id)).await);
    }
    replies
}

fn assert_refused(reply: &Value, id: u64) {
    assert_eq!(reply["id"], id, "{reply}");
    assert_eq!(reply["error"]["code"], -32002, "{reply}");
    assert_eq!(reply["error"]["message"], "Too many calls", "{reply}");
    let data = &reply["error"]["data"];
    assert_eq!(data["limit"], "rate_limit", "{reply}");
    assert_eq!(data["calls_per_second"], 2, "{reply}");
    let retry = data["retry_after_ms"].as_u64().expect("a retry hint");
    // One token comes back every 500 ms.
    assert!((1..=500).contains(&retry), "{reply}");
}

#[tokio::test]
async fn past_the_burst_calls_are_refused_with_a_retry_hint_until_the_bucket_refills() {
    let server = start().await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let replies = calls(&mut socket, 0..5).await;
    for (id, reply) in replies.iter().enumerate().take(3) {
        assert_eq!(reply, &json!({"jsonrpc": "2.0", "result": 19, "id": id}));
    }
    assert_refused(&replies[3], 3);
    assert_refused(&replies[4], 4);

    // Another connection has its own bucket.
    let mut other = connect_to(server.local_addr(), "/ws/", &[]).await;
    assert_eq!(call(&mut other, &subtract(9)).await["result"], 19);

    // After the hint's wait, a token is back.
    let retry = replies[4]["error"]["data"]["retry_after_ms"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_millis(retry + 20)).await;
    assert_eq!(call(&mut socket, &subtract(5)).await["result"], 19);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn batch_members_and_notifications_count_and_a_refused_notification_gets_no_answer() {
    let server = start().await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    // Two notifications take two tokens, silently.
    for _ in 0..2 {
        let notify = r#"{"jsonrpc":"2.0","method":"update","params":[1]}"#;
        socket.send(Message::text(notify)).await.unwrap();
    }
    // One token is left: of a batch of two calls and a notification, the first passes.
    let batch = format!(
        r#"[{},{},{{"jsonrpc":"2.0","method":"update","params":[2]}}]"#,
        subtract(1),
        subtract(2)
    );
    // Batch answers come in any order (the specification allows it): sort by id.
    let reply = common::sorted(call(&mut socket, &batch).await);
    let members = reply.as_array().expect("a batch answer");
    assert_eq!(members.len(), 2, "the notification is not answered: {reply}");
    assert_eq!(members[0], json!({"jsonrpc": "2.0", "result": 19, "id": 1}));
    assert_refused(&members[1], 2);
    // Nothing else arrives: the refused notifications were dropped.
    assert_eq!(next_json_within(&mut socket, Duration::from_millis(100)).await, None);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_async_call_costs_one_token_like_a_sync_one() {
    let server = start().await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    for id in 0..3 {
        let slow = format!(r#"{{"jsonrpc":"2.0","method":"slow","params":[1],"id":{id}}}"#);
        assert_eq!(
            call(&mut socket, &slow).await["result"],
            1,
            "call {id} is within the burst"
        );
    }
    let slow = r#"{"jsonrpc":"2.0","method":"slow","params":[1],"id":3}"#;
    assert_refused(&call(&mut socket, slow).await, 3);
    server.shutdown().await.unwrap();
}
