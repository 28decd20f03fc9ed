//! channels_redis' `symmetric_encryption_keys` (rpc-redis feature
//! `symmetric-encryption`): the real channels_redis and Rust's layer, given
//! the same keys in another order, exchange Fernet-sealed messages both ways
//! over both layers (each seals with its first key and opens with any), and
//! a layer without the keys drops what it cannot open.
//!
//! Needs redis-server and python3 with channels_redis and cryptography;
//! without them the build script leaves `has_channels_redis_crypto` unset and
//! the tests are ignored.

mod common;

use std::time::Duration;

use channels_rpc::{json, ChannelLayer, RedisLayer, Value};
use common::peer::{self, Peer};
use common::redis::RedisServer;
use rpc_core::Inbox;
use rpc_redis::{non_local_name, Flavor};

/// The next message of `inbox` within `limit`, if one comes.
async fn within(inbox: &mut Inbox, limit: Duration) -> Option<Value> {
    let envelope = tokio::time::timeout(limit, inbox.messages.recv()).await.ok()??;
    Some(envelope.message().clone())
}

fn notification(method: &str) -> Value {
    json!({"type": "rpc.notification", "method": method, "params": ["é", 1]})
}

async fn encrypted_both_ways(flavor: Flavor) {
    let redis = RedisServer::start();
    let hosts = [redis.url()];
    let peer_layer = flavor.to_string();
    let python_keys = json!({"symmetric_encryption_keys": ["secret", "rotated"]});
    let rust = RedisLayer::with_flavor(flavor, redis.url())
        .symmetric_encryption_keys(["rotated", "secret"])
        .build()
        .unwrap();
    let keyless = RedisLayer::with_flavor(flavor, redis.url()).build().unwrap();
    let mut inbox = rust.new_channel().await.unwrap();
    let mut outsider = keyless.new_channel().await.unwrap();
    rust.group_add("room", &inbox.name).await.unwrap();
    keyless.group_add("room", &outsider.name).await.unwrap();

    // Python seals with "secret", Rust opens it with its second key.
    let group_send = ["group_send", "room", &notification("from.python").to_string()];
    peer::run(&peer_layer, &hosts, &group_send, Some(&python_keys)).await;
    let limit = Duration::from_secs(10);
    assert_eq!(within(&mut inbox, limit).await, Some(notification("from.python")));
    let sent = peer::send(
        &peer_layer,
        &hosts,
        &[&inbox.name],
        &notification("direct"),
        Some(&python_keys),
    )
    .await;
    assert_eq!(sent, ["sent"]);
    assert_eq!(within(&mut inbox, limit).await, Some(notification("direct")));
    assert_eq!(
        within(&mut outsider, Duration::from_millis(300)).await,
        None,
        "a layer without the keys opens nothing"
    );

    // Rust seals with "rotated", a Django consumer opens it with its second key.
    let (mut django, names) = Peer::listen_with(&peer_layer, &hosts, "room", 1, 2, Some(&python_keys)).await;
    rust.group_send("room", notification("from.rust")).await.unwrap();
    rust.send(&names[0], notification("to.django")).await.unwrap();
    let mut events = [django.json().await, django.json().await];
    events.sort_by_key(|e| e["event"]["method"].as_str().map(str::to_owned));
    assert_eq!(
        events,
        [
            json!({"channel": names[0], "event": notification("from.rust")}),
            json!({"channel": names[0], "event": notification("to.django")}),
        ]
    );
    django.finish().await;
    assert_eq!(within(&mut inbox, limit).await, Some(notification("from.rust")));
    assert_eq!(within(&mut outsider, Duration::from_millis(300)).await, None);
}

#[cfg_attr(
    not(has_channels_redis_crypto),
    ignore = "needs redis-server and python3 with channels_redis and cryptography (pip install \"channels_redis[cryptography]==4.3.0\")"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_layer_encrypted_with_django() {
    encrypted_both_ways(Flavor::Core).await;
}

#[cfg_attr(
    not(has_channels_redis_crypto),
    ignore = "needs redis-server and python3 with channels_redis and cryptography (pip install \"channels_redis[cryptography]==4.3.0\")"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_layer_encrypted_with_django() {
    encrypted_both_ways(Flavor::PubSub).await;
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_layer_stores_fernet_tokens() {
    let redis = RedisServer::start();
    let layer = RedisLayer::core(redis.url())
        .symmetric_encryption_keys(["secret"])
        .build()
        .unwrap();
    let absent = "specific.00000000000000000000000000000000!gone";
    layer
        .send(absent, json!({"type": "t", "text": "hidden"}))
        .await
        .unwrap();
    let key = format!("asgi{}", non_local_name(absent));
    let stored: Vec<Vec<u8>> = redis.query(redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1));
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0][12..].starts_with(b"gAAAAA"),
        "12 random bytes, then a Fernet token"
    );
    assert!(!stored[0].windows(6).any(|w| w == b"hidden"));
}
