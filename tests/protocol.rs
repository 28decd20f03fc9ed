//! The wire contract beyond the specification's examples: JSON-RPC 1.0, ids,
//! invalid members, parameter errors, return-value mapping, panics, limits and
//! transport restrictions, all through the in-process dispatcher.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use channels_rpc::{
    rpc_method, App, Connection, Consumer, Limits, RpcContext, RpcError, Scope, StatusMapping, Transport,
};
use common::{send, send_on, Everyone};
use rpc_core::Answer;
use serde_json::{json, Value};

/// The seed README's consumer; it serves the spec methods' crate too.
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct MyConsumer;

#[rpc_method("mymodule.rpc.ping", consumer = MyConsumer)]
fn seed_ping(fake_an_error: bool) -> Result<&'static str, RpcError> {
    if fake_an_error {
        Err(RpcError::application("fake_error"))
    } else {
        Ok("pong")
    }
}

/// Served only to `MyConsumer`, which it names by its context type.
#[rpc_method]
fn whoami(ctx: &RpcContext<MyConsumer>) -> Option<String> {
    ctx.scope().header("x-user").map(str::to_owned)
}

/// Takes and returns its parameter as raw JSON text: nothing decoded or re-encoded.
#[rpc_method]
fn echo_raw(value: Box<serde_json::value::RawValue>) -> Box<serde_json::value::RawValue> {
    value
}

static COUNTED_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Counts how often its body has started.
#[rpc_method(consumer = MyConsumer)]
async fn counted() -> usize {
    COUNTED_RUNS.fetch_add(1, SeqCst) + 1
}

async fn seed(input: &str) -> Value {
    let app = MyConsumer::app();
    let text = send_on(&app, Transport::InProcess, input).await.expect("a reply");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn seed_readme_example_exactly() {
    let ok = seed(r#"{"id":1, "jsonrpc":"2.0","method":"mymodule.rpc.ping","params":{"fake_an_error":false}}"#).await;
    assert_eq!(ok, json!({"id": 1, "jsonrpc": "2.0", "result": "pong"}));
    let err = seed(r#"{"id":1, "jsonrpc":"2.0","method":"mymodule.rpc.ping","params":{"fake_an_error":true}}"#).await;
    assert_eq!(
        err,
        json!({"id": 1, "jsonrpc": "2.0", "error": {"message": "fake_error", "code": -32000, "data": ["fake_error"]}})
    );
}

#[tokio::test]
async fn consumer_specific_methods_are_not_served_to_others() {
    let r = send(r#"{"jsonrpc":"2.0","method":"mymodule.rpc.ping","params":[false],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32601);
    let r = send(r#"{"jsonrpc":"2.0","method":"whoami","id":1}"#).await.unwrap();
    assert_eq!(r["error"]["code"], -32601, "the context type ties whoami to MyConsumer");
    // MyConsumer serves the unbound methods of the crate it includes too.
    assert_eq!(
        seed(r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await["result"],
        "pong"
    );
}

#[tokio::test]
async fn context_reads_the_scope() {
    let app = MyConsumer::app();
    let mut scope = Scope::new(Transport::WebSocket, "/ws/");
    scope.headers_mut().insert("x-user", "alice".parse().unwrap());
    let conn = Connection::for_consumer::<MyConsumer>(scope);
    let reply = app
        .handle(&conn, br#"{"jsonrpc":"2.0","method":"whoami","id":7}"#)
        .await
        .unwrap();
    assert_eq!(reply.body(), br#"{"jsonrpc":"2.0","result":"alice","id":7}"#);
}

#[tokio::test]
async fn introspection_of_the_call() {
    let r = send(r#"{"jsonrpc":"2.0","method":"introspect","id":"abc"}"#)
        .await
        .unwrap();
    assert_eq!(
        r["result"],
        json!({"method": "introspect", "id": "\"abc\"", "notification": false, "version": "V2", "path": "/rpc/"})
    );
}

#[tokio::test]
async fn json_rpc_1_0_call_and_errors() {
    let r = send(r#"{"method": "subtract", "params": [42, 23], "id": 1}"#)
        .await
        .unwrap();
    assert_eq!(r, json!({"result": 19, "error": null, "id": 1}));
    let r = send(r#"{"method": "nope", "params": [], "id": "x"}"#).await.unwrap();
    assert_eq!(r["result"], json!(null));
    assert_eq!(r["error"]["code"], -32601);
    assert_eq!(r["id"], "x");
    assert!(r.get("jsonrpc").is_none(), "1.0 replies carry no jsonrpc member: {r}");
    let r = send(r#"{"method": "mymodule.rpc.ping", "params": [true], "id": 2}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32601, "served to MyConsumer only");
    let r = seed(r#"{"method": "mymodule.rpc.ping", "params": [true], "id": 2}"#).await;
    assert_eq!(
        r,
        json!({"result": null, "error": {"code": -32000, "message": "fake_error", "data": ["fake_error"]}, "id": 2})
    );
}

#[tokio::test]
async fn json_rpc_1_0_notification_has_null_id() {
    assert_eq!(send(r#"{"method": "update", "params": [1], "id": null}"#).await, None);
    assert_eq!(send(r#"{"method": "nope", "params": [1], "id": null}"#).await, None);
}

#[tokio::test]
async fn no_jsonrpc_member_and_not_1_0_is_an_invalid_2_0_request() {
    let r = send(r#"{"foo": "boo"}"#).await.unwrap();
    assert_eq!(r["jsonrpc"], "2.0");
    assert_eq!(r["error"]["code"], -32600);
    let r = send(r#"{"method": "ping"}"#).await.unwrap();
    assert_eq!(r["error"]["code"], -32600);
    // In a batch every member is judged as 2.0, even one shaped like 1.0.
    let r = send(r#"[{"method": "ping", "params": [], "id": 1}]"#).await.unwrap();
    assert_eq!(r[0]["error"]["code"], -32600);
}

#[tokio::test]
async fn ids_are_echoed_byte_for_byte() {
    let app = Everyone::app();
    for id in [
        r#""abc""#,
        r#""é\u00e9\"""#,
        "0",
        "-7",
        "18446744073709551616123",
        "1.50",
        "1e-400",
        "null",
    ] {
        let call = format!(r#"{{"jsonrpc":"2.0","method":"ping","id":{id}}}"#);
        let reply = send_on(&app, Transport::InProcess, &call).await.unwrap();
        assert_eq!(reply, format!(r#"{{"jsonrpc":"2.0","result":"pong","id":{id}}}"#));
    }
    // The exception: a number too large for a 64-bit float (tests/wire_ids.rs).
    let call = r#"{"jsonrpc":"2.0","method":"ping","id":1e400}"#;
    let reply = send_on(&app, Transport::InProcess, call).await.unwrap();
    assert!(
        reply.contains(r#""code":-32600"#) && reply.ends_with(r#""id":null}"#),
        "{reply}"
    );
}

#[tokio::test]
async fn invalid_ids_and_members() {
    for bad in [
        r#"{"jsonrpc":"2.0","method":"ping","id":[1]}"#,
        r#"{"jsonrpc":"2.0","method":"ping","id":{"a":1}}"#,
        r#"{"jsonrpc":"2.0","method":"ping","id":true}"#,
        r#"{"jsonrpc":"1.0","method":"ping","id":1}"#,
        r#"{"jsonrpc":2.0,"method":"ping","id":1}"#,
        r#"{"jsonrpc":"2.0","method":"ping","params":"x","id":1}"#,
        r#"{"jsonrpc":"2.0","method":"ping","params":3,"id":1}"#,
        r#"{"jsonrpc":"2.0","method":"ping","params":null,"id":1}"#,
        r#"{"jsonrpc":"2.0","method":null,"id":1}"#,
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"{"jsonrpc":"2.0","method":"ping","id":1,"id":2}"#,
        r#""just a string""#,
        "42",
        "null",
    ] {
        let r = send(bad).await.unwrap_or_else(|| panic!("no reply to {bad}"));
        assert_eq!(r["error"]["code"], -32600, "{bad} -> {r}");
    }
    for broken in ["", "{", "[{]", "{\"jsonrpc\":\"2.0\",}", "\u{1}", "nul"] {
        let r = send(broken).await.unwrap();
        assert_eq!(r["error"]["code"], -32700, "{broken:?} -> {r}");
        assert_eq!(r["id"], json!(null));
    }
    // Not UTF-8 at all.
    let app = Everyone::app();
    let conn = Connection::for_consumer::<Everyone>(Scope::new(Transport::InProcess, "/"));
    let reply = app.handle(&conn, &[0xff, 0xfe, b'{']).await.unwrap();
    assert_eq!(reply.error_code(), Some(-32700));
}

#[tokio::test]
async fn invalid_request_keeps_a_valid_id() {
    let r = send(r#"{"jsonrpc":"2.0","method":1,"id":"keep"}"#).await.unwrap();
    assert_eq!(r["error"]["code"], -32600);
    assert_eq!(r["id"], "keep");
}

#[tokio::test]
async fn reserved_names_are_not_found() {
    // `rpc.discover` is the framework's (tests/discover.rs); other `rpc.` names are nobody's.
    let r = send(r#"{"jsonrpc":"2.0","method":"rpc.methods","id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32601);
}

#[tokio::test]
async fn parameter_errors_name_the_parameter() {
    let cases = [
        (r#"[1]"#, "missing parameter `subtrahend`"),
        (r#"{"minuend": 1}"#, "missing parameter `subtrahend`"),
        (
            r#"[1, "two"]"#,
            "parameter `subtrahend`: invalid type: string \"two\", expected i64",
        ),
        (
            r#"{"minuend": 1, "subtrahend": 2, "extra": 3}"#,
            "unexpected parameter `extra`",
        ),
        (r#"[1, 2, 3]"#, "expected at most 2 parameters, got 3"),
    ];
    for (params, expected) in cases {
        let r = send(&format!(
            r#"{{"jsonrpc":"2.0","method":"subtract","params":{params},"id":1}}"#
        ))
        .await
        .unwrap();
        assert_eq!(r["error"]["code"], -32602, "{params} -> {r}");
        assert_eq!(r["error"]["message"], "Invalid params", "{params} -> {r}");
        assert_eq!(r["error"]["data"], expected, "{params} -> {r}");
    }
    let r = send(r#"{"jsonrpc":"2.0","method":"sum","params":["x"],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32602);
    let r = send(r#"{"jsonrpc":"2.0","method":"ping","params":[1],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32602, "ping takes no parameters");
    let r = send(r#"{"jsonrpc":"2.0","method":"ping","params":[],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["result"], "pong");
}

#[tokio::test]
async fn optional_and_structured_parameters() {
    let r = send(r#"{"jsonrpc":"2.0","method":"add","params":[2],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32602, "add requires `b`: {r}");
    let r = send(r#"{"jsonrpc":"2.0","method":"add","params":{"a":2,"b":3},"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["result"], 5);
    let r = send(r#"{"jsonrpc":"2.0","method":"greet","params":["Ada"],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["result"], "Hello, Ada!", "an omitted Option is None");
    let r = send(r#"{"jsonrpc":"2.0","method":"greet","params":{"name":"Ada","greeting":"Hi"},"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["result"], "Hi, Ada!");
    let r = send(r#"{"jsonrpc":"2.0","method":"sum","params":[1,2.5],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["result"], json!(3.5), "a float in the input sums to a float");
    let r = send(r#"{"jsonrpc":"2.0","method":"geometry.mirror","params":[{"x":1,"y":-2}],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["result"], json!({"x": -1.0, "y": 2.0}));
    let r = send(r#"{"jsonrpc":"2.0","method":"echo","params":{"value":{"deep":[1,{"a":null}]}},"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["result"], json!({"deep": [1, {"a": null}]}));
}

#[tokio::test]
async fn foreign_errors_become_application_errors() {
    let r = send(r#"{"jsonrpc":"2.0","method":"parse_int","params":["12x"],"id":1}"#)
        .await
        .unwrap();
    // `ParseIntError`'s Display, as the seed's application error.
    let message = "invalid digit found in string";
    assert_eq!(
        r["error"],
        json!({"code": -32000, "message": message, "data": [message]})
    );
    let r = send(r#"{"jsonrpc":"2.0","method":"parse_int","params":["-42"],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["result"], -42);
}

#[tokio::test]
async fn panics_answer_internal_error_and_leak_nothing() {
    for method in ["boom", "async_boom"] {
        let r = send(&format!(r#"{{"jsonrpc":"2.0","method":"{method}","id":1}}"#))
            .await
            .unwrap();
        assert_eq!(
            r,
            json!({"jsonrpc": "2.0", "error": {"code": -32603, "message": "Internal error"}, "id": 1})
        );
    }
    // The same connection and app keep working afterwards.
    let app = Everyone::app();
    let conn = Connection::for_consumer::<Everyone>(Scope::new(Transport::InProcess, "/"));
    let boom = app
        .handle(&conn, br#"{"jsonrpc":"2.0","method":"boom","id":1}"#)
        .await
        .unwrap();
    assert_eq!(boom.error_code(), Some(-32603));
    let ping = app
        .handle(&conn, br#"{"jsonrpc":"2.0","method":"ping","id":2}"#)
        .await
        .unwrap();
    assert_eq!(ping.body(), br#"{"jsonrpc":"2.0","result":"pong","id":2}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_methods_run_on_the_blocking_pool() {
    let r = send(r#"{"jsonrpc":"2.0","method":"math.blocking_sum","params":[[1,2,3]],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["result"], 6);
}

#[tokio::test]
async fn transport_flags_restrict_methods() {
    let app = Everyone::app();
    let call = r#"{"jsonrpc":"2.0","method":"ws.only","id":1}"#;
    let http: Value = serde_json::from_str(&send_on(&app, Transport::Http, call).await.unwrap()).unwrap();
    assert_eq!(http["error"]["code"], -32601);
    let ws: Value = serde_json::from_str(&send_on(&app, Transport::WebSocket, call).await.unwrap()).unwrap();
    assert_eq!(ws["result"], true);
}

#[tokio::test]
async fn notification_handlers_only_handle_notifications() {
    // A call (with an id) to a notification handler finds no method.
    let r = send(r#"{"jsonrpc":"2.0","method":"notify_hello","params":[1],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32601);
}

#[tokio::test]
async fn sync_calls_answer_at_once_and_async_ones_run_when_awaited() {
    let app = MyConsumer::app();
    let conn = Connection::for_consumer::<MyConsumer>(Scope::new(Transport::InProcess, "/"));
    let ping = br#"{"jsonrpc":"2.0","method":"mymodule.rpc.ping","params":[false],"id":1}"#;
    let Answer::Ready(Some(reply)) = app.start(&conn, ping) else {
        panic!("a sync call is answered at once");
    };
    assert_eq!(reply.body(), br#"{"jsonrpc":"2.0","result":"pong","id":1}"#);
    let Answer::Ready(Some(all_sync)) = app.start(&conn, &[b"[", &ping[..], b",", &ping[..], b"]"].concat()) else {
        panic!("a batch of sync calls is answered at once");
    };
    assert!(all_sync.is_batch());

    let mixed = br#"[{"jsonrpc":"2.0","method":"mymodule.rpc.ping","params":[false],"id":1},
                     {"jsonrpc":"2.0","method":"counted","id":2}]"#;
    let pending = app.start(&conn, mixed);
    assert!(matches!(pending, Answer::Pending(_)), "{pending:?}");
    drop(pending);
    assert_eq!(
        COUNTED_RUNS.load(SeqCst),
        0,
        "a pending answer runs nothing until awaited"
    );
    let reply = app.start(&conn, mixed).finish().await.expect("a reply");
    let mut ids: Vec<i64> = serde_json::from_slice::<Vec<Value>>(reply.body())
        .unwrap()
        .iter()
        .map(|answer| answer["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [1, 2]);
    assert_eq!(COUNTED_RUNS.load(SeqCst), 1);
}

#[tokio::test]
async fn batch_members_run_concurrently() {
    let batch: Vec<Value> = (0..10)
        .map(|i| json!({"jsonrpc": "2.0", "method": "slow", "params": [200], "id": i}))
        .collect();
    let started = Instant::now();
    let r = send(&serde_json::to_string(&batch).unwrap()).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(r.as_array().unwrap().len(), 10);
    // Run one after another they would take 2 s.
    assert!(elapsed < Duration::from_millis(1500), "batch took {elapsed:?}");
}

#[tokio::test]
async fn limits_answer_invalid_request() {
    let app = Everyone::app().limits(Limits::default().max_message_size(64).max_depth(4).max_batch_len(2));
    let on = |input: String| {
        let app = app.clone();
        async move {
            let text = send_on(&app, Transport::InProcess, &input).await.unwrap();
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };
    let big = on(format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        "x".repeat(100)
    ))
    .await;
    assert_eq!(big["error"]["code"], -32600);
    assert!(big["error"]["data"]
        .as_str()
        .unwrap()
        .contains("exceeds the limit of 64 bytes"));
    let deep = on(r#"{"jsonrpc":"2.0","method":"echo","params":[[[[1]]]],"id":1}"#.to_owned()).await;
    assert_eq!(deep["error"]["code"], -32600);
    let long = on(r#"[{"jsonrpc":"2.0","method":"ping","id":1},1,2]"#.to_owned()).await;
    assert_eq!(long["error"]["code"], -32600);
    assert!(long.is_object());
    let fine = on(r#"{"jsonrpc":"2.0","method":"echo","params":[[[1]]],"id":1}"#.to_owned()).await;
    assert_eq!(fine["result"], json!([[1]]));
}

#[tokio::test]
async fn default_depth_limit_stops_deep_nesting_without_a_stack_overflow() {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":[{}1{}],"id":1}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let r = send(&deep).await.unwrap();
    assert_eq!(r["error"]["code"], -32600);
}

#[tokio::test]
async fn http_status_mapping() {
    let app = MyConsumer::app();
    let conn = Connection::for_consumer::<MyConsumer>(Scope::new(Transport::Http, "/rpc/"));
    let status = |input: &'static str, mapping| {
        let (app, conn) = (&app, &conn);
        async move { app.handle(conn, input.as_bytes()).await.unwrap().http_status(mapping) }
    };
    use StatusMapping::{Draft, Spec};
    assert_eq!(status(r#"{"method":"ping","params":[],"id":1}"#, Spec).await, 200);
    assert_eq!(status(r#"{"method":"nope","params":[],"id":1}"#, Spec).await, 404);
    assert_eq!(
        status(r#"{"method":"mymodule.rpc.ping","params":[true],"id":1}"#, Spec).await,
        500
    );
    assert_eq!(status(r#"{"method":"ping","params":"x","id":1}"#, Spec).await, 400);
    assert_eq!(status(r#"{"jsonrpc":"2.0","method":"nope","id":1}"#, Spec).await, 200);
    assert_eq!(status(r#"{"jsonrpc":"2.0","method":"nope","id":1}"#, Draft).await, 404);
    assert_eq!(
        status(r#"{"jsonrpc":"2.0","method":"ping","params":[1],"id":1}"#, Draft).await,
        500
    );
    assert_eq!(
        status("{oops", Spec).await,
        200,
        "a parse error names no version: 2.0 answer"
    );
    assert_eq!(
        status(r#"[{"jsonrpc":"2.0","method":"nope","id":1}]"#, Draft).await,
        200
    );
}

#[test]
fn apps_list_their_methods() {
    let app: App<MyConsumer> = MyConsumer::app();
    let seed = app.method("mymodule.rpc.ping").unwrap();
    assert_eq!(seed.rust_name(), "seed_ping");
    assert_eq!(seed.params(), ["fake_an_error"]);
    assert!(seed.location().0.ends_with("protocol.rs"));
    let add = app.method("add").unwrap();
    assert_eq!(add.doc(), "Adds two numbers.");
    assert!(app.methods().iter().any(|m| m.name() == "notify_hello"));
    assert!(Everyone::app().method("mymodule.rpc.ping").is_none());
}

#[tokio::test]
async fn raw_value_parameters_pass_through_untouched() {
    let app = Everyone::app();
    let call = r#"{"jsonrpc":"2.0","method":"echo_raw","params":[{"b" : 1.50, "a":"\u00e9"}],"id":1}"#;
    let reply = send_on(&app, Transport::InProcess, call).await.unwrap();
    assert_eq!(reply, r#"{"jsonrpc":"2.0","result":{"b" : 1.50, "a":"\u00e9"},"id":1}"#);
}

#[tokio::test]
async fn escaped_method_names_are_decoded() {
    let r = send(r#"{"jsonrpc":"2.0","method":"p\u0069ng","id":1}"#).await.unwrap();
    assert_eq!(r["result"], "pong");
    let r = send(r#"{"jsonrpc":"2.0","method":"geometry\/mirror","params":[{"x":1,"y":1}],"id":2}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32601, "\\/ decodes to /: no such method");
}

/// Serves `tick` both as a method and as a notification handler.
#[derive(Consumer, Default)]
struct Ticking;

static TICK_CALLS: AtomicUsize = AtomicUsize::new(0);
static TICK_NOTIFICATIONS: AtomicUsize = AtomicUsize::new(0);

#[rpc_method("tick", consumer = Ticking)]
fn tick_call(n: u32) -> u32 {
    TICK_CALLS.fetch_add(1, SeqCst);
    n + 1
}

#[channels_rpc::rpc_notification("tick", consumer = Ticking)]
fn tick_notification(n: u32) {
    TICK_NOTIFICATIONS.fetch_add(n as usize, SeqCst);
}

#[tokio::test]
async fn a_batch_naming_one_method_many_times_reaches_each_handler() {
    let app = Ticking::app();
    let batch = r#"[
        {"jsonrpc":"2.0","method":"tick","params":[1],"id":1},
        {"jsonrpc":"2.0","method":"tick","params":[10]},
        {"jsonrpc":"2.0","method":"tick","params":[2],"id":2},
        {"jsonrpc":"2.0","method":"tock","params":[3],"id":3},
        {"jsonrpc":"2.0","method":"tick","params":[4],"id":4},
        {"jsonrpc":"2.0","method":"tick","params":[20]}
    ]"#;
    let text = send_on(&app, Transport::InProcess, batch).await.unwrap();
    // A batch's answers may come in any order (the specification): by id.
    let mut answers: Vec<Value> = serde_json::from_str(&text).unwrap();
    answers.sort_by_key(|answer| answer["id"].as_u64());
    assert_eq!(
        Value::Array(answers),
        json!([
            {"jsonrpc": "2.0", "result": 2, "id": 1},
            {"jsonrpc": "2.0", "result": 3, "id": 2},
            {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found", "data": "tock"}, "id": 3},
            {"jsonrpc": "2.0", "result": 5, "id": 4},
        ])
    );
    assert_eq!(TICK_CALLS.load(SeqCst), 3);
    assert_eq!(
        TICK_NOTIFICATIONS.load(SeqCst),
        30,
        "both notifications reached the handler"
    );
}
