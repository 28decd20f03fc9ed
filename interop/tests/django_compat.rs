//! Wire compatibility with Django Channels: the real `channels_redis`
//! (RedisPubSubChannelLayer, run by tests/python/channels_peer.py) and a Rust
//! server share one redis-server, and messages cross in both directions.
//!
//! Needs redis-server and python3 with channels_redis (`pip install
//! channels_redis`); without them the build script leaves `has_channels_redis`
//! unset and the tests are ignored.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use channels_rpc::{json, rpc_method, RedisLayer, RpcContext, Server, ServerConfig, ServerHandle, Value};
use common::redis::RedisServer;
use common::ws::{call, connect_to, next_json, next_json_within};
use common::Everyone;

/// This connection's channel name, for peers to `send` to.
#[rpc_method]
fn my_channel(ctx: &RpcContext) -> Option<String> {
    ctx.channel_name().map(str::to_owned)
}

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/channels_peer.py");

fn python(args: &[&str]) -> Child {
    Command::new("python3")
        .arg(PEER)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs")
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

/// Kills the child by pid if the test fails before it exits.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    let status = python(&["group_send", &redis.url(), "room", &message.to_string()])
        .wait()
        .unwrap();
    assert!(status.success());
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
    assert!(python(&["send", &redis.url(), &channel, &direct.to_string()])
        .wait()
        .unwrap()
        .success());
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
    let mut peer = Reaped(python(&["listen", &redis.url(), "room"]));
    let mut lines = BufReader::new(peer.0.stdout.take().unwrap()).lines();
    let ready = tokio::task::spawn_blocking(move || {
        let first = lines.next();
        (first, lines)
    });
    let (first, mut lines) = tokio::time::timeout(Duration::from_secs(30), ready)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.unwrap().unwrap(), "ready");

    // A Rust client says something in the room: the Django consumer's
    // `rpc_notification` handler receives the layer message.
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let said = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"say","params":["room","from rust"],"id":1}"#,
    )
    .await;
    assert_eq!(said["result"], true, "{said}");
    let line = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || lines.next()),
    )
    .await
    .unwrap()
    .unwrap()
    .expect("the consumer printed its event")
    .unwrap();
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        event,
        json!({"type": "rpc.notification", "method": "chat.message", "params": {"room": "room", "text": "from rust"}})
    );
    assert!(peer.0.wait().unwrap().success());
    // The Rust client was not in the room: nothing came back to it.
    assert_eq!(next_json_within(&mut socket, Duration::from_millis(200)).await, None);
    server.shutdown().await.unwrap();
}
