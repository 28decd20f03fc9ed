//! The Redis channel layer against a real redis-server started by the test:
//! two servers sharing groups, membership cleanup, Redis restarting, Redis
//! answering slowly, and foreign bytes on the shared Redis.

mod common;

use std::time::{Duration, Instant};

use channels_rpc::{json, ChannelLayer, LayerError, RedisLayer, ServerHandle, Value};
use common::redis::RedisServer;
use common::server::{channel_of, serve, until};
use common::ws::{call, chat_message, connect_to, joined, next_json, next_json_within};
use rpc_core::Inbox;
use rpc_redis::Flavor;

async fn server_on(redis: &RedisServer) -> ServerHandle {
    serve(
        RedisLayer::builder(redis.url())
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap(),
    )
    .await
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
    let server = serve(layer.clone()).await;
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
    // The member, joined again, hears b's group sends.
    until_delivered(&b, "ops", &mut listener).await;
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

/// The next message of `inbox` within `limit`, if one comes.
async fn within(inbox: &mut Inbox, limit: Duration) -> Option<Value> {
    let envelope = tokio::time::timeout(limit, inbox.messages.recv()).await.ok()??;
    Some(envelope.message().clone())
}

/// Group sends to `group` until `inbox` hears one (delivery is at most once
/// while Redis comes back), for at most 15 s.
async fn until_delivered(layer: &RedisLayer, group: &str, inbox: &mut Inbox) {
    let message = json!({"type": "t", "text": "back"});
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(Instant::now() < deadline, "delivery to {group} did not resume");
        let _ = layer.group_send(group, message.clone()).await;
        if let Some(got) = within(inbox, Duration::from_millis(300)).await {
            assert_eq!(got, message);
            return;
        }
    }
}

/// A connection that closes while Redis is down leaves its groups once Redis
/// is back: the core layer retries the removal (a Redis that kept its data
/// still has the member) and does not add it again when it rejoins the
/// groups of its open channels (a Redis that lost its data).
async fn core_close_while_down(mut redis: RedisServer) {
    let timeout = Duration::from_millis(300);
    let layer = RedisLayer::core(redis.url()).timeout(timeout).build().unwrap();
    let gone = layer.new_channel().await.unwrap();
    let mut kept = layer.new_channel().await.unwrap();
    layer.group_add("room", &gone.name).await.unwrap();
    layer.group_add("room", &kept.name).await.unwrap();

    redis.kill();
    let started = Instant::now();
    layer.close_channel(&gone.name).await;
    assert!(
        started.elapsed() < timeout + Duration::from_millis(500),
        "closing waited {:?} for Redis",
        started.elapsed()
    );
    redis.restart();

    until_delivered(&layer, "room", &mut kept).await;
    until("only the open channel in the group", || {
        redis.zmembers("asgi:group:room") == [kept.name.clone()]
    })
    .await;
    // Nothing adds it back later.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(redis.zmembers("asgi:group:room"), [kept.name.clone()]);
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_channel_closed_while_redis_is_down_leaves_once_it_is_back() {
    core_close_while_down(RedisServer::start_persistent()).await;
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_channel_closed_while_redis_is_down_is_not_rejoined_after_data_loss() {
    core_close_while_down(RedisServer::start()).await;
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_channel_closed_while_redis_is_down_is_not_subscribed_again() {
    let mut redis = RedisServer::start();
    let timeout = Duration::from_millis(300);
    let layer = RedisLayer::pubsub(redis.url()).timeout(timeout).build().unwrap();
    let gone = layer.new_channel().await.unwrap();
    let mut kept = layer.new_channel().await.unwrap();
    layer.group_add("gone.room", &gone.name).await.unwrap();
    layer.group_add("kept.room", &kept.name).await.unwrap();
    layer.group_add("shared.room", &gone.name).await.unwrap();
    layer.group_add("shared.room", &kept.name).await.unwrap();

    redis.kill();
    let started = Instant::now();
    layer.close_channel(&gone.name).await;
    assert!(
        started.elapsed() < 2 * timeout + Duration::from_millis(500),
        "closing waited {:?} for Redis",
        started.elapsed()
    );
    redis.restart();

    until_delivered(&layer, "kept.room", &mut kept).await;
    until("the open channel's subscriptions", || {
        redis.subscribers("asgi__group__shared.room") == 1 && redis.subscribers(&kept.name) == 1
    })
    .await;
    assert_eq!(redis.subscribers("asgi__group__gone.room"), 0);
    assert_eq!(redis.subscribers(&gone.name), 0);
}

/// A Redis that answers nothing for a while (`DEBUG SLEEP`): each layer
/// operation fails with [`LayerError::Unavailable`] within the layer's
/// timeout (the named default, or the builder's), calls that do not use the
/// layer keep answering, and delivery resumes once Redis answers again.
async fn slow_redis_bounds_each_operation(flavor: Flavor) {
    let redis = RedisServer::start();
    let timeout = Duration::from_millis(300);
    let layer = RedisLayer::with_flavor(flavor, redis.url())
        .timeout(timeout)
        .build()
        .unwrap();
    let defaults = RedisLayer::with_flavor(flavor, redis.url()).build().unwrap();
    let server = serve(layer.clone()).await;
    let mut member = joined(server.local_addr(), "room").await;
    let mut caller = connect_to(server.local_addr(), "/ws/", &[]).await;
    let channel = channel_of(&mut member).await;
    let mut listener = layer.new_channel().await.unwrap();
    layer.group_add("listeners", &listener.name).await.unwrap();
    // Both layers are connected before Redis stalls.
    defaults.group_send("nobody", json!({"type": "t"})).await.unwrap();
    let slack = Duration::from_millis(400);

    let asleep = redis.sleep_for(RedisLayer::DEFAULT_TIMEOUT + Duration::from_millis(2500));
    let started = Instant::now();
    let sent = defaults.group_send("room", json!({"type": "t"})).await;
    let took = started.elapsed();
    assert!(matches!(sent, Err(LayerError::Unavailable(_))), "{sent:?}");
    assert!(
        took >= RedisLayer::DEFAULT_TIMEOUT - Duration::from_millis(50) && took < RedisLayer::DEFAULT_TIMEOUT + slack,
        "the default timeout bounds a group send: {took:?}"
    );

    let operations: [(
        &str,
        std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>>,
    ); 3] = [
        ("group_send", Box::pin(layer.group_send("room", json!({"type": "t"})))),
        ("send", Box::pin(layer.send(&channel, json!({"type": "t"})))),
        ("group_add", Box::pin(layer.group_add("new.room", &listener.name))),
    ];
    for (name, operation) in operations {
        let started = Instant::now();
        let result: Result<(), LayerError> = operation.await;
        assert!(matches!(result, Err(LayerError::Unavailable(_))), "{name}: {result:?}");
        assert!(
            started.elapsed() < timeout + slack,
            "{name} took {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    assert_eq!(
        call(&mut caller, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await["result"],
        "pong"
    );
    assert!(started.elapsed() < timeout, "a call without the layer waited");
    let said = call(
        &mut caller,
        r#"{"jsonrpc":"2.0","method":"say","params":["room","x"],"id":2}"#,
    )
    .await;
    assert_eq!(said["error"]["code"], -32000, "{said}");
    assert!(
        started.elapsed() < 2 * timeout + slack,
        "a call through the layer took {:?}",
        started.elapsed()
    );

    tokio::task::spawn_blocking(move || asleep.join().unwrap())
        .await
        .unwrap();
    until_delivered(&layer, "listeners", &mut listener).await;
    layer
        .group_send("room", json!({"type": "rpc.notification", "method": "m", "params": []}))
        .await
        .unwrap();
    // A command already written when it timed out may still run once Redis
    // wakes up (as the builder's `timeout` documents): the `say` above.
    loop {
        let got = next_json(&mut member).await;
        if got == json!({"jsonrpc": "2.0", "method": "m", "params": []}) {
            break;
        }
        assert_eq!(got, chat_message("room", "x"), "only a timed-out send arrives late");
    }
    server.shutdown().await.unwrap();
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_layer_bounds_operations_on_a_slow_redis() {
    slow_redis_bounds_each_operation(Flavor::Core).await;
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_layer_bounds_operations_on_a_slow_redis() {
    slow_redis_bounds_each_operation(Flavor::PubSub).await;
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_drops_foreign_bytes_and_keeps_delivering() {
    let redis = RedisServer::start();
    let layer = RedisLayer::pubsub(redis.url()).build().unwrap();
    let mut inbox = layer.new_channel().await.unwrap();
    layer.group_add("room", &inbox.name).await.unwrap();
    let junk: [&[u8]; 4] = [b"", b"\xc1\xc1", b"\xa1x", b"\x93\x01\x02\x03"];
    for target in ["asgi__group__room", inbox.name.as_str()] {
        for bytes in junk {
            redis.query::<i64>(redis::cmd("PUBLISH").arg(target).arg(bytes));
        }
    }
    // Another prefix's group of the same name is another application's.
    let other = RedisLayer::pubsub(redis.url()).prefix("other").build().unwrap();
    other.group_send("room", json!({"type": "other.app"})).await.unwrap();
    layer.group_send("room", json!({"type": "after"})).await.unwrap();
    layer.send(&inbox.name, json!({"type": "direct"})).await.unwrap();
    assert_eq!(
        within(&mut inbox, Duration::from_secs(5)).await,
        Some(json!({"type": "after"}))
    );
    assert_eq!(
        within(&mut inbox, Duration::from_secs(5)).await,
        Some(json!({"type": "direct"}))
    );
    assert_eq!(within(&mut inbox, Duration::from_millis(200)).await, None);
}
