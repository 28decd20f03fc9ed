//! `MetricsMiddleware` and the in-process layer's counts with a real
//! recorder (metrics-util's `DebuggingRecorder`, installed globally) over
//! real WebSocket and HTTP connections: calls by registered method and
//! outcome, the latency histogram, open connections by transport, messages
//! in and out, layer messages sent, received and dropped. One test: the
//! recorder is global to the process and a snapshot resets what it reads.

use std::collections::HashMap;
use std::time::Duration;

use channels_rpc::middleware::{MetricsMiddleware, UNKNOWN_METHOD};
use channels_rpc::{
    json, rpc_method, rpc_notification, ChannelLayer, Consumer, InProcessLayer, RpcContext, RpcError, Server,
};
use futures_util::{SinkExt, StreamExt};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

#[derive(Consumer, Default)]
struct Metered;

#[rpc_method(consumer = Metered)]
fn ping() -> &'static str {
    "pong"
}

#[rpc_method(consumer = Metered)]
fn fail() -> Result<(), RpcError> {
    Err(RpcError::application("no"))
}

#[rpc_method(consumer = Metered)]
async fn join(ctx: &RpcContext) -> Result<bool, RpcError> {
    ctx.group_add("room").await.map_err(RpcError::application)?;
    Ok(true)
}

#[rpc_method(consumer = Metered)]
async fn shout(ctx: &RpcContext) -> Result<bool, RpcError> {
    let message = json!({"type": "rpc.notification", "method": "heard", "params": []});
    ctx.group_send("room", message).await.map_err(RpcError::application)?;
    Ok(true)
}

#[rpc_notification(consumer = Metered)]
fn note() {}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: std::net::SocketAddr) -> Socket {
    tokio_tungstenite::connect_async(format!("ws://{addr}/ws/"))
        .await
        .unwrap()
        .0
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn ws_call(socket: &mut Socket, method: &str, id: u64) -> Value {
    let request = format!(r#"{{"jsonrpc":"2.0","method":"{method}","id":{id}}}"#);
    socket.send(Message::text(request)).await.unwrap();
    next_json(socket).await
}

async fn post(addr: std::net::SocketAddr, method: &str) -> String {
    let body = format!(r#"{{"jsonrpc":"2.0","method":"{method}","id":1}}"#);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// A metric's name and labels, as `name{k=v,...}` with the labels sorted.
fn series(key: &metrics::Key) -> String {
    let mut labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_middleware_and_the_layer_count_what_the_calls_did() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("the only recorder of this test binary");

    let app = Metered::app().middleware(MetricsMiddleware::new());
    let server = Server::bind("127.0.0.1:0")
        .websocket("/ws/", app.clone())
        .http("/rpc/", app)
        .listen()
        .await
        .unwrap()
        .spawn();
    let addr = server.local_addr();

    // A: joins the room, calls twice, calls a method that does not exist,
    // sends a notification; B stays open; C opens and closes.
    let mut a = connect(addr).await;
    assert_eq!(ws_call(&mut a, "join", 1).await["result"], true);
    assert_eq!(ws_call(&mut a, "ping", 2).await["result"], "pong");
    assert_eq!(ws_call(&mut a, "ping", 3).await["result"], "pong");
    assert_eq!(ws_call(&mut a, "nope", 4).await["error"]["code"], -32601);
    a.send(Message::text(r#"{"jsonrpc":"2.0","method":"note"}"#))
        .await
        .unwrap();
    let mut b = connect(addr).await;
    assert_eq!(ws_call(&mut b, "ping", 1).await["result"], "pong");
    let mut c = connect(addr).await;
    assert_eq!(ws_call(&mut c, "ping", 1).await["result"], "pong");
    c.close(None).await.unwrap();
    // Over HTTP: a call, an error, a client-chosen name, and a group message A hears.
    assert!(post(addr, "ping").await.contains(r#""result":"pong""#));
    assert!(post(addr, "fail").await.contains("-32000"));
    assert!(post(addr, "x-attacker-chosen-name-1234").await.contains("-32601"));
    assert!(post(addr, "shout").await.contains(r#""result":true"#));
    assert_eq!(next_json(&mut a).await["method"], "heard");
    // The in-process layer on its own: a full channel and a channel that is gone drop.
    let layer = InProcessLayer::with_capacity(1);
    let inbox = layer.new_channel().await.unwrap();
    layer.send(&inbox.name, json!({"type": "x"})).await.unwrap();
    layer.send(&inbox.name, json!({"type": "x"})).await.unwrap();
    layer
        .send("inprocess.specific.gone", json!({"type": "x"}))
        .await
        .unwrap();
    // C's disconnect is reported after its close handshake.
    for _ in 0..500 {
        if server.stats().websockets() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.stats().websockets(), 2);

    let mut counters = HashMap::new();
    let mut gauges = HashMap::new();
    let mut histograms = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let name = series(key.key());
        match (key.kind(), value) {
            (MetricKind::Counter, DebugValue::Counter(n)) => {
                counters.insert(name, n);
            }
            (MetricKind::Gauge, DebugValue::Gauge(v)) => {
                gauges.insert(name, v.into_inner());
            }
            (MetricKind::Histogram, DebugValue::Histogram(values)) => {
                histograms.insert(name, values.into_iter().map(|v| v.into_inner()).collect::<Vec<f64>>());
            }
            (kind, value) => panic!("{kind:?} with {value:?}"),
        }
    }
    let count = |series: &str| counters.get(series).copied().unwrap_or(0);
    assert_eq!(
        count("channels_rpc_calls_total{method=ping,outcome=ok}"),
        5,
        "{counters:#?}"
    );
    assert_eq!(count("channels_rpc_calls_total{method=join,outcome=ok}"), 1);
    assert_eq!(count("channels_rpc_calls_total{method=shout,outcome=ok}"), 1);
    assert_eq!(count("channels_rpc_calls_total{method=fail,outcome=error}"), 1);
    assert_eq!(count("channels_rpc_calls_total{method=note,outcome=notification}"), 1);
    let unknown = format!("channels_rpc_calls_total{{method={UNKNOWN_METHOD},outcome=error}}");
    assert_eq!(count(&unknown), 2);
    // No label carries a name the client chose.
    let all: Vec<&String> = counters.keys().chain(gauges.keys()).chain(histograms.keys()).collect();
    assert!(
        all.iter().all(|s| !s.contains("nope") && !s.contains("attacker")),
        "{all:#?}"
    );
    let pings = &histograms["channels_rpc_call_duration_seconds{method=ping}"];
    assert_eq!(pings.len(), 5);
    assert!(pings.iter().all(|s| (0.0..1.0).contains(s)), "{pings:?}");
    // A and B open (C came and went); every HTTP request has ended.
    assert_eq!(
        gauges["channels_rpc_connections_open{transport=websocket}"], 2.0,
        "{gauges:#?}"
    );
    assert_eq!(gauges["channels_rpc_connections_open{transport=http}"], 0.0);
    // A: 5 in; 4 replies and the group message out (the notification has no
    // reply). B and C: 1 in, 1 out each. HTTP: 4 in, 4 out.
    assert_eq!(
        count("channels_rpc_messages_total{direction=in,transport=websocket}"),
        7
    );
    assert_eq!(
        count("channels_rpc_messages_total{direction=out,transport=websocket}"),
        7
    );
    assert_eq!(count("channels_rpc_messages_total{direction=in,transport=http}"), 4);
    assert_eq!(count("channels_rpc_messages_total{direction=out,transport=http}"), 4);
    // The server's layer: shout sent once, received by A; the layer of
    // our own: three sent, one received, two dropped.
    assert_eq!(
        count("channels_rpc_layer_messages_total{direction=sent,layer=in_process}"),
        4
    );
    assert_eq!(
        count("channels_rpc_layer_messages_total{direction=received,layer=in_process}"),
        2
    );
    assert_eq!(
        count("channels_rpc_layer_messages_total{direction=dropped,layer=in_process}"),
        2
    );
    drop((a, b));
    server.shutdown().await.unwrap();
}
