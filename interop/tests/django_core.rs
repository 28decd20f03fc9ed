//! Wire compatibility with Django Channels' default layer: the real
//! `channels_redis.core.RedisChannelLayer` (run by tests/python/channels_peer.py)
//! and Rust's [`RedisLayer::core`] share redis-servers the tests start, on
//! one host and sharded over two and three.
//!
//! Needs redis-server and python3 with channels_redis; without them the
//! build script leaves `has_channels_redis` unset and the tests are ignored.

mod common;

use std::time::Duration;

use channels_rpc::{json, ChannelLayer, LayerError, RedisLayer, Value};
use common::peer::{self, Peer};
use common::redis::{urls, RedisServer};
use common::server::{channel_of, serve, until};
use common::ws::{call, connect_to, joined, next_json};
use rpc_core::Inbox;
use rpc_redis::{non_local_name, shard_index};

const CORE: &str = "core";

fn notification(method: &str, params: Value) -> Value {
    json!({"type": "rpc.notification", "method": method, "params": params})
}

/// The JSON-RPC notification a WebSocket client gets for `notification(method, params)`.
fn as_received(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

async fn next_message(inbox: &mut Inbox) -> Value {
    let envelope = tokio::time::timeout(Duration::from_secs(10), inbox.messages.recv())
        .await
        .expect("a message within 10 s")
        .expect("the channel is open");
    envelope.message().clone()
}

/// True when channels_redis 4.3's `send` puts this channel's messages on
/// another host than the one its `receive` reads (the full name and the part
/// before `!` hash to different hosts).
fn misplaced_by_channels_redis(channel: &str, hosts: usize) -> bool {
    shard_index(channel, hosts) != shard_index(non_local_name(channel), hosts)
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_group_send_and_send_reach_rust_connections() {
    let redis = RedisServer::start();
    let server = serve(RedisLayer::core(redis.url()).build().unwrap()).await;
    let mut socket = joined(server.local_addr(), "room").await;
    let channel = channel_of(&mut socket).await;
    assert!(channel.starts_with("specific.") && channel.contains('!'), "{channel}");
    assert_eq!(
        redis.zmembers("asgi:group:room"),
        std::slice::from_ref(&channel),
        "the member is the full channel name"
    );

    let hosts = [redis.url()];
    let text = json!({"room": "room", "text": "from django"});
    peer::group_send(CORE, &hosts, "room", &notification("chat.message", text.clone())).await;
    assert_eq!(next_json(&mut socket).await, as_received("chat.message", text));

    let sent = peer::send(
        CORE,
        &hosts,
        &[&channel],
        &notification("direct", json!(["just you"])),
        None,
    )
    .await;
    assert_eq!(sent, ["sent"]);
    assert_eq!(next_json(&mut socket).await, as_received("direct", json!(["just you"])));
    server.shutdown().await.unwrap();
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_group_send_and_send_reach_a_django_consumer_handler() {
    let redis = RedisServer::start();
    let hosts = [redis.url()];
    let server = serve(RedisLayer::core(redis.url()).build().unwrap()).await;
    let (mut django, names) = Peer::listen(CORE, &hosts, "room", 1, 2).await;
    assert_eq!(redis.zmembers("asgi:group:room"), names, "channels_redis' group_add");

    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let said = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"say","params":["room","from rust"],"id":1}"#,
    )
    .await;
    assert_eq!(said["result"], true, "{said}");
    let event = django.json().await;
    assert_eq!(
        event,
        json!({"channel": names[0], "event": notification("chat.message", json!({"room": "room", "text": "from rust"}))})
    );

    server
        .layer()
        .send(&names[0], notification("direct", json!([1, "é", null, 2.5])))
        .await
        .unwrap();
    assert_eq!(
        django.json().await,
        json!({"channel": names[0], "event": notification("direct", json!([1, "é", null, 2.5]))})
    );
    django.finish().await;
    // The consumer's disconnect left the group.
    assert!(redis.zmembers("asgi:group:room").is_empty());
    server.shutdown().await.unwrap();
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_and_disconnect_remove_the_member() {
    let redis = RedisServer::start();
    let server = serve(RedisLayer::core(redis.url()).build().unwrap()).await;
    let mut socket = joined(server.local_addr(), "lobby").await;
    let channel = channel_of(&mut socket).await;
    let key = "asgi:group:lobby";
    assert_eq!(redis.zmembers(key), std::slice::from_ref(&channel));
    let ttl: i64 = redis.query(redis::cmd("TTL").arg(key));
    assert!(
        (86_390..=86_400).contains(&ttl),
        "group_expiry is renewed on add: {ttl}"
    );
    let left = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"leave","params":["lobby"],"id":2}"#,
    )
    .await;
    assert_eq!(left["result"], true);
    assert!(redis.zmembers(key).is_empty(), "leave removed the member");

    let joined_again = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"join","params":["lobby"],"id":3}"#,
    )
    .await;
    assert_eq!(joined_again["result"], true);
    assert_eq!(redis.zmembers(key), [channel]);
    socket.close(None).await.unwrap();
    until("the closed connection to leave", || redis.zmembers(key).is_empty()).await;
    server.shutdown().await.unwrap();
}

/// A channel of a process that never receives: its messages pile up.
const ABSENT: &str = "specific.00000000000000000000000000000000!gone";

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_capacity_send_fails_and_group_send_skips_as_in_channels_redis() {
    let redis = RedisServer::start();
    let hosts = [redis.url()];
    let layer = RedisLayer::core(redis.url())
        .capacity(3)
        .channel_capacity("specific.11111111*", 1)
        .build()
        .unwrap();
    let absent_key = format!("asgi{}", non_local_name(ABSENT));
    for i in 0..3 {
        layer.send(ABSENT, json!({"type": "t", "i": i})).await.unwrap();
    }
    assert_eq!(
        layer.send(ABSENT, json!({"type": "t", "i": 3})).await,
        Err(LayerError::ChannelFull(ABSENT.to_owned()))
    );
    let capacity_3 = json!({"capacity": 3});
    let python = peer::send(CORE, &hosts, &[ABSENT], &json!({"type": "t"}), Some(&capacity_3)).await;
    assert_eq!(python, ["full"], "channels_redis sees the same channel as full");
    assert_eq!(redis.zcard(&absent_key), 3);

    // A pattern's capacity.
    let patterned = "specific.11111111000000000000000000000000!x";
    layer.send(patterned, json!({"type": "t"})).await.unwrap();
    assert!(matches!(
        layer.send(patterned, json!({"type": "t"})).await,
        Err(LayerError::ChannelFull(_))
    ));

    // A group send skips the full member and reaches the others, from either side.
    let mut live = layer.new_channel().await.unwrap();
    layer.group_add("room", ABSENT).await.unwrap();
    layer.group_add("room", &live.name).await.unwrap();
    layer
        .group_send("room", json!({"type": "t", "from": "rust"}))
        .await
        .unwrap();
    assert_eq!(next_message(&mut live).await, json!({"type": "t", "from": "rust"}));
    peer::run(
        CORE,
        &hosts,
        &["group_send", "room", r#"{"type": "t", "from": "python"}"#],
        Some(&capacity_3),
    )
    .await;
    assert_eq!(next_message(&mut live).await, json!({"type": "t", "from": "python"}));
    assert_eq!(redis.zcard(&absent_key), 3, "the full channel got nothing more");
}

#[cfg_attr(
    not(has_redis),
    ignore = "needs redis-server (apt-get install redis-server), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_prunes_old_messages_and_old_members() {
    let redis = RedisServer::start();
    let layer = RedisLayer::core(redis.url())
        .expiry(Duration::from_secs(2))
        .group_expiry(Duration::from_secs(2))
        .build()
        .unwrap();
    let absent_key = format!("asgi{}", non_local_name(ABSENT));
    let others = [
        "specific.0000000000000000000000000000000a!b",
        "specific.0000000000000000000000000000000a!c",
    ];

    // t = 0, 1.5 and 3.1 s: each add prunes what is older than int(now) - 2,
    // which at 3.1 s is the first and only the first.
    layer.send(ABSENT, json!({"type": "t", "i": 0})).await.unwrap();
    layer.group_add("old", ABSENT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    layer.send(ABSENT, json!({"type": "t", "i": 1})).await.unwrap();
    layer.group_add("old", others[0]).await.unwrap();
    let ttl: i64 = redis.query(redis::cmd("TTL").arg(&absent_key));
    assert!((1..=2).contains(&ttl), "a message key expires after `expiry`: {ttl}");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    layer.send(ABSENT, json!({"type": "t", "i": 2})).await.unwrap();
    assert_eq!(redis.zcard(&absent_key), 2, "the first message was pruned");
    layer.group_add("old", others[1]).await.unwrap();
    layer.group_send("old", json!({"type": "t"})).await.unwrap();
    assert_eq!(redis.zmembers("asgi:group:old"), others, "the first member was pruned");
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_keys_land_on_the_host_channels_redis_picks() {
    let servers = RedisServer::start_many(3);
    let hosts = urls(&servers);
    let layer = RedisLayer::core(hosts.clone()).build().unwrap();
    let inbox = layer.new_channel().await.unwrap();
    // _consistent_hash(group, 3) in channels_redis 4.3, computed on this machine.
    let computed_by_channels_redis = [("room", 0), ("lobby", 1), ("ops", 2), ("news", 1), ("delta", 2)];
    for (group, host) in computed_by_channels_redis {
        layer.group_add(group, &inbox.name).await.unwrap();
        peer::run(CORE, &hosts, &["group_add", group, "python.channel"], None).await;
        let key = format!("asgi:group:{group}");
        for (i, server) in servers.iter().enumerate() {
            if i == host {
                let mut members = server.zmembers(&key);
                members.sort();
                let mut expected = [inbox.name.clone(), "python.channel".to_owned()];
                expected.sort();
                assert_eq!(members, expected, "{group}");
            } else {
                assert!(!server.exists(&key), "{group} is not on host {i}");
            }
        }
    }
}

/// Both directions over `n` hosts, with names that channels_redis' own
/// `send` misplaces among them.
async fn sharded_both_ways(n: usize) {
    let servers = RedisServer::start_many(n);
    let hosts = urls(&servers);
    let layer = RedisLayer::core(hosts.clone()).build().unwrap();

    // Sixteen Django consumers in one process: some of their names are misplaced
    // by channels_redis' send (each is with probability 1 - 1/n).
    let consumers = 16;
    let (mut django, names) = Peer::listen(CORE, &hosts, "room", consumers, 2 * consumers).await;
    assert!(
        names.iter().any(|name| misplaced_by_channels_redis(name, n)),
        "no misplaced name among {names:?}"
    );
    // Rust sends to each consumer where channels_redis receives it.
    for name in &names {
        layer.send(name, notification("direct", json!([name]))).await.unwrap();
    }
    // A Rust group send reaches every consumer of the group.
    layer.group_send("room", notification("all", json!([]))).await.unwrap();
    let mut direct = 0;
    let mut all = 0;
    for _ in 0..2 * consumers {
        let line = django.json().await;
        let channel = line["channel"].as_str().unwrap();
        assert!(names.iter().any(|n| n == channel), "{line}");
        match line["event"]["method"].as_str() {
            Some("direct") => {
                assert_eq!(line["event"]["params"], json!([channel]));
                direct += 1;
            }
            Some("all") => all += 1,
            _ => panic!("unexpected {line}"),
        }
    }
    assert_eq!((direct, all), (consumers, consumers));
    django.finish().await;

    // Python sends to Rust channels, misplaced or not: all arrive, because
    // the Rust layer listens for its process on every host.
    let mut inboxes = Vec::new();
    while !(inboxes.iter().any(|i: &Inbox| misplaced_by_channels_redis(&i.name, n))
        && inboxes.iter().any(|i| !misplaced_by_channels_redis(&i.name, n)))
    {
        assert!(inboxes.len() < 200, "no misplaced channel name in 200");
        inboxes.push(layer.new_channel().await.unwrap());
    }
    let names: Vec<&str> = inboxes.iter().map(|i| i.name.as_str()).collect();
    let sent = peer::send(CORE, &hosts, &names, &notification("from.python", json!([])), None).await;
    assert!(sent.iter().all(|s| s == "sent"), "{sent:?}");
    for inbox in &mut inboxes {
        assert_eq!(
            next_message(inbox).await,
            notification("from.python", json!([])),
            "{}",
            inbox.name
        );
    }

    // Python group sends reach Rust members wherever their messages are queued.
    for inbox in &inboxes {
        layer.group_add("rust.room", &inbox.name).await.unwrap();
    }
    peer::group_send(CORE, &hosts, "rust.room", &notification("group", json!([]))).await;
    for inbox in &mut inboxes {
        assert_eq!(next_message(inbox).await, notification("group", json!([])));
    }
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_over_two_hosts_both_ways() {
    sharded_both_ways(2).await;
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_over_three_hosts_both_ways() {
    sharded_both_ways(3).await;
}

#[cfg_attr(
    not(has_channels_redis),
    ignore = "needs redis-server and python3 with channels_redis (pip install channels_redis==4.3.0), which .ci/run installs"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_and_undecodable_messages_are_dropped_not_fatal() {
    let redis = RedisServer::start();
    let hosts = [redis.url()];
    let layer = RedisLayer::core(redis.url()).build().unwrap();
    let mut inbox = layer.new_channel().await.unwrap();
    let process_key = format!("asgi{}", non_local_name(&inbox.name));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let prefixed = |message: &Value| {
        let mut body = vec![7u8; 12];
        body.extend(rpc_redis::encode(message).unwrap());
        body
    };
    let junk: Vec<(f64, Vec<u8>)> = vec![
        (now, b"short".to_vec()),
        (now, [[0u8; 12].as_slice(), b"\xc1\xc1\xc1"].concat()),
        (now, prefixed(&json!({"type": "no.channel"}))),
        (now, prefixed(&json!({"type": "t", "__asgi_channel__": 5}))),
        (
            now,
            prefixed(&json!({"type": "t", "__asgi_channel__": "specific.ffffffffffffffffffffffffffffffff!x"})),
        ),
        (
            now,
            [[0u8; 12].as_slice(), b"\x82\xa4type\xa1t\xa4data\xc4\x01x"].concat(),
        ),
        (
            now - 120.0,
            prefixed(&json!({"type": "expired", "__asgi_channel__": inbox.name})),
        ),
    ];
    for (score, body) in &junk {
        redis.query::<i64>(redis::cmd("ZADD").arg(&process_key).arg(*score).arg(body.as_slice()));
    }
    // The same group and channel under another prefix are another application's.
    layer.group_add("room", &inbox.name).await.unwrap();
    let other_prefix = json!({"prefix": "other"});
    peer::run(
        CORE,
        &hosts,
        &["group_send", "room", r#"{"type": "other.app"}"#],
        Some(&other_prefix),
    )
    .await;
    peer::send(
        CORE,
        &hosts,
        &[&inbox.name],
        &json!({"type": "other.app"}),
        Some(&other_prefix),
    )
    .await;
    // A message of another type than rpc.notification, as Django apps send them.
    peer::send(
        CORE,
        &hosts,
        &[&inbox.name],
        &json!({"type": "chat_message", "text": "hi"}),
        None,
    )
    .await;
    assert_eq!(
        next_message(&mut inbox).await,
        json!({"type": "chat_message", "text": "hi"})
    );
    peer::send(CORE, &hosts, &[&inbox.name], &notification("after", json!([])), None).await;
    assert_eq!(next_message(&mut inbox).await, notification("after", json!([])));
    assert!(redis.zcard(&process_key) == 0, "everything was popped");
    // A message with the reserved field is refused on the way out.
    assert_eq!(
        layer
            .send(&inbox.name, json!({"type": "t", "__asgi_channel__": "x"}))
            .await,
        Err(LayerError::InvalidMessage)
    );
}
