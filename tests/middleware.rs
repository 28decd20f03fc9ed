//! Middleware (`App::middleware`, `App::async_middleware`) over real
//! sockets, the test communicators and in-process dispatch: the order of
//! composition, refusing and answering a call, the outcome and duration the
//! `after` hooks see, async middleware, batches, unknown methods,
//! notifications, and the connection events (with close codes) of
//! WebSocket and HTTP.

mod common;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use channels_rpc::middleware::{AsyncMiddleware, CallInfo, Middleware, Outcome, Verdict, VerdictFuture};
use channels_rpc::testing::{HttpCommunicator, WebsocketCommunicator};
use channels_rpc::{
    json, rpc_method, rpc_notification, App, Connection, Consumer, RateLimit, RpcContext, RpcError, Scope, Server,
    ServerConfig, ServerHandle, Transport,
};
use common::ws::{call, connect_to, next_json};
use futures_util::SinkExt;
use rpc_core::Answer;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Counts the runs of its methods, per connection.
#[derive(Consumer, Default)]
struct Api {
    runs: AtomicUsize,
}

#[rpc_method(consumer = Api)]
fn add(ctx: &RpcContext<Api>, a: i64, b: i64) -> i64 {
    ctx.consumer().runs.fetch_add(1, Ordering::SeqCst);
    a + b
}

#[rpc_method(consumer = Api)]
async fn later(ctx: &RpcContext<Api>, ms: u64) -> u64 {
    ctx.consumer().runs.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[rpc_method(consumer = Api)]
fn fail() -> Result<(), RpcError> {
    Err(RpcError::application("nope"))
}

#[rpc_notification(consumer = Api)]
fn note(ctx: &RpcContext<Api>, _x: i64) {
    ctx.consumer().runs.fetch_add(1, Ordering::SeqCst);
}

/// What the middlewares of one test saw, in order.
#[derive(Clone, Default)]
struct Log {
    lines: Arc<Mutex<Vec<String>>>,
    elapsed: Arc<Mutex<Vec<Duration>>>,
}

impl Log {
    fn push(&self, line: String) {
        self.lines.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The lines that start with `prefix`.
    fn matching(&self, prefix: &str) -> Vec<String> {
        self.lines().into_iter().filter(|l| l.starts_with(prefix)).collect()
    }

    /// Waits up to 5 s for a line; the connection events of a closing
    /// WebSocket come after the client has seen the close.
    async fn wait_for(&self, line: &str) {
        for _ in 0..500 {
            if self.lines().iter().any(|l| l == line) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no {line:?} in {:?}", self.lines());
    }
}

/// How a recording middleware decides.
#[derive(Clone, Copy)]
enum Decide {
    Continue,
    Reject,
    Respond,
}

/// Logs every hook as `NAME.hook details`.
struct Recorder {
    name: &'static str,
    log: Log,
    decide: Decide,
}

fn recorder(name: &'static str, log: &Log) -> Recorder {
    Recorder {
        name,
        log: log.clone(),
        decide: Decide::Continue,
    }
}

fn describe(call: &CallInfo<'_>) -> String {
    format!(
        "{} registered={:?} id={:?} params={:?}",
        call.method(),
        call.registered_method(),
        call.id(),
        call.params().map(|p| p.get())
    )
}

fn describe_outcome(outcome: &Outcome<'_>) -> String {
    match (outcome.response(), outcome.error_code()) {
        (None, _) => "nothing".to_owned(),
        (Some(_), None) => "ok".to_owned(),
        (Some(_), Some(code)) => format!("error {code}"),
    }
}

impl Middleware for Recorder {
    fn before(&self, call: &CallInfo<'_>) -> Verdict {
        self.log.push(format!("{}.before {}", self.name, describe(call)));
        match self.decide {
            Decide::Continue => Verdict::Continue,
            Decide::Reject => Verdict::Reject(RpcError::new(-32010, "refused by middleware")),
            Decide::Respond => Verdict::Respond(json!({"from": self.name})),
        }
    }

    fn after(&self, call: &CallInfo<'_>, outcome: &Outcome<'_>) {
        let by = if outcome.answered_by_middleware() {
            " by middleware"
        } else {
            ""
        };
        self.log.push(format!(
            "{}.after {} {}{by}",
            self.name,
            call.method(),
            describe_outcome(outcome)
        ));
        self.log.elapsed.lock().unwrap().push(outcome.elapsed());
    }

    fn on_connect(&self, connection: &Connection) {
        self.log
            .push(format!("{}.connect {:?}", self.name, connection.scope().transport()));
    }

    fn on_disconnect(&self, connection: &Connection, code: Option<u16>) {
        self.log.push(format!(
            "{}.disconnect {:?} {code:?}",
            self.name,
            connection.scope().transport()
        ));
    }

    fn on_message_in(&self, _: &Connection, message: &[u8]) {
        self.log
            .push(format!("{}.in {}", self.name, String::from_utf8_lossy(message)));
    }

    fn on_message_out(&self, _: &Connection, message: &[u8]) {
        self.log
            .push(format!("{}.out {}", self.name, String::from_utf8_lossy(message)));
    }
}

/// Waits, then refuses calls without `x-key: k`.
struct SlowKeyCheck {
    log: Log,
}

impl AsyncMiddleware for SlowKeyCheck {
    fn before<'a>(&'a self, call: &'a CallInfo<'a>) -> VerdictFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.log.push(format!("async.before {}", call.method()));
            match call.scope().header("x-key") {
                Some("k") => Verdict::Continue,
                _ => Verdict::Reject(RpcError::new(-32010, "no key")),
            }
        })
    }

    fn after(&self, call: &CallInfo<'_>, outcome: &Outcome<'_>) {
        self.log
            .push(format!("async.after {} {}", call.method(), describe_outcome(outcome)));
    }
}

fn in_process() -> Connection {
    Connection::for_consumer::<Api>(Scope::new(Transport::InProcess, "/"))
}

async fn answer(app: &App<Api>, conn: &Connection, input: &str) -> Option<Value> {
    let reply = app.handle(conn, input.as_bytes()).await?;
    Some(serde_json::from_slice(reply.body()).unwrap())
}

fn runs(conn: &Connection) -> usize {
    conn.consumer::<Api>().unwrap().runs.load(Ordering::SeqCst)
}

#[tokio::test]
async fn the_first_added_is_outermost_before_in_order_after_in_reverse() {
    let log = Log::default();
    let app = Api::app()
        .middleware(recorder("a", &log))
        .middleware(recorder("b", &log));
    let conn = in_process();
    for (method, params) in [("add", "[2,3]"), ("later", "[1]")] {
        let request = format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{params},"id":7}}"#);
        let reply = answer(&app, &conn, &request).await.unwrap();
        assert!(reply.get("result").is_some(), "{reply}");
    }
    assert_eq!(
        log.lines(),
        [
            r#"a.before add registered=Some("add") id=Some("7") params=Some("[2,3]")"#,
            r#"b.before add registered=Some("add") id=Some("7") params=Some("[2,3]")"#,
            "b.after add ok",
            "a.after add ok",
            r#"a.before later registered=Some("later") id=Some("7") params=Some("[1]")"#,
            r#"b.before later registered=Some("later") id=Some("7") params=Some("[1]")"#,
            "b.after later ok",
            "a.after later ok",
        ]
    );
    assert_eq!(runs(&conn), 2);
}

#[tokio::test]
async fn a_rejecting_middleware_stops_the_inner_ones_and_the_method() {
    let log = Log::default();
    let gate = Recorder {
        decide: Decide::Reject,
        ..recorder("gate", &log)
    };
    let app = Api::app()
        .middleware(recorder("outer", &log))
        .middleware(gate)
        .middleware(recorder("inner", &log));
    let conn = in_process();
    for method in ["add", "later"] {
        let request = format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":[1,2],"id":1}}"#);
        let reply = answer(&app, &conn, &request).await.unwrap();
        assert_eq!(
            reply,
            json!({"jsonrpc": "2.0", "error": {"code": -32010, "message": "refused by middleware"}, "id": 1})
        );
    }
    assert_eq!(runs(&conn), 0, "the method never ran");
    assert!(log.matching("inner").is_empty(), "{:?}", log.lines());
    assert_eq!(
        log.matching("outer.after"),
        [
            "outer.after add error -32010 by middleware",
            "outer.after later error -32010 by middleware"
        ]
    );
    assert_eq!(
        log.matching("gate.after").len(),
        2,
        "the refusing one sees its outcome too"
    );
}

#[tokio::test]
async fn a_middleware_can_answer_a_call_itself() {
    let log = Log::default();
    let cache = Recorder {
        decide: Decide::Respond,
        ..recorder("cache", &log)
    };
    let app = Api::app().middleware(cache);
    let conn = in_process();
    let reply = answer(
        &app,
        &conn,
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(reply, json!({"jsonrpc": "2.0", "result": {"from": "cache"}, "id": "x"}));
    // JSON-RPC 1.0 keeps its envelope.
    let reply = answer(&app, &conn, r#"{"method":"add","params":[1,2],"id":3}"#)
        .await
        .unwrap();
    assert_eq!(reply, json!({"result": {"from": "cache"}, "error": null, "id": 3}));
    assert_eq!(runs(&conn), 0);
}

#[tokio::test]
async fn after_sees_the_outcome_and_the_duration() {
    let log = Log::default();
    let app = Api::app().middleware(recorder("m", &log));
    let conn = in_process();
    answer(
        &app,
        &conn,
        r#"{"jsonrpc":"2.0","method":"later","params":[60],"id":1}"#,
    )
    .await;
    answer(&app, &conn, r#"{"jsonrpc":"2.0","method":"fail","id":2}"#).await;
    answer(&app, &conn, r#"{"jsonrpc":"2.0","method":"add","params":["x"],"id":3}"#).await;
    assert_eq!(
        log.matching("m.after"),
        [
            "m.after later ok",
            "m.after fail error -32000",
            "m.after add error -32602"
        ]
    );
    let elapsed = log.elapsed.lock().unwrap().clone();
    assert!(elapsed[0] >= Duration::from_millis(60), "{elapsed:?}");
    assert!(elapsed[1] < Duration::from_millis(60), "{elapsed:?}");
}

#[tokio::test]
async fn the_outcome_carries_the_response_sent() {
    struct Keep(Arc<Mutex<Option<Vec<u8>>>>);
    impl Middleware for Keep {
        fn after(&self, _: &CallInfo<'_>, outcome: &Outcome<'_>) {
            *self.0.lock().unwrap() = outcome.response().map(<[u8]>::to_vec);
        }
    }
    let kept = Arc::new(Mutex::new(None));
    let app = Api::app().middleware(Keep(kept.clone()));
    let reply = app
        .handle(
            &in_process(),
            br#"{"jsonrpc":"2.0","method":"add","params":[40,2],"id":1}"#,
        )
        .await
        .unwrap();
    assert_eq!(kept.lock().unwrap().as_deref(), Some(reply.body()));
}

#[tokio::test]
async fn a_sync_middleware_keeps_sync_calls_ready_and_an_async_one_makes_them_pending() {
    let log = Log::default();
    let sync_app = Api::app().middleware(recorder("m", &log));
    let conn = in_process();
    let request = br#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
    assert!(matches!(sync_app.start(&conn, request), Answer::Ready(Some(_))));
    // An async method's answer is pending, and no hook has run yet.
    let lines = log.lines().len();
    let pending = sync_app.start(&conn, br#"{"jsonrpc":"2.0","method":"later","params":[1],"id":1}"#);
    assert!(matches!(pending, Answer::Pending(_)));
    drop(pending);
    assert_eq!(log.lines().len(), lines, "a dropped pending answer ran nothing");
    let async_app = Api::app().async_middleware(SlowKeyCheck { log: log.clone() });
    assert!(matches!(async_app.start(&conn, request), Answer::Pending(_)));
}

#[tokio::test]
async fn async_middleware_waits_then_decides_in_its_place_in_the_order() {
    let log = Log::default();
    let app = Api::app()
        .middleware(recorder("outer", &log))
        .async_middleware(SlowKeyCheck { log: log.clone() })
        .middleware(recorder("inner", &log));
    let mut keyed = Scope::new(Transport::InProcess, "/");
    keyed.headers_mut().insert("x-key", "k".parse().unwrap());
    let keyed = Connection::for_consumer::<Api>(keyed);
    let reply = answer(
        &app,
        &keyed,
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
    )
    .await
    .unwrap();
    assert_eq!(reply["result"], 3);
    let reply = answer(
        &app,
        &in_process(),
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":2}"#,
    )
    .await
    .unwrap();
    assert_eq!(reply["error"]["code"], -32010);
    let names: Vec<String> = log
        .lines()
        .iter()
        .map(|l| l.split(" registered").next().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "outer.before add",
            "async.before add",
            "inner.before add",
            "inner.after add ok",
            "async.after add ok",
            "outer.after add ok",
            "outer.before add",
            "async.before add",
            "async.after add error -32010",
            "outer.after add error -32010 by middleware",
        ]
    );
}

#[tokio::test]
async fn every_batch_member_goes_through_the_middleware_but_an_invalid_one() {
    let log = Log::default();
    let app = Api::app().middleware(recorder("m", &log));
    let conn = in_process();
    let batch = r#"[
        {"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},
        {"jsonrpc":"2.0","method":"later","params":[1],"id":2},
        {"jsonrpc":"2.0","method":"note","params":[5]},
        {"jsonrpc":"2.0","method":"nope","id":3},
        {"jsonrpc":"2.0","id":4}
    ]"#;
    let reply = common::sorted(answer(&app, &conn, batch).await.unwrap());
    assert_eq!(reply.as_array().unwrap().len(), 4, "{reply}");
    let mut before: Vec<String> = log
        .matching("m.before")
        .iter()
        .map(|l| l.split(" registered").next().unwrap().to_owned())
        .collect();
    before.sort();
    assert_eq!(
        before,
        ["m.before add", "m.before later", "m.before nope", "m.before note"]
    );
    let mut after = log.matching("m.after");
    after.sort();
    assert_eq!(
        after,
        [
            "m.after add ok",
            "m.after later ok",
            "m.after nope error -32601",
            "m.after note nothing"
        ]
    );
    assert_eq!(runs(&conn), 3);
}

#[tokio::test]
async fn unknown_methods_meet_the_middleware_which_can_hide_them() {
    let log = Log::default();
    let app = Api::app().middleware(recorder("seen", &log));
    let conn = in_process();
    let reply = answer(&app, &conn, r#"{"jsonrpc":"2.0","method":"nope","id":1}"#)
        .await
        .unwrap();
    assert_eq!(reply["error"]["code"], -32601);
    assert_eq!(
        log.matching("seen.before"),
        [r#"seen.before nope registered=None id=Some("1") params=None"#]
    );
    let hiding = Api::app().middleware(Recorder {
        decide: Decide::Reject,
        ..recorder("auth", &log)
    });
    let reply = answer(&hiding, &conn, r#"{"jsonrpc":"2.0","method":"nope","id":1}"#)
        .await
        .unwrap();
    assert_eq!(reply["error"]["code"], -32010, "the same answer as a real method gets");
}

#[tokio::test]
async fn notifications_meet_the_middleware_and_never_get_an_answer() {
    let log = Log::default();
    let conn = in_process();
    let app = Api::app().middleware(recorder("m", &log));
    assert_eq!(
        answer(&app, &conn, r#"{"jsonrpc":"2.0","method":"note","params":[1]}"#).await,
        None
    );
    assert_eq!(runs(&conn), 1);
    for decide in [Decide::Reject, Decide::Respond] {
        let app = Api::app().middleware(Recorder {
            decide,
            ..recorder("stop", &log)
        });
        assert_eq!(
            answer(&app, &conn, r#"{"jsonrpc":"2.0","method":"note","params":[1]}"#).await,
            None
        );
    }
    assert_eq!(runs(&conn), 1, "stopped notifications did not run");
    assert_eq!(
        log.matching("m."),
        [
            r#"m.before note registered=Some("note") id=None params=Some("[1]")"#,
            "m.after note nothing"
        ]
    );
    assert_eq!(
        log.matching("stop.after"),
        [
            "stop.after note nothing by middleware",
            "stop.after note nothing by middleware"
        ]
    );
}

#[tokio::test]
async fn the_rate_limit_is_inside_the_middleware() {
    let log = Log::default();
    let app = Api::app().middleware(recorder("m", &log));
    let conn = in_process().with_rate_limit(RateLimit::per_second(NonZeroU32::new(1).unwrap()));
    for id in 1..=2 {
        let request = format!(r#"{{"jsonrpc":"2.0","method":"add","params":[1,2],"id":{id}}}"#);
        answer(&app, &conn, &request).await.unwrap();
    }
    assert_eq!(log.matching("m.after"), ["m.after add ok", "m.after add error -32002"]);
}

async fn serve(app: App<Api>) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .config(ServerConfig::default())
        .websocket("/ws/", app.clone())
        .http("/rpc/", app)
        .listen()
        .await
        .expect("bind 127.0.0.1:0")
        .spawn()
}

#[tokio::test]
async fn websocket_connections_report_connect_messages_and_the_close_code() {
    let log = Log::default();
    let server = serve(Api::app().middleware(recorder("m", &log))).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let reply = call(&mut socket, r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#).await;
    assert_eq!(reply["result"], 3);
    // An async method: the transport starts the message twice, the hooks run once.
    let reply = call(&mut socket, r#"{"jsonrpc":"2.0","method":"later","params":[5],"id":2}"#).await;
    assert_eq!(reply["result"], 5);
    let frame = CloseFrame {
        code: CloseCode::from(4000),
        reason: "bye".into(),
    };
    socket.close(Some(frame)).await.unwrap();
    log.wait_for("m.disconnect WebSocket Some(4000)").await;
    let lines: Vec<String> = log
        .lines()
        .into_iter()
        .map(|l| l.split(" registered").next().unwrap().to_owned())
        .collect();
    assert_eq!(
        lines,
        [
            "m.connect WebSocket",
            r#"m.in {"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
            "m.before add",
            "m.after add ok",
            r#"m.out {"jsonrpc":"2.0","result":3,"id":1}"#,
            r#"m.in {"jsonrpc":"2.0","method":"later","params":[5],"id":2}"#,
            "m.before later",
            "m.after later ok",
            r#"m.out {"jsonrpc":"2.0","result":5,"id":2}"#,
            "m.disconnect WebSocket Some(4000)",
        ]
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_websocket_closed_by_the_server_reports_its_code() {
    let log = Log::default();
    let config = ServerConfig::builder()
        .limits(channels_rpc::Limits::default().max_message_size(1024))
        .build()
        .unwrap();
    let server = Server::bind("127.0.0.1:0")
        .config(config)
        .websocket("/ws/", Api::app().middleware(recorder("m", &log)))
        .listen()
        .await
        .unwrap()
        .spawn();
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let _ = socket.send(Message::text("x".repeat(4096))).await;
    log.wait_for("m.disconnect WebSocket Some(1009)").await;
    // The server going away closes with 1001.
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let reply = call(&mut socket, r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#).await;
    assert_eq!(reply["result"], 3);
    server.shutdown().await.unwrap();
    log.wait_for("m.disconnect WebSocket Some(1001)").await;
}

/// POSTs `body` to `/rpc/` with extra header lines; the status and body.
async fn post(addr: std::net::SocketAddr, headers: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

#[tokio::test]
async fn http_requests_report_connect_body_in_and_out_and_disconnect() {
    let log = Log::default();
    let server = serve(Api::app().middleware(recorder("m", &log))).await;
    let body = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
    let (status, reply) = post(server.local_addr(), "", body).await;
    assert_eq!(
        (status, reply.as_str()),
        (200, r#"{"jsonrpc":"2.0","result":3,"id":1}"#)
    );
    let (status, _) = post(
        server.local_addr(),
        "",
        r#"{"jsonrpc":"2.0","method":"note","params":[1]}"#,
    )
    .await;
    assert_eq!(status, 204);
    let lines: Vec<String> = log
        .lines()
        .into_iter()
        .map(|l| l.split(" registered").next().unwrap().to_owned())
        .collect();
    assert_eq!(
        lines,
        [
            "m.connect Http",
            &format!("m.in {body}"),
            "m.before add",
            "m.after add ok",
            r#"m.out {"jsonrpc":"2.0","result":3,"id":1}"#,
            "m.disconnect Http None",
            "m.connect Http",
            r#"m.in {"jsonrpc":"2.0","method":"note","params":[1]}"#,
            "m.before note",
            "m.after note nothing",
            "m.disconnect Http None",
        ]
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_http_request_cut_off_by_the_shutdown_still_reports_its_disconnect() {
    let log = Log::default();
    let config = ServerConfig::builder()
        .shutdown_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let server = Server::bind("127.0.0.1:0")
        .config(config)
        .http("/rpc/", Api::app().middleware(recorder("m", &log)))
        .listen()
        .await
        .unwrap()
        .spawn();
    let addr = server.local_addr();
    // A call that would take a minute: the shutdown's 100 ms run out first.
    let slow = tokio::spawn(async move {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let body = r#"{"jsonrpc":"2.0","method":"later","params":[60000],"id":1}"#;
        let request = format!(
            "POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
    });
    while log.matching("m.before later").is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("the shutdown ends past its timeout")
        .unwrap();
    log.wait_for("m.disconnect Http None").await;
    assert_eq!(log.matching("m.connect").len(), log.matching("m.disconnect").len());
    slow.await.unwrap();
}

#[tokio::test]
async fn an_async_middleware_sees_the_headers_of_real_http_and_websocket_requests() {
    let log = Log::default();
    let server = serve(Api::app().async_middleware(SlowKeyCheck { log: log.clone() })).await;
    let body = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
    let (_, refused) = post(server.local_addr(), "", body).await;
    assert_eq!(
        serde_json::from_str::<Value>(&refused).unwrap()["error"]["code"],
        -32010
    );
    let (_, accepted) = post(server.local_addr(), "x-key: k\r\n", body).await;
    assert_eq!(serde_json::from_str::<Value>(&accepted).unwrap()["result"], 3);
    let mut socket = connect_to(server.local_addr(), "/ws/", &[("x-key", "k")]).await;
    socket.send(Message::text(body)).await.unwrap();
    assert_eq!(next_json(&mut socket).await["result"], 3);
    assert_eq!(log.matching("async.before").len(), 3, "{:?}", log.lines());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_communicators_run_the_middleware_and_its_connection_events() {
    let log = Log::default();
    let app = Api::app().middleware(recorder("m", &log));
    let mut ws = WebsocketCommunicator::new(app.clone(), "/ws/").connect().await.unwrap();
    ws.send_json(&json!({"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": 1}))
        .await;
    assert_eq!(ws.receive_json().await.unwrap()["result"], 3);
    ws.disconnect(1000).await;
    let http = HttpCommunicator::new(app, "/rpc/");
    let response = http.post(r#"{"jsonrpc":"2.0","method":"fail","id":2}"#).await;
    assert_eq!(response.json().unwrap()["error"]["code"], -32000);
    let events: Vec<String> = log
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with("m.in") && !l.starts_with("m.out"))
        .map(|l| l.split(" registered").next().unwrap().to_owned())
        .collect();
    assert_eq!(
        events,
        [
            "m.connect WebSocket",
            "m.before add",
            "m.after add ok",
            "m.disconnect WebSocket Some(1000)",
            "m.connect Http",
            "m.before fail",
            "m.after fail error -32000",
            "m.disconnect Http None",
        ]
    );
}
