//! Wire compatibility with Django Channels: the real `channels_redis`
//! (RedisPubSubChannelLayer, run by tests/python/channels_peer.py) and a Rust
//! server share one redis-server, and messages cross in both directions.
//!
//! Needs redis-server and python3 with channels_redis (`pip install
//! channels_redis`); without them the build script leaves `has_channels_redis`
//! unset and the tests are ignored.

mod common;

use std::time::Duration;

use channels_rpc::{json, ChannelLayer, RedisLayer, ServerHandle};
use common::peer::{self, Peer};
use common::redis::{urls, RedisServer};
use common::server::{channel_of, serve};
use common::ws::{call, connect_to, next_json, next_json_within};

async fn rust_server(redis: &RedisServer) -> ServerHandle {
    serve(RedisLayer::builder(redis.url()).build().unwrap()).await
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_group_send_reaches_rust_consumers() {
    let redis = RedisServer::start();
    let server = rust_server(&redis).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    assert_eq!(
        call(
            &mut socket,
            r#"{"jsonrpc":"2.0","method":"join","params":["room"],"id":1}"#
        )
        .await["result"],
        true
    );

    let message = json!({"type": "rpc.notification", "method": "chat.message", "params": {"room": "room", "text": "from django"}});
    peer::group_send("pubsub", &[redis.url()], "room", &message).await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "method": "chat.message", "params": {"room": "room", "text": "from django"}})
    );

    // Channels' `send` to one channel: the Rust connection's own name.
    let channel = channel_of(&mut socket).await;
    assert!(channel.starts_with("asgispecific."), "{channel}");
    let direct = json!({"type": "rpc.notification", "method": "direct", "params": ["just you"]});
    assert_eq!(
        peer::send("pubsub", &[redis.url()], &[&channel], &direct, None).await,
        ["sent"]
    );
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "method": "direct", "params": ["just you"]})
    );
    server.shutdown().await.unwrap();
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_group_send_reaches_a_django_consumer_handler() {
    let redis = RedisServer::start();
    let server = rust_server(&redis).await;
    let (mut django, names) = Peer::listen("pubsub", &[redis.url()], "room", 1, 1).await;

    // A Rust client says something in the room: the Django consumer's
    // `rpc_notification` handler receives the layer message.
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let said = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"say","params":["room","from rust"],"id":1}"#,
    )
    .await;
    assert_eq!(said["result"], true, "{said}");
    assert_eq!(
        django.json().await,
        json!({"channel": names[0], "event": {"type": "rpc.notification", "method": "chat.message", "params": {"room": "room", "text": "from rust"}}})
    );
    django.finish().await;
    // The Rust client was not in the room: nothing came back to it.
    assert_eq!(next_json_within(&mut socket, Duration::from_millis(200)).await, None);
    server.shutdown().await.unwrap();
}

/// Both directions through the pub/sub layer sharded over `n` hosts.
async fn pubsub_sharded(n: usize, group_host: usize) {
    let servers = RedisServer::start_many(n);
    let hosts = urls(&servers);
    let layer = RedisLayer::pubsub(hosts.clone()).build().unwrap();
    let mut inbox = layer.new_channel().await.unwrap();
    layer.group_add("ops", &inbox.name).await.unwrap();
    // _consistent_hash("asgi__group__ops", n) in channels_redis 4.3, computed on this machine.
    for (i, server) in servers.iter().enumerate() {
        let expected = i64::from(i == group_host);
        assert_eq!(server.subscribers("asgi__group__ops"), expected, "host {i}");
    }
    let (mut django, names) = Peer::listen("pubsub", &hosts, "ops", 4, 8).await;
    let message = json!({"type": "rpc.notification", "method": "m", "params": []});
    peer::group_send("pubsub", &hosts, "ops", &message).await;
    let got = tokio::time::timeout(Duration::from_secs(10), inbox.messages.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.message(), &message);
    let sent = peer::send("pubsub", &hosts, &[&inbox.name], &message, None).await;
    assert_eq!(sent, ["sent"]);
    let got = tokio::time::timeout(Duration::from_secs(10), inbox.messages.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.message(), &message);
    // The Python group_send reached the Python consumers too (4 events); then Rust sends.
    for name in &names {
        layer.send(name, message.clone()).await.unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..8 {
        let line = django.json().await;
        assert_eq!(line["event"], message);
        seen.push(line["channel"].as_str().unwrap().to_owned());
    }
    seen.sort();
    let mut twice: Vec<String> = names.iter().chain(names.iter()).cloned().collect();
    twice.sort();
    assert_eq!(seen, twice, "each consumer got the group message and its own");
    django.finish().await;
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_sharded_over_two_hosts() {
    pubsub_sharded(2, 1).await;
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_sharded_over_three_hosts() {
    pubsub_sharded(3, 1).await;
}
