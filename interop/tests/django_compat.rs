//! Wire compatibility with Django Channels: the real `channels_redis`
//! (RedisPubSubChannelLayer, run by tests/python/channels_peer.py) and a Rust
//! server share one redis-server, and messages cross in both directions.
//!
//! Needs redis-server and python3 with channels_redis (`pip install
//! channels_redis`); without them the build script leaves `has_channels_redis`
//! unset and the tests are ignored.

mod common;

use std::time::Duration;

use channels_rpc::{json, rpc_method, RedisLayer, RpcContext, Server, ServerConfig, ServerHandle};
use common::peer::{self, Peer};
use common::redis::RedisServer;
use common::ws::{call, connect_to, next_json, next_json_within};
use common::Everyone;

/// This connection's channel name, for peers to `send` to.
#[rpc_method]
fn my_channel(ctx: &RpcContext) -> Option<String> {
    ctx.channel_name().map(str::to_owned)
}

async fn rust_server(redis: &RedisServer) -> ServerHandle {
    let layer = RedisLayer::builder(redis.url()).build().unwrap();
    Server::bind("127.0.0.1:0")
        .config(ServerConfig::builder().channel_layer(layer).build().unwrap())
        .websocket("/ws/", Everyone::app())
        .listen()
        .await
        .unwrap()
        .spawn()
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
    let channel = call(&mut socket, r#"{"jsonrpc":"2.0","method":"my_channel","id":2}"#).await["result"].clone();
    let channel = channel
        .as_str()
        .expect("a WebSocket connection has a channel")
        .to_owned();
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
