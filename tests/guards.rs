//! Guards in-process and over the WebSocket loop (the in-process
//! communicator runs the server's own loop): a denied call answers exactly
//! what an unknown method answers, unless the guard gives its own error;
//! denied notifications answer nothing; batch members are guarded one by
//! one; the consumer's guard runs before the method's; guards run before
//! the rate limit and exactly once per call; `rpc.discover` lists only what
//! the caller may call; `Ext<T>` reads the scope's extensions.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use channels_rpc::testing::WebsocketCommunicator;
use channels_rpc::{
    rpc_method, rpc_notification, App, Connection, Consumer, Ext, RateLimit, RpcContext, RpcError, Scope, Transport,
};
use serde_json::{json, Value};

/// Who the connection belongs to, as a connect hook would put it in the scope
/// (extensions hold `Clone` values).
#[derive(Clone)]
struct User {
    name: String,
    admin: bool,
}

fn is_admin(cx: &RpcContext) -> bool {
    cx.extension::<User>().is_some_and(|user| user.admin)
}

async fn is_admin_later(cx: &RpcContext) -> bool {
    tokio::task::yield_now().await;
    is_admin(cx)
}

fn admins_or_say_why(cx: &RpcContext) -> Result<(), RpcError> {
    match is_admin(cx) {
        true => Ok(()),
        false => Err(RpcError::new(-32004, "admins only").with_data("ask an admin")),
    }
}

async fn admins_or_say_why_later(cx: &RpcContext) -> Result<(), RpcError> {
    tokio::task::yield_now().await;
    admins_or_say_why(cx)
}

/// Serves the guarded methods.
#[derive(Consumer, Default)]
struct Api;

/// Serves none of them: what an unknown method answers is asked here.
#[derive(Consumer, Default)]
struct Bare;

static STATS_RAN: AtomicUsize = AtomicUsize::new(0);

/// The admin's statistics.
#[rpc_method("admin.stats", consumer = Api, guard = is_admin)]
fn stats() -> u64 {
    STATS_RAN.fetch_add(1, Ordering::SeqCst);
    42
}

#[rpc_method("admin.stats_later", consumer = Api, guard = is_admin_later)]
fn stats_later() -> u64 {
    43
}

#[rpc_method("admin.async_stats", consumer = Api, guard = is_admin)]
async fn async_stats() -> u64 {
    44
}

#[rpc_method("admin.why", consumer = Api, guard = admins_or_say_why)]
fn why() -> u64 {
    45
}

#[rpc_method("admin.why_later", consumer = Api, guard = admins_or_say_why_later)]
async fn why_later() -> u64 {
    46
}

async fn never_decides(_cx: &RpcContext) -> bool {
    std::future::pending().await
}

/// Its guard never decides: past the method's time limit the call is denied.
#[rpc_method("stuck", consumer = Api, guard = never_decides, timeout = "50ms")]
async fn stuck() -> u8 {
    0
}

static LOG_RAN: AtomicUsize = AtomicUsize::new(0);

#[rpc_notification("admin.log", consumer = Api, guard = is_admin)]
fn log(_line: String) {
    LOG_RAN.fetch_add(1, Ordering::SeqCst);
}

/// Anyone may call it; it greets the user the connect hook found.
#[rpc_method(consumer = Api)]
fn hello(user: &Ext<User>) -> String {
    format!("hello {}", user.name)
}

fn scope_of(user: Option<(&str, bool)>) -> Scope {
    let mut scope = Scope::new(Transport::InProcess, "/");
    if let Some((name, admin)) = user {
        scope.extensions_mut().insert(User {
            name: name.to_owned(),
            admin,
        });
    }
    scope
}

async fn send_as<C: Consumer>(app: &App<C>, user: Option<(&str, bool)>, input: &str) -> Option<String> {
    let conn = Connection::for_consumer::<C>(scope_of(user));
    app.handle(&conn, input.as_bytes())
        .await
        .map(|reply| String::from_utf8(reply.into_body()).expect("UTF-8"))
}

fn call(method: &str, id: u32) -> String {
    json!({"jsonrpc": "2.0", "method": method, "id": id}).to_string()
}

const ALICE: Option<(&str, bool)> = Some(("alice", false));
const ROOT: Option<(&str, bool)> = Some(("root", true));

#[tokio::test]
async fn a_denied_call_answers_exactly_what_an_unknown_method_answers() {
    let (api, bare) = (Api::app(), Bare::app());
    for method in ["admin.stats", "admin.stats_later", "admin.async_stats"] {
        // JSON-RPC 2.0 and 1.0 alike.
        for input in [
            call(method, 7),
            format!(r#"{{"method":"{method}","params":[],"id":"x"}}"#),
        ] {
            let denied = send_as(&api, ALICE, &input).await.expect("a call is answered");
            let unknown = send_as(&bare, ALICE, &input).await.expect("a call is answered");
            assert_eq!(denied, unknown, "{method}");
            assert!(
                denied.contains("-32601") && denied.contains("Method not found"),
                "{denied}"
            );
        }
    }
    assert_eq!(STATS_RAN.load(Ordering::SeqCst), 0, "a denied method does not run");
    let allowed: Value = serde_json::from_str(&send_as(&api, ROOT, &call("admin.stats", 1)).await.unwrap()).unwrap();
    assert_eq!(allowed, json!({"jsonrpc": "2.0", "result": 42, "id": 1}));
    for (method, result) in [("admin.stats_later", 43), ("admin.async_stats", 44)] {
        let allowed: Value = serde_json::from_str(&send_as(&api, ROOT, &call(method, 2)).await.unwrap()).unwrap();
        assert_eq!(allowed["result"], result, "{method}");
    }
}

#[tokio::test]
async fn a_guard_that_does_not_decide_within_the_time_limit_denies() {
    let started = std::time::Instant::now();
    let denied = send_as(&Api::app(), ROOT, &call("stuck", 8)).await.unwrap();
    let unknown = send_as(&Bare::app(), ROOT, &call("stuck", 8)).await.unwrap();
    assert_eq!(denied, unknown);
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_guard_that_returns_an_error_answers_it() {
    let api = Api::app();
    for method in ["admin.why", "admin.why_later"] {
        let denied: Value = serde_json::from_str(&send_as(&api, ALICE, &call(method, 3)).await.unwrap()).unwrap();
        assert_eq!(
            denied,
            json!({"jsonrpc": "2.0", "error": {"code": -32004, "message": "admins only", "data": "ask an admin"}, "id": 3}),
            "{method}"
        );
        let allowed: Value = serde_json::from_str(&send_as(&api, ROOT, &call(method, 4)).await.unwrap()).unwrap();
        assert!(allowed["result"].is_u64(), "{allowed}");
    }
}

#[tokio::test]
async fn a_denied_notification_answers_nothing_and_does_not_run() {
    let api = Api::app();
    let note = r#"{"jsonrpc":"2.0","method":"admin.log","params":["hi"]}"#;
    assert_eq!(send_as(&api, ALICE, note).await, None);
    assert_eq!(LOG_RAN.load(Ordering::SeqCst), 0);
    // A call to a method, sent as a notification, is guarded the same way.
    let stats = r#"{"jsonrpc":"2.0","method":"admin.stats_later"}"#;
    assert_eq!(send_as(&api, ALICE, stats).await, None);
    assert_eq!(send_as(&api, ROOT, note).await, None);
    assert_eq!(LOG_RAN.load(Ordering::SeqCst), 1, "allowed, it runs");
}

#[tokio::test]
async fn batch_members_are_guarded_one_by_one() {
    let (api, bare) = (Api::app(), Bare::app());
    let unknown = |method: &'static str, id: u32| {
        let bare = &bare;
        async move {
            let text = send_as(bare, ALICE, &call(method, id)).await.unwrap();
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };
    // Sync members only, then with an async guard and an async method.
    for batch in [
        r#"[{"jsonrpc":"2.0","method":"hello","id":1},{"jsonrpc":"2.0","method":"admin.stats","id":2},{"jsonrpc":"2.0","method":"admin.why","id":3}]"#,
        r#"[{"jsonrpc":"2.0","method":"hello","id":1},{"jsonrpc":"2.0","method":"admin.stats_later","id":2},{"jsonrpc":"2.0","method":"admin.why_later","id":3}]"#,
    ] {
        let reply: Value = serde_json::from_str(&send_as(&api, ALICE, batch).await.unwrap()).unwrap();
        let mut members = reply.as_array().unwrap().clone();
        members.sort_by_key(|m| m["id"].as_u64());
        assert_eq!(members[0], json!({"jsonrpc": "2.0", "result": "hello alice", "id": 1}));
        let second = match batch.contains("stats_later") {
            true => "admin.stats_later",
            false => "admin.stats",
        };
        assert_eq!(members[1], unknown(second, 2).await);
        assert_eq!(members[2]["error"]["code"], -32004);
    }
}

/// Counts how often it is asked.
static ASKED: AtomicUsize = AtomicUsize::new(0);

fn counted(_cx: &RpcContext) -> bool {
    ASKED.fetch_add(1, Ordering::SeqCst);
    true
}

fn members_only(cx: &RpcContext) -> bool {
    cx.extension::<User>().is_some() || cx.method() == "public.ping"
}

/// Every method needs a user, except `public.ping`.
#[derive(Consumer, Default)]
#[consumer(guard = members_only)]
struct Members;

static ORDER: AtomicUsize = AtomicUsize::new(0);

fn second(_cx: &RpcContext) -> bool {
    ORDER.fetch_add(1, Ordering::SeqCst);
    true
}

#[rpc_method("members.count", consumer = Members, guard = second)]
async fn count(_cx: &RpcContext) -> usize {
    1
}

#[rpc_method("public.ping", consumer = Members)]
fn ping() -> &'static str {
    "pong"
}

#[rpc_method("counted.slow", consumer = Counted, guard = counted)]
async fn counted_slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(5)).await;
    "done"
}

#[derive(Consumer, Default)]
struct Counted;

#[tokio::test]
async fn the_consumer_guard_covers_every_method_and_runs_first() {
    let (members, bare) = (Members::app(), Bare::app());
    let denied = send_as(&members, None, &call("members.count", 1)).await.unwrap();
    let mut unknown = send_as(&bare, None, &call("members.count", 1)).await.unwrap();
    assert_eq!(denied, unknown);
    assert_eq!(
        ORDER.load(Ordering::SeqCst),
        0,
        "the method's guard is not asked when the consumer's denies"
    );
    let allowed: Value =
        serde_json::from_str(&send_as(&members, ALICE, &call("members.count", 2)).await.unwrap()).unwrap();
    assert_eq!(allowed["result"], 1);
    assert_eq!(ORDER.load(Ordering::SeqCst), 1);
    // The guard sees which method is called.
    unknown = send_as(&members, None, &call("public.ping", 3)).await.unwrap();
    assert!(unknown.contains("pong"), "{unknown}");
}

#[tokio::test]
async fn guards_run_before_the_rate_limit_so_a_limited_caller_cannot_probe() {
    let api = Api::app();
    let one = NonZeroU32::new(1).unwrap();
    let conn = Connection::for_consumer::<Api>(scope_of(ALICE)).with_rate_limit(RateLimit::per_second(one).burst(one));
    let send = |input: String| {
        let (api, conn) = (&api, &conn);
        async move { String::from_utf8(api.handle(conn, input.as_bytes()).await.unwrap().into_body()).unwrap() }
    };
    let first: Value = serde_json::from_str(&send(call("hello", 1)).await).unwrap();
    assert_eq!(first["result"], "hello alice", "takes the one token");
    let limited: Value = serde_json::from_str(&send(call("hello", 2)).await).unwrap();
    assert_eq!(limited["error"]["code"], -32002, "{limited}");
    // Over the limit, a guarded method still answers like an unknown one.
    let denied = send(call("admin.stats", 3)).await;
    let unknown = send_as(&Bare::app(), ALICE, &call("admin.stats", 3)).await.unwrap();
    assert_eq!(denied, unknown);
}

#[tokio::test]
async fn a_guard_runs_once_per_call_over_the_websocket_loop() {
    let mut socket = WebsocketCommunicator::new(Counted::app(), "/ws/")
        .connect()
        .await
        .expect("no connect hook");
    let before = ASKED.load(Ordering::SeqCst);
    socket.send_text(&call("counted.slow", 1)).await;
    let reply = socket.receive_json().await.expect("answered");
    assert_eq!(reply["result"], "done");
    socket
        .send_text(
            r#"[{"jsonrpc":"2.0","method":"counted.slow","id":2},{"jsonrpc":"2.0","method":"counted.slow","id":3}]"#,
        )
        .await;
    let reply = socket.receive_json().await.expect("answered");
    assert_eq!(reply.as_array().map(Vec::len), Some(2), "{reply}");
    assert_eq!(ASKED.load(Ordering::SeqCst) - before, 3, "one question per call");
    // `rpc.discover` beside an async call: the message answers later, and
    // the loop starts it again, yet discovery asks each guard once.
    let before = ASKED.load(Ordering::SeqCst);
    socket
        .send_text(
            r#"[{"jsonrpc":"2.0","method":"rpc.discover","id":4},{"jsonrpc":"2.0","method":"counted.slow","id":5}]"#,
        )
        .await;
    let reply = socket.receive_json().await.expect("answered");
    assert_eq!(reply.as_array().map(Vec::len), Some(2), "{reply}");
    assert_eq!(
        ASKED.load(Ordering::SeqCst) - before,
        2,
        "one question for discovery, one for the call"
    );
}

/// Refuses every call.
struct RefuseAll;

impl channels_rpc::middleware::Middleware for RefuseAll {
    fn before(&self, _call: &channels_rpc::middleware::CallInfo<'_>) -> channels_rpc::middleware::Verdict {
        channels_rpc::middleware::Verdict::Reject(RpcError::new(-32010, "refused"))
    }
}

#[tokio::test]
async fn a_middleware_refusing_rpc_discover_leaves_the_guards_unasked() {
    let app = Counted::app().middleware(RefuseAll);
    let before = ASKED.load(Ordering::SeqCst);
    let reply: Value = serde_json::from_str(&send_as(&app, None, &call("rpc.discover", 1)).await.unwrap()).unwrap();
    assert_eq!(reply["error"]["code"], -32010);
    assert_eq!(ASKED.load(Ordering::SeqCst), before, "the middleware comes first");
}

fn names(document: &Value) -> Vec<String> {
    document["result"]["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn discovery_lists_only_what_the_caller_may_call() {
    let api = Api::app();
    let discover = call("rpc.discover", 9);
    let as_alice: Value = serde_json::from_str(&send_as(&api, ALICE, &discover).await.unwrap()).unwrap();
    let as_root: Value = serde_json::from_str(&send_as(&api, ROOT, &discover).await.unwrap()).unwrap();
    // `stuck`'s guard never decides: it is not listed, for anyone.
    assert_eq!(names(&as_alice), ["hello"]);
    assert_eq!(
        names(&as_root),
        [
            "admin.async_stats",
            "admin.stats",
            "admin.stats_later",
            "admin.why",
            "admin.why_later",
            "hello",
            "admin.log"
        ]
    );
    // The consumer's guard is asked about each entry by its name.
    let members = Members::app();
    let anonymous: Value = serde_json::from_str(&send_as(&members, None, &discover).await.unwrap()).unwrap();
    assert_eq!(names(&anonymous), ["public.ping"]);
    // In a batch too.
    let batch = format!("[{discover}]");
    let in_batch: Value = serde_json::from_str(&send_as(&api, ALICE, &batch).await.unwrap()).unwrap();
    assert_eq!(names(&in_batch[0]), ["hello"]);
}

#[tokio::test]
async fn a_missing_extension_is_an_internal_error() {
    let reply: Value = serde_json::from_str(&send_as(&Api::app(), None, &call("hello", 5)).await.unwrap()).unwrap();
    assert_eq!(
        reply,
        json!({"jsonrpc": "2.0", "error": {"code": -32603, "message": "Internal error"}, "id": 5})
    );
}

/// A middleware that lets everything through.
struct PassThrough;

impl channels_rpc::middleware::Middleware for PassThrough {}

/// An async middleware that lets everything through after a yield.
struct PassThroughLater;

impl channels_rpc::middleware::AsyncMiddleware for PassThroughLater {
    fn before<'a>(
        &'a self,
        _call: &'a channels_rpc::middleware::CallInfo<'a>,
    ) -> channels_rpc::middleware::VerdictFuture<'a> {
        Box::pin(async {
            tokio::task::yield_now().await;
            channels_rpc::middleware::Verdict::Continue
        })
    }
}

#[tokio::test]
async fn guards_hold_inside_sync_and_async_middleware() {
    let bare = Bare::app();
    for api in [
        Api::app().middleware(PassThrough),
        Api::app().async_middleware(PassThroughLater),
    ] {
        for method in ["admin.stats", "admin.stats_later", "admin.async_stats"] {
            let input = call(method, 7);
            let denied = send_as(&api, ALICE, &input).await.expect("a call is answered");
            assert_eq!(denied, send_as(&bare, ALICE, &input).await.unwrap(), "{method}");
            let allowed: Value = serde_json::from_str(&send_as(&api, ROOT, &input).await.unwrap()).unwrap();
            assert!(allowed["result"].is_u64(), "{method}: {allowed}");
        }
        let own: Value =
            serde_json::from_str(&send_as(&api, ALICE, &call("admin.why_later", 3)).await.unwrap()).unwrap();
        assert_eq!(own["error"]["code"], -32004);
        let batch = format!("[{},{}]", call("admin.stats", 1), call("rpc.discover", 2));
        let answers: Value = serde_json::from_str(&send_as(&api, ALICE, &batch).await.unwrap()).unwrap();
        let answers = answers.as_array().unwrap();
        let stats = answers.iter().find(|a| a["id"] == 1).unwrap();
        assert_eq!(stats["error"]["code"], -32601);
        let discovered = answers.iter().find(|a| a["id"] == 2).unwrap();
        assert_eq!(names(discovered), ["hello"]);
    }
}
