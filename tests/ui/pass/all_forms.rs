//! Every form the attributes accept, registered for one consumer.

use channels_rpc::{
    rpc_method, rpc_notification, Connection, Consumer, ConsumerHooks, MethodEntry, MethodKind,
    Params, Reject, RpcContext, RpcError, Scope, Transport,
};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Consumer, Default)]
struct MyConsumer {
    calls: AtomicU64,
}

#[derive(Consumer)]
#[consumer(new = Other::from_scope, hooks)]
struct Other {
    path: String,
}

impl Other {
    fn from_scope(scope: &Scope) -> Self {
        Other {
            path: scope.path().to_owned(),
        }
    }
}

impl ConsumerHooks for Other {
    async fn connect(&self, _scope: &mut Scope) -> Result<(), Reject> {
        Ok(())
    }
}

#[derive(Deserialize, Serialize)]
struct Point {
    x: i64,
    y: i64,
}

#[rpc_method]
fn bare() -> &'static str {
    "bare"
}

#[rpc_method("forms.named")]
fn named(a: i64, b: i64) -> i64 {
    a + b
}

#[rpc_method("forms.trailing_comma", consumer = MyConsumer,)]
fn trailing_comma() {}

#[rpc_method(consumer = MyConsumer)]
fn for_my_consumer(point: Point) -> Point {
    point
}

#[rpc_method("forms.flags", websocket = false, http = true)]
fn http_only() -> bool {
    true
}

#[rpc_method(websocket = true, http = false)]
fn websocket_only() -> bool {
    true
}

#[rpc_method(blocking)]
fn blocking(n: u64) -> u64 {
    (0..n).sum()
}

#[rpc_method("forms.everything", consumer = MyConsumer, websocket = true, http = true, blocking, timeout = "1m 30s")]
fn everything(text: String) -> usize {
    text.len()
}

#[rpc_method(timeout = "250ms")]
async fn asynchronous(ms: Option<u64>) -> u64 {
    ms.unwrap_or(0)
}

#[rpc_method]
async fn async_with_context(ctx: &RpcContext, scope: &Scope) -> Result<String, RpcError> {
    Ok(format!("{} {}", ctx.method(), scope.path()))
}

#[rpc_method]
fn rpc_error(fail: bool) -> Result<&'static str, RpcError> {
    if fail {
        Err(RpcError::application("failed"))
    } else {
        Ok("ok")
    }
}

#[rpc_method]
fn io_error(path: String) -> Result<u64, std::io::Error> {
    std::fs::metadata(path).map(|m| m.len())
}

#[rpc_method]
fn optional(a: i64, b: Option<i64>, c: Option<String>) -> String {
    format!("{a} {b:?} {c:?}")
}

#[rpc_method]
fn whole_params(params: &Params) -> Result<f64, RpcError> {
    Ok(params.parse::<Vec<f64>>()?.iter().sum())
}

#[rpc_method]
fn any_context(ctx: &RpcContext) -> Option<String> {
    ctx.request_id().map(str::to_owned)
}

#[rpc_method]
fn typed_context(ctx: &RpcContext<MyConsumer>) -> u64 {
    ctx.consumer().calls.load(Ordering::Relaxed)
}

#[rpc_method]
fn with_lifetime<'a>(ctx: &'a RpcContext) -> &'a str {
    ctx.method()
}

#[rpc_method]
fn consumer_itself(me: &MyConsumer) -> u64 {
    me.calls.fetch_add(1, Ordering::Relaxed) + 1
}

#[rpc_method]
fn other_consumer(me: &Other, scope: &Scope) -> bool {
    me.path == scope.path()
}

#[rpc_method]
fn mixed(scope: &Scope, r#type: String, ctx: &RpcContext, count: Option<u32>) -> String {
    format!("{} {} {} {:?}", scope.path(), r#type, ctx.method(), count)
}

#[rpc_method]
fn unit_tuple() -> () {}

#[rpc_notification]
fn notified(value: i64) {
    let _ = value;
}

#[rpc_notification("forms.notified_named", consumer = MyConsumer)]
fn notified_named(params: &Params, me: &MyConsumer) {
    let _ = (params, me);
}

#[rpc_notification]
async fn notified_async(ctx: &RpcContext) -> () {
    let _ = ctx;
}

#[rpc_notification(blocking)]
fn notified_blocking(value: String) {
    let _ = value;
}

fn entry(app: &[&'static MethodEntry], name: &str) -> Option<&'static MethodEntry> {
    app.iter().copied().find(|e| e.name() == name)
}

fn main() {
    let mine = MyConsumer::app().methods();
    for name in [
        "bare",
        "forms.named",
        "forms.trailing_comma",
        "for_my_consumer",
        "forms.flags",
        "websocket_only",
        "blocking",
        "forms.everything",
        "asynchronous",
        "async_with_context",
        "rpc_error",
        "io_error",
        "optional",
        "whole_params",
        "any_context",
        "typed_context",
        "with_lifetime",
        "consumer_itself",
        "mixed",
        "unit_tuple",
    ] {
        let e =
            entry(&mine, name).unwrap_or_else(|| panic!("{name} is not registered for MyConsumer"));
        assert_eq!(e.kind(), MethodKind::Method, "{name}");
    }
    for name in [
        "notified",
        "forms.notified_named",
        "notified_async",
        "notified_blocking",
    ] {
        let e =
            entry(&mine, name).unwrap_or_else(|| panic!("{name} is not registered for MyConsumer"));
        assert_eq!(e.kind(), MethodKind::Notification, "{name}");
    }
    assert!(entry(&mine, "other_consumer").is_none());
    let other = Other::app().methods();
    assert!(entry(&other, "other_consumer").is_some());
    assert!(entry(&other, "for_my_consumer").is_none());
    assert!(entry(&other, "bare").is_some());

    let flags = entry(&mine, "forms.flags").unwrap();
    assert!(!flags.serves(Transport::WebSocket) && flags.serves(Transport::Http));
    let ws = entry(&mine, "websocket_only").unwrap();
    assert!(ws.serves(Transport::WebSocket) && !ws.serves(Transport::Http));
    assert!(entry(&mine, "blocking").unwrap().is_blocking());
    assert_eq!(entry(&mine, "optional").unwrap().params(), ["a", "b", "c"]);
    assert_eq!(entry(&mine, "mixed").unwrap().params(), ["type", "count"]);
    assert!(entry(&mine, "whole_params").unwrap().takes_params());
    assert!(!entry(&mine, "mixed").unwrap().takes_params());

    // A few real calls through the generated wrappers.
    let app = MyConsumer::app();
    let conn = Connection::for_consumer::<MyConsumer>(Scope::new(Transport::InProcess, "/p"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let call = |request: &str| {
        let reply = rt
            .block_on(app.handle(&conn, request.as_bytes()))
            .expect("a reply");
        String::from_utf8(reply.body().to_vec()).unwrap()
    };
    let answer = |method: &str, params: &str| {
        call(&format!(
            r#"{{"jsonrpc":"2.0","method":"{method}","params":{params},"id":1}}"#
        ))
    };
    let ok = |result: &str| format!(r#"{{"jsonrpc":"2.0","result":{result},"id":1}}"#);
    assert_eq!(answer("forms.named", "[1, 2]"), ok("3"));
    assert_eq!(answer("forms.named", r#"{"b": 2, "a": 5}"#), ok("7"));
    assert_eq!(
        answer("for_my_consumer", r#"[{"x": 1, "y": 2}]"#),
        ok(r#"{"x":1,"y":2}"#)
    );
    assert_eq!(answer("blocking", "[4]"), ok("6"));
    assert_eq!(answer("asynchronous", "[]"), ok("0"));
    assert_eq!(
        answer("async_with_context", "[]"),
        ok(r#""async_with_context /p""#)
    );
    assert_eq!(
        answer("optional", r#"{"a": 1, "c": "x"}"#),
        ok(r#""1 None Some(\"x\")""#)
    );
    assert_eq!(answer("whole_params", "[1, 2.5]"), ok("3.5"));
    assert_eq!(
        answer("mixed", r#"{"type": "t"}"#),
        ok(r#""/p t mixed None""#)
    );
    assert_eq!(answer("consumer_itself", "[]"), ok("1"));
    assert_eq!(answer("typed_context", "[]"), ok("1"));
    assert_eq!(answer("unit_tuple", "[]"), ok("null"));
    assert!(answer("rpc_error", "[true]").contains(r#""message":"failed""#));
    assert!(answer("forms.named", "[1]").contains("-32602"));
}
