//! The client against our server (spec-methods on 127.0.0.1:0) over HTTP and
//! WebSocket: calls, errors, notifications both ways, batches, answering
//! `ask_client`, timeouts, bounds, dropped connections and reconnecting.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use channels_rpc_client::{Backoff, Batch, Client, Error, RpcError};
use common::proxy::Proxy;
use common::{ours, urls};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

const SOON: Duration = Duration::from_secs(5);

#[derive(Serialize)]
struct Greet<'a> {
    name: &'a str,
    greeting: Option<&'a str>,
}

/// A quick reconnect for the tests: 20 ms doubling to 200 ms.
const QUICK: Backoff = Backoff {
    initial: Duration::from_millis(20),
    max: Duration::from_millis(200),
    max_attempts: None,
};

async fn recv<T>(receiver: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(SOON, receiver.recv())
        .await
        .expect("within 5 s")
        .expect("the sender lives")
}

#[tokio::test]
async fn calls_by_position_and_by_name_over_both_transports() {
    let server = ours().await;
    let (http, ws) = urls(&server);
    for url in [http, ws] {
        let client = Client::connect(&url).await.unwrap();
        assert_eq!(client.call::<i64>("add", (2, 3)).await.unwrap(), 5, "{url}");
        assert_eq!(client.call::<i64>("subtract", vec![42, 23]).await.unwrap(), 19);
        let named = Greet {
            name: "Ada",
            greeting: Some("Hi"),
        };
        assert_eq!(client.call::<String>("greet", named).await.unwrap(), "Hi, Ada!");
        let map = BTreeMap::from([("minuend", 10), ("subtrahend", 4)]);
        assert_eq!(client.call::<i64>("subtract", map).await.unwrap(), 6);
        assert_eq!(client.call::<String>("ping", ()).await.unwrap(), "pong");
        assert_eq!(
            client
                .call::<Value>("geometry.mirror", [json!({"x": 1, "y": 2})])
                .await
                .unwrap(),
            json!({"x": -1.0, "y": -2.0})
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn custom_headers_reach_the_server_over_both_transports() {
    let server = ours().await;
    let (http, ws) = urls(&server);
    for url in [http, ws] {
        let client = Client::builder(&url)
            .header("authorization", "Bearer s3cret")
            .connect()
            .await
            .unwrap();
        let seen: Option<String> = client.call("test.authorization", ()).await.unwrap();
        assert_eq!(seen.as_deref(), Some("Bearer s3cret"), "{url}");
        let plain = Client::connect(&url).await.unwrap();
        assert_eq!(
            plain.call::<Option<String>>("test.authorization", ()).await.unwrap(),
            None
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn errors_tell_apart_rpc_decode_transport_and_bad_input() {
    let server = ours().await;
    let (http, ws) = urls(&server);
    for url in [http, ws] {
        let client = Client::connect(&url).await.unwrap();
        let unknown = client.call::<Value>("no.such", ()).await.unwrap_err();
        assert_eq!(unknown.rpc().map(|e| e.code), Some(-32601), "{url}: {unknown}");
        let wrong = client.call::<i64>("add", ("x", 1)).await.unwrap_err();
        assert_eq!(wrong.rpc().map(|e| e.code), Some(-32602), "{wrong}");
        let Error::Rpc(application) = client.call::<i64>("parse_int", ("x",)).await.unwrap_err() else {
            panic!("an RPC error")
        };
        assert_eq!(application.code, -32000);
        assert_eq!(application.data, Some(json!([application.message])));
        assert!(matches!(
            client.call::<String>("add", (1, 2)).await,
            Err(Error::Decode(_))
        ));
        assert!(matches!(
            client.call::<i64>("add", 5).await,
            Err(Error::InvalidParams(_))
        ));
    }
    // Nothing listens on the port of a server that is shut down.
    let (http, ws) = urls(&server);
    server.shutdown().await.unwrap();
    let refused = Client::connect(&http).await.unwrap().call::<i64>("add", (1, 2)).await;
    assert!(matches!(refused, Err(Error::Transport(_))), "{refused:?}");
    assert!(matches!(Client::connect(&ws).await, Err(Error::Transport(_))));
    for url in ["https://127.0.0.1:1/", "wss://127.0.0.1:1/", "ftp://x/"] {
        let refused = Client::connect(url).await.unwrap_err();
        assert!(matches!(refused, Error::InvalidUrl { .. }), "{refused}");
    }
    let bad_header = Client::builder("ws://127.0.0.1:1/")
        .header("bad header", "x")
        .connect()
        .await;
    assert!(matches!(bad_header, Err(Error::InvalidUrl { .. })));
}

#[tokio::test]
async fn notifications_reach_the_server_and_pushes_reach_handlers_and_streams() {
    let server = ours().await;
    let (http, ws) = urls(&server);
    let member = Client::connect(&ws).await.unwrap();
    let (tx, mut said) = mpsc::unbounded_channel();
    member.on("chat.message", move |params| {
        let _ = tx.send(params);
    });
    let mut stream = member.notifications();
    assert!(member.call::<bool>("join", ("room",)).await.unwrap());

    // A notification from each transport: `say` runs, the member hears it.
    for (url, text) in [(&http, "over http"), (&ws, "over ws")] {
        let speaker = Client::connect(url).await.unwrap();
        speaker.notify("say", ("room", text)).await.unwrap();
        assert_eq!(recv(&mut said).await, json!({"room": "room", "text": text}));
        let pushed = tokio::time::timeout(SOON, stream.next()).await.unwrap().unwrap();
        assert_eq!(pushed.method, "chat.message");
        assert_eq!(pushed.params["text"], text);
    }

    // A push the member asked for, seen by the stream (no handler for it).
    assert!(member
        .call::<bool>("notify_me", json!({"method": "x.hello", "params": [1]}))
        .await
        .unwrap());
    let pushed = tokio::time::timeout(SOON, stream.next()).await.unwrap().unwrap();
    assert_eq!((pushed.method.as_str(), pushed.params), ("x.hello", json!([1])));

    // Over HTTP nothing is pushed: the stream ends at once.
    assert!(Client::connect(&http)
        .await
        .unwrap()
        .notifications()
        .next()
        .await
        .is_none());
    member.close().await;
    assert!(tokio::time::timeout(SOON, stream.next()).await.unwrap().is_none());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn batches_answer_each_call_in_order() {
    let server = ours().await;
    let (http, ws) = urls(&server);
    for url in [http, ws] {
        let client = Client::connect(&url).await.unwrap();
        let batch = Batch::new()
            .call("add", (1, 2))
            .notify("notify_hello", [7])
            .call("subtract", json!({"minuend": 5, "subtrahend": 3}))
            .call("no.such", ());
        let outcomes = client.batch(batch).await.unwrap();
        assert_eq!(outcomes.len(), 3, "{url}");
        assert_eq!(outcomes[0].as_ref().unwrap(), &json!(3));
        assert_eq!(outcomes[1].as_ref().unwrap(), &json!(2));
        assert_eq!(outcomes[2].as_ref().unwrap_err().rpc().map(|e| e.code), Some(-32601));
        // Only notifications: nothing to wait for.
        assert!(client
            .batch(Batch::new().notify("notify_hello", [1]))
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            client.batch(Batch::new().call("add", 1)).await,
            Err(Error::InvalidParams(_))
        ));
    }
    server.shutdown().await.unwrap();
}

/// A handler with a bug: it panics.
fn buggy(params: Value) -> Value {
    panic!("handler bug with {params}")
}

#[tokio::test]
async fn the_client_answers_ask_client() {
    let server = ours().await;
    let (_, ws) = urls(&server);
    let client = Client::connect(&ws).await.unwrap();
    client.answer("confirm", |params| async move { Ok(json!({"confirmed": params})) });
    client.answer("refuse", |_| async move {
        Err(RpcError {
            code: 4001,
            message: "user said no".into(),
            data: Some(json!({"why": "busy"})),
        })
    });
    let answer: Value = client.call("ask_client", ("confirm", ["sure?"])).await.unwrap();
    assert_eq!(answer, json!({"confirmed": ["sure?"]}));
    let named: Value = client
        .call("ask_client", json!({"method": "confirm", "params": {"q": 1}}))
        .await
        .unwrap();
    assert_eq!(named, json!({"confirmed": {"q": 1}}));
    // The client's error is the server's answer; a method it has no handler for gets -32601.
    let refused = client
        .call::<Value>("ask_client", ("refuse", [0; 0]))
        .await
        .unwrap_err();
    assert_eq!(
        refused.rpc(),
        Some(&RpcError {
            code: 4001,
            message: "user said no".into(),
            data: Some(json!({"why": "busy"}))
        })
    );
    let unknown = client
        .call::<Value>("ask_client", ("nobody", [0; 0]))
        .await
        .unwrap_err();
    assert_eq!(unknown.rpc().map(|e| e.code), Some(-32601), "{unknown}");
    // A handler that panics answers -32603 and the connection stays up.
    client.answer("explode", |params| async move { Ok(buggy(params)) });
    let exploded = client
        .call::<Value>("ask_client", ("explode", [0; 0]))
        .await
        .unwrap_err();
    assert_eq!(exploded.rpc().map(|e| e.code), Some(-32603), "{exploded}");
    client.on("x.panic", |_| panic!("handler bug"));
    assert!(client
        .call::<bool>("notify_me", json!({"method": "x.panic", "params": []}))
        .await
        .unwrap());
    assert_eq!(client.call::<String>("ping", ()).await.unwrap(), "pong");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn calls_time_out_without_leaking_and_the_bound_on_waiting_calls_holds() {
    let server = ours().await;
    let (http, ws) = urls(&server);
    for url in [http, ws] {
        let client = Client::builder(&url)
            .timeout(Duration::from_millis(200))
            .max_pending(1)
            .connect()
            .await
            .unwrap();
        let started = Instant::now();
        let late = client.call::<u64>("slow", (3000,)).await.unwrap_err();
        assert!(
            matches!(&late, Error::Timeout { method, .. } if method == "slow"),
            "{url}: {late}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        // The timed-out call holds no place: the one place is free again.
        assert_eq!(client.pending_calls(), 0, "{url}");
        assert_eq!(client.call_with_timeout::<u64>("slow", (10,), SOON).await.unwrap(), 10);
        let waiting = tokio::spawn({
            let client = client.clone();
            async move { client.call_with_timeout::<u64>("slow", (1500,), SOON).await }
        });
        while client.pending_calls() == 0 {
            if waiting.is_finished() {
                panic!("the waiting call ended early: {:?}", waiting.await);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let refused = client.call::<String>("ping", ()).await.unwrap_err();
        assert!(matches!(refused, Error::TooManyPending { limit: 1 }), "{refused}");
        assert_eq!(waiting.await.unwrap().unwrap(), 1500);
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn waiting_calls_fail_at_once_when_the_connection_drops() {
    let server = ours().await;
    let proxy = Proxy::start(server.local_addr()).await;
    let client = Client::builder(&format!("ws://{}/ws/", proxy.addr()))
        .reconnect(None)
        .connect()
        .await
        .unwrap();
    let mut stream = client.notifications();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.call::<u64>("slow", (20_000,)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    proxy.drop_connections();
    assert!(matches!(waiting.await.unwrap(), Err(Error::Disconnected)));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "at once, not after the 30 s timeout"
    );
    // Without reconnecting, the client stays closed.
    assert!(tokio::time::timeout(SOON, stream.next()).await.unwrap().is_none());
    assert!(!client.is_connected());
    assert!(matches!(
        client.call::<String>("ping", ()).await,
        Err(Error::Disconnected)
    ));
    assert!(matches!(client.notify("ping", ()).await, Err(Error::Disconnected)));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn reconnects_with_backoff_and_the_hook_rejoins_the_room() {
    let server = ours().await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (rejoined_tx, mut rejoined) = mpsc::unbounded_channel();
    let member = Client::builder(&format!("ws://{}/ws/", proxy.addr()))
        .reconnect(Some(QUICK))
        .on_reconnect(move |client| {
            let rejoined = rejoined_tx.clone();
            async move {
                let joined = client.call::<bool>("join", ("room",)).await;
                let _ = rejoined.send(joined.map_err(|e| e.to_string()));
            }
        })
        .connect()
        .await
        .unwrap();
    let (said_tx, mut said) = mpsc::unbounded_channel();
    member.on("chat.message", move |params| {
        let _ = said_tx.send(params["text"].clone());
    });
    assert!(member.call::<bool>("join", ("room",)).await.unwrap());
    let (_, ws) = urls(&server);
    let speaker = Client::connect(&ws).await.unwrap();

    for round in ["first drop", "second drop"] {
        let waiting = tokio::spawn({
            let member = member.clone();
            async move { member.call::<u64>("slow", (20_000,)).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        proxy.drop_connections();
        assert!(matches!(waiting.await.unwrap(), Err(Error::Disconnected)), "{round}");
        assert_eq!(recv(&mut rejoined).await, Ok(true), "{round}: the hook rejoined");
        assert!(member.is_connected());
        assert!(speaker.call::<bool>("say", ("room", round)).await.unwrap());
        assert_eq!(recv(&mut said).await, json!(round), "the new connection is in the room");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn reconnects_to_a_server_brought_back_on_the_same_port() {
    let server = ours().await;
    let addr = server.local_addr();
    let (rejoined_tx, mut rejoined) = mpsc::unbounded_channel();
    let client = Client::builder(&format!("ws://{addr}/ws/"))
        .reconnect(Some(QUICK))
        .on_reconnect(move |client| {
            let rejoined = rejoined_tx.clone();
            async move {
                let _ = rejoined.send(client.call::<String>("ping", ()).await.map_err(|e| e.to_string()));
            }
        })
        .connect()
        .await
        .unwrap();
    assert_eq!(client.call::<String>("ping", ()).await.unwrap(), "pong");
    server.shutdown().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(
        client.call::<String>("ping", ()).await,
        Err(Error::Disconnected)
    ));
    let server = common::ours_on(&addr.to_string()).await;
    assert_eq!(recv(&mut rejoined).await, Ok("pong".to_owned()));
    assert_eq!(client.call::<i64>("add", (1, 1)).await.unwrap(), 2);
    server.shutdown().await.unwrap();
}
