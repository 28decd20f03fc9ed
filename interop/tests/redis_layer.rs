//! The Redis channel layer against a real redis-server started by the test:
//! two servers sharing groups, membership cleanup, and Redis restarting.

mod common;

use std::time::{Duration, Instant};

use channels_rpc::{json, ChannelLayer, LayerError, RedisLayer, Server, ServerConfig, ServerHandle};
use common::redis::RedisServer;
use common::ws::{call, chat_message, connect_to, joined, next_json, next_json_within};
use common::Everyone;

async fn server_on(redis: &RedisServer) -> ServerHandle {
    let layer = RedisLayer::builder(redis.url())
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    Server::bind("127.0.0.1:0")
        .config(ServerConfig::builder().channel_layer(layer).build().unwrap())
        .websocket("/ws/", Everyone::app())
        .listen()
        .await
        .unwrap()
        .spawn()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_a_group() {
    let redis = RedisServer::start();
    let a = server_on(&redis).await;
    let b = server_on(&redis).await;
    let mut on_a = joined(a.local_addr(), "room").await;
    let mut on_b = joined(b.local_addr(), "room").await;
    let mut outsider = joined(b.local_addr(), "other").await;
    let reply = call(
        &mut on_b,
        r#"{"jsonrpc":"2.0","method":"say","params":["room","hello from B"],"id":1}"#,
    )
    .await;
    let echo = next_json(&mut on_b).await;
    let mut got = [reply, echo];
    got.sort_by_key(|m| m.get("id").is_some());
    assert_eq!(got[0], chat_message("room", "hello from B"));
    assert_eq!(
        next_json(&mut on_a).await,
        chat_message("room", "hello from B"),
        "A's client got what B's sent"
    );
    assert_eq!(next_json_within(&mut outsider, Duration::from_millis(300)).await, None);

    // From outside any connection, through a server's layer.
    a.layer()
        .notify_group(
            "room",
            "chat.message",
            json!({"room": "room", "text": "from A's handle"}),
        )
        .await
        .unwrap();
    assert_eq!(next_json(&mut on_a).await, chat_message("room", "from A's handle"));
    assert_eq!(next_json(&mut on_b).await, chat_message("room", "from A's handle"));
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_is_dropped_when_connections_end() {
    let redis = RedisServer::start();
    let a = server_on(&redis).await;
    let first = joined(a.local_addr(), "lobby").await;
    let mut second = joined(a.local_addr(), "lobby").await;
    until("one subscription to the group", || {
        redis.subscribers("asgi__group__lobby") == 1
    })
    .await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(redis.subscribers("asgi__group__lobby"), 1, "one member is left");
    second.close(None).await.unwrap();
    until("no subscription to the group", || {
        redis.subscribers("asgi__group__lobby") == 0
    })
    .await;
    a.shutdown().await.unwrap();
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_mid_test_then_delivery_resumes() {
    let mut redis = RedisServer::start();
    let a = server_on(&redis).await;
    let b = server_on(&redis).await;
    let mut listener = joined(a.local_addr(), "ops").await;
    let mut caller = connect_to(b.local_addr(), "/ws/", &[]).await;

    redis.kill();
    // Group sends fail fast instead of hanging...
    let started = Instant::now();
    let sent = b
        .layer()
        .notify_group("ops", "chat.message", json!({"room": "ops", "text": "lost"}))
        .await;
    assert!(matches!(sent, Err(LayerError::Unavailable(_))), "{sent:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    // ...and calls keep working.
    assert_eq!(
        call(&mut caller, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await["result"],
        "pong"
    );
    let failed = call(
        &mut caller,
        r#"{"jsonrpc":"2.0","method":"say","params":["ops","x"],"id":2}"#,
    )
    .await;
    assert_eq!(failed["error"]["code"], -32000, "{failed}");

    redis.restart();
    // At most once: keep sending until the re-subscribed member hears one.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(
            Instant::now() < deadline,
            "delivery did not resume after Redis restarted"
        );
        let _ = b
            .layer()
            .notify_group("ops", "chat.message", json!({"room": "ops", "text": "back"}))
            .await;
        if let Some(message) = next_json_within(&mut listener, Duration::from_millis(300)).await {
            assert_eq!(message, chat_message("ops", "back"));
            break;
        }
    }
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_built_while_redis_is_down_serves_calls() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let layer = RedisLayer::builder(format!("redis://127.0.0.1:{port}"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let server = Server::bind("127.0.0.1:0")
        .config(ServerConfig::builder().channel_layer(layer.clone()).build().unwrap())
        .websocket("/ws/", Everyone::app())
        .listen()
        .await
        .unwrap()
        .spawn();
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await["result"],
        "pong"
    );
    let join = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"join","params":["x"],"id":2}"#,
    )
    .await;
    assert_eq!(join["error"]["code"], -32000);
    assert!(layer.group_send("x", json!({"type": "t"})).await.is_err());
    server.shutdown().await.unwrap();
}

/// The core layer over a Redis that restarts, keeping its data or not.
async fn core_survives_a_restart(mut redis: RedisServer) {
    let layer = |redis: &RedisServer| {
        RedisLayer::core(redis.url())
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap()
    };
    let a = layer(&redis);
    let b = layer(&redis);
    let mut listener = a.new_channel().await.unwrap();
    a.group_add("ops", &listener.name).await.unwrap();

    redis.kill();
    let started = Instant::now();
    let sent = b.group_send("ops", json!({"type": "t", "text": "lost"})).await;
    assert!(matches!(sent, Err(LayerError::Unavailable(_))), "{sent:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );

    redis.restart();
    // At most once: keep sending until the member, joined again, hears one.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(
            Instant::now() < deadline,
            "delivery did not resume after Redis restarted"
        );
        let _ = b.group_send("ops", json!({"type": "t", "text": "back"})).await;
        if let Ok(Some(got)) = tokio::time::timeout(Duration::from_millis(300), listener.messages.recv()).await {
            assert_eq!(got.message(), &json!({"type": "t", "text": "back"}));
            break;
        }
    }
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_layer_survives_a_restart_without_persistence() {
    core_survives_a_restart(RedisServer::start()).await;
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_layer_survives_a_restart_with_persistence() {
    core_survives_a_restart(RedisServer::start_persistent()).await;
}
