//! A consumer mounted on an axum `Router` (`route_service`) beside REST
//! routes, under tower-http's `TraceLayer`, served by `axum::serve` on
//! 127.0.0.1:0: HTTP and WebSocket calls go through axum and the layer, and
//! graceful shutdown drains the service's WebSockets with its handle.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use channels_rpc::{json, rpc_method, Consumer, RpcService};
use common::ws::{connect_to, next_json};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::rpc_params;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tower_http::trace::TraceLayer;

mod common;

#[derive(Consumer, Default)]
struct Api;

/// Adds two integers.
#[rpc_method]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Answers `ms` after sleeping that long.
#[rpc_method]
async fn slow(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// The application's REST routes and JSON-RPC at `/api/rpc`, traced; the
/// layer counts the responses it sees.
fn router(rpc: RpcService<Api>, traced: Arc<AtomicUsize>) -> Router {
    let trace = TraceLayer::new_for_http().on_response(
        move |_: &http::Response<_>, _latency: Duration, _span: &tracing::Span| {
            traced.fetch_add(1, Ordering::Relaxed);
        },
    );
    Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .route(
            "/items/{id}",
            get(|Path(id): Path<u32>| async move { format!("item {id}\n") }),
        )
        .route_service("/api/rpc", rpc)
        .layer(trace)
}

/// axum serving the router until `stop` is sent.
struct App {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    served: JoinHandle<std::io::Result<()>>,
    traced: Arc<AtomicUsize>,
}

async fn start(rpc: RpcService<Api>) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    let traced = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(rpc, traced.clone());
    let served = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    App {
        addr,
        stop,
        served,
        traced,
    }
}

/// GET `path`: the status and the body.
async fn get_text(addr: SocketAddr, path: &str) -> (u16, String) {
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri: http::Uri = format!("http://{addr}{path}").parse().expect("a URI");
    let response = client.get(uri).await.expect("a response");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.expect("a body").to_bytes();
    (status, String::from_utf8(body.to_vec()).expect("UTF-8"))
}

#[tokio::test]
async fn rest_routes_and_json_rpc_over_http_and_websocket_share_the_router_and_its_layer() {
    let rpc = RpcService::new(Api::app());
    let app = start(rpc.clone()).await;
    let addr = app.addr;

    assert_eq!(get_text(addr, "/health").await, (200, "ok\n".to_owned()));
    assert_eq!(get_text(addr, "/items/7").await, (200, "item 7\n".to_owned()));
    assert_eq!(get_text(addr, "/nowhere").await.0, 404);

    let http = jsonrpsee_http_client::HttpClientBuilder::default()
        .build(format!("http://{addr}/api/rpc"))
        .expect("a client");
    let sum: i64 = http.request("add", rpc_params![40, 2]).await.expect("an HTTP answer");
    assert_eq!(sum, 42);

    let ws = jsonrpsee_ws_client::WsClientBuilder::default()
        .build(format!("ws://{addr}/api/rpc"))
        .await
        .expect("a WebSocket through axum");
    let sum: i64 = ws
        .request("add", rpc_params![20, 22])
        .await
        .expect("a WebSocket answer");
    assert_eq!(sum, 42);
    assert_eq!(rpc.stats().websockets(), 1);

    // Three GETs, one POST, one upgrade (101): the layer saw them all.
    assert_eq!(app.traced.load(Ordering::Relaxed), 5);
    drop(ws);
    let _ = app.stop.send(());
    app.served.await.expect("join").expect("axum served");
    rpc.shutdown_handle().shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_running_calls_and_closes_websockets_with_1001() {
    let rpc = RpcService::new(Api::app());
    let shutdown = rpc.shutdown_handle();
    let app = start(rpc.clone()).await;
    let mut socket = connect_to(app.addr, "/api/rpc", &[]).await;
    let call = json!({"jsonrpc": "2.0", "method": "slow", "params": [300], "id": 1});
    socket.send(Message::text(call.to_string())).await.expect("send");
    tokio::time::sleep(Duration::from_millis(50)).await;

    // axum stops first: it waits for HTTP requests, not for upgraded sockets.
    let started = Instant::now();
    let _ = app.stop.send(());
    app.served.await.expect("join").expect("axum served");
    assert_eq!(
        rpc.stats().websockets(),
        1,
        "axum's shutdown closed the WebSocket by itself"
    );
    let drained = tokio::spawn(shutdown.shutdown());

    // The running call answers, then the socket closes with 1001.
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": 300, "id": 1})
    );
    assert_eq!(close_code(&mut socket).await, CloseCode::Away);
    drop(socket);
    tokio::time::timeout(Duration::from_secs(5), drained)
        .await
        .expect("the service shut down within its bound")
        .expect("join");
    assert_eq!(rpc.stats().websockets(), 0);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn once_shut_down_new_upgrades_are_refused_503_while_http_is_still_answered() {
    let rpc = RpcService::new(Api::app());
    let app = start(rpc.clone()).await;
    rpc.shutdown_handle().shutdown().await;

    let refused = tokio_tungstenite::connect_async(format!("ws://{}/api/rpc", app.addr)).await;
    match refused {
        Err(WsError::Http(response)) => assert_eq!(response.status(), http::StatusCode::SERVICE_UNAVAILABLE),
        other => panic!("an upgrade after shutdown was not refused with 503: {other:?}"),
    }
    let http = jsonrpsee_http_client::HttpClientBuilder::default()
        .build(format!("http://{}/api/rpc", app.addr))
        .expect("a client");
    let sum: i64 = http.request("add", rpc_params![1, 2]).await.expect("an HTTP answer");
    assert_eq!(sum, 3);
    let _ = app.stop.send(());
    app.served.await.expect("join").expect("axum served");
}

/// The code of the close frame that ends `socket`.
async fn close_code(socket: &mut common::ws::Socket) -> CloseCode {
    loop {
        match socket.next().await {
            Some(Ok(Message::Close(frame))) => return frame.expect("a close code").code,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    }
}

/// `examples/axum.rs` as a user runs it: REST and JSON-RPC on one port, and
/// Ctrl-C (SIGINT) lets a running WebSocket call answer, closes the socket
/// with 1001 and exits cleanly.
#[tokio::test]
async fn the_axum_example_serves_and_drains_its_websockets_on_sigint() {
    use tokio::io::AsyncBufReadExt;
    // target/debug/deps/axum-HASH -> target/debug/examples/axum
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/PROFILE/deps")
        .join("examples/axum");
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace`",
        path.display()
    );
    let mut child = tokio::process::Command::new(&path)
        .args(["--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the example starts");
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = stdout.next_line().await.expect("stdout").expect("a first line");
    let addr: SocketAddr = first
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("first line was {first:?}"));

    assert_eq!(get_text(addr, "/health").await, (200, "ok\n".to_owned()));
    let mut socket = connect_to(addr, "/api/rpc", &[]).await;
    let call = json!({"jsonrpc": "2.0", "method": "slow", "params": [300], "id": 1});
    socket.send(Message::text(call.to_string())).await.expect("send");
    tokio::time::sleep(Duration::from_millis(50)).await;

    let pid = child.id().expect("a running child").to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": 300, "id": 1})
    );
    assert_eq!(close_code(&mut socket).await, CloseCode::Away);
    let exited = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the example exits after SIGINT")
        .expect("wait");
    assert!(exited.success(), "the example exited with {exited}");
}
