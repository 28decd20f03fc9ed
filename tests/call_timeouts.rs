//! Call timeouts over real sockets: `#[rpc_method(timeout = "...")]` and the
//! server's default (`Limits::call_timeout`). A call past its limit answers
//! -32001 with `data` naming the limit, and its future is dropped: the method
//! stops at its `.await` (the guards below prove it did not run on).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use channels_rpc::{rpc_method, rpc_notification, Consumer, Limits, Server, ServerConfig, ServerHandle};
use common::ws::{call, connect_to, next_json_within};
use futures_util::SinkExt;
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::rpc_params;
use jsonrpsee_http_client::HttpClientBuilder;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Serves this file's methods only.
#[derive(Consumer, Default)]
struct Timed;

/// Counts how a method's run ended: finished, or dropped part-way.
struct Outcome {
    finished: AtomicUsize,
    cancelled: AtomicUsize,
}

impl Outcome {
    const fn new() -> Self {
        Outcome {
            finished: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
        }
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.finished.load(Ordering::SeqCst),
            self.cancelled.load(Ordering::SeqCst),
        )
    }
}

/// Counts a drop that comes before `finish`: the future was cancelled.
struct Running(&'static Outcome, bool);

impl Running {
    fn finish(mut self) {
        self.1 = true;
        self.0.finished.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.1 {
            self.0.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

static OWN: Outcome = Outcome::new();
static DEFAULTED: Outcome = Outcome::new();
static OVER_HTTP: Outcome = Outcome::new();
static NOTIFIED: Outcome = Outcome::new();
static BLOCKING: Outcome = Outcome::new();

/// Sleeps `ms`, with a limit of its own.
#[rpc_method(consumer = Timed, timeout = "200ms")]
async fn own_limit(ms: u64) -> u64 {
    let running = Running(&OWN, false);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    running.finish();
    ms
}

/// Sleeps `ms` under the server's default.
#[rpc_method(consumer = Timed)]
async fn default_limit(ms: u64) -> u64 {
    let running = Running(&DEFAULTED, false);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    running.finish();
    ms
}

/// Sleeps `ms` under the server's default; called over HTTP.
#[rpc_method(consumer = Timed)]
async fn default_limit_http(ms: u64) -> u64 {
    let running = Running(&OVER_HTTP, false);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    running.finish();
    ms
}

/// A longer limit than the server default in these tests: its own wins.
#[rpc_method(consumer = Timed, timeout = "2s")]
async fn patient(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// An async notification handler with a limit.
#[rpc_notification(consumer = Timed, timeout = "100ms")]
async fn work(ms: u64) {
    let running = Running(&NOTIFIED, false);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    running.finish();
}

/// A blocking method cannot be stopped: it answers -32001 and runs to its end.
#[rpc_method(consumer = Timed, blocking, timeout = "100ms")]
fn grind(ms: u64) -> u64 {
    let running = Running(&BLOCKING, false);
    std::thread::sleep(Duration::from_millis(ms));
    running.finish();
    ms
}

/// Answers at once: a sync method is never timed.
#[rpc_method(consumer = Timed)]
fn quick() -> &'static str {
    "quick"
}

/// The server default in these tests, shorter than `Limits::DEFAULT_CALL_TIMEOUT`.
const DEFAULT: Duration = Duration::from_millis(300);

async fn start() -> ServerHandle {
    let config = ServerConfig::builder()
        .limits(Limits::default().call_timeout(DEFAULT))
        .build()
        .unwrap();
    Server::bind("127.0.0.1:0")
        .config(config)
        .websocket("/ws/", Timed::app())
        .http("/rpc/", Timed::app())
        .listen()
        .await
        .unwrap()
        .spawn()
}

fn timed_out(limit_ms: u64, id: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "error": {"code": -32001, "message": "Call timed out", "data": {"limit": "call_timeout", "timeout_ms": limit_ms}},
        "id": id,
    })
}

/// Waits until `outcome` has counted `want`, at most 5 s.
async fn until_counted(outcome: &Outcome, want: (usize, usize)) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while outcome.counts() != want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(outcome.counts(), want, "(finished, cancelled)");
}

#[tokio::test]
async fn a_method_past_its_own_timeout_answers_32001_and_is_cancelled() {
    let server = start().await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let started = Instant::now();
    let reply = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"own_limit","params":[5000],"id":1}"#,
    )
    .await;
    assert_eq!(reply, timed_out(200, json!(1)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // Dropped at its sleep: it never finishes, even after its sleep's end.
    until_counted(&OWN, (0, 1)).await;
    // Within its limit it answers as usual, on the same connection.
    let reply = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"own_limit","params":[10],"id":2}"#,
    )
    .await;
    assert_eq!(reply, json!({"jsonrpc": "2.0", "result": 10, "id": 2}));
    until_counted(&OWN, (1, 1)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_server_default_bounds_methods_without_their_own_and_a_longer_own_wins() {
    let server = start().await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let reply = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"default_limit","params":[5000],"id":"a"}"#,
    )
    .await;
    assert_eq!(reply, timed_out(300, json!("a")));
    until_counted(&DEFAULTED, (0, 1)).await;
    // 600 ms is past the default (300 ms) but within the method's own 2 s.
    let reply = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"patient","params":[600],"id":"b"}"#,
    )
    .await;
    assert_eq!(reply, json!({"jsonrpc": "2.0", "result": 600, "id": "b"}));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn over_http_jsonrpsees_client_gets_the_timeout_error() {
    let server = start().await;
    let client = HttpClientBuilder::default()
        .build(format!("http://{}/rpc/", server.local_addr()))
        .unwrap();
    let error = client
        .request::<u64, _>("default_limit_http", rpc_params![5000])
        .await
        .expect_err("timed out");
    let jsonrpsee_core::ClientError::Call(error) = error else {
        panic!("expected the server's error object, got {error:?}");
    };
    assert_eq!(error.code(), -32001);
    assert_eq!(error.message(), "Call timed out");
    let data: Value = serde_json::from_str(error.data().expect("data").get()).unwrap();
    assert_eq!(data, json!({"limit": "call_timeout", "timeout_ms": 300}));
    until_counted(&OVER_HTTP, (0, 1)).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn in_a_batch_only_the_slow_member_times_out() {
    let server = start().await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let reply = call(
        &mut socket,
        r#"[{"jsonrpc":"2.0","method":"own_limit","params":[5000],"id":1},
            {"jsonrpc":"2.0","method":"patient","params":[1],"id":2},
            {"jsonrpc":"2.0","method":"quick","id":3}]"#,
    )
    .await;
    let reply = common::sorted(reply);
    assert_eq!(
        reply,
        json!([
            timed_out(200, json!(1)),
            {"jsonrpc": "2.0", "result": 1, "id": 2},
            {"jsonrpc": "2.0", "result": "quick", "id": 3},
        ])
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_timed_out_notification_is_cancelled_without_an_answer() {
    let server = start().await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    socket
        .send(Message::text(r#"{"jsonrpc":"2.0","method":"work","params":[5000]}"#))
        .await
        .unwrap();
    until_counted(&NOTIFIED, (0, 1)).await;
    assert_eq!(next_json_within(&mut socket, Duration::from_millis(200)).await, None);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_blocking_method_answers_at_its_timeout_but_runs_to_its_end() {
    let server = start().await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let started = Instant::now();
    let reply = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"grind","params":[600],"id":7}"#,
    )
    .await;
    assert_eq!(reply, timed_out(100, json!(7)));
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
    // Its thread cannot be stopped: it finishes, and nothing counts it cancelled.
    until_counted(&BLOCKING, (1, 0)).await;
    server.shutdown().await.unwrap();
}

#[test]
fn the_default_limit_is_named_and_can_be_turned_off() {
    assert_eq!(Limits::DEFAULT_CALL_TIMEOUT, Duration::from_secs(60));
    assert_eq!(Limits::default().call_time(), Some(Limits::DEFAULT_CALL_TIMEOUT));
    assert_eq!(
        ServerConfig::default().limits().call_time(),
        Some(Limits::DEFAULT_CALL_TIMEOUT)
    );
    assert_eq!(Limits::default().no_call_timeout().call_time(), None);
    let method = Timed::app().method("own_limit").expect("registered");
    assert_eq!(method.timeout(), Some(Duration::from_millis(200)));
    assert_eq!(Timed::app().method("default_limit").unwrap().timeout(), None);
}
