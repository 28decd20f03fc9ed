//! Tests that run every `unsafe` block of this crate, written so that miri can
//! run them: no I/O, no runtime (futures are polled once with
//! `now_or_never`), and no read of the link-time slice, whose sections miri
//! does not model. The table is built from a static slice made here by hand.
//!
//! Run: `cargo +nightly miri test -p rpc-core --lib miri_` (plain
//! `cargo test -p rpc-core miri_` runs the same tests natively).
//!
//! The `unsafe` blocks they cover:
//! - `Call::context` (context.rs), the lifetime-erasing cast, through every
//!   call the dispatcher makes, sync, async, in a batch, and with the context,
//!   the consumer, the scope and the whole params injected (the injections go
//!   through the `ref-cast` casts of `RpcContext` and `Params`);
//! - `JsonBuf::into_string` (json_writer.rs), behind `Reply::into_text` and
//!   the push of a notification, on text with escapes and multi-byte
//!   characters, in buffers written once and in the spare buffer a batch's
//!   answers reuse (emptied by `JsonBuf::clear`).

use std::future::IntoFuture;

use futures_util::FutureExt;

use crate::__private::{call_async, call_sync, inject, Invoked};
use crate::context::{ConsumerId, RpcContext};
use crate::dispatch::{Answer, Dispatcher};
use crate::registry::{CallFn, EntryParts, MethodEntry, MethodKind, MethodTable};
use crate::{
    Connection, ConnectionHandle, Consumer, ConsumerHooks, Limits, MethodSources, Params, RpcError, Scope, Transport,
};

/// The consumer of these tests.
#[derive(Debug)]
struct Miri {
    name: String,
}

impl ConsumerHooks for Miri {}

impl Consumer for Miri {
    const METHOD_SOURCES: MethodSources = MethodSources::new(module_path!(), &[]);

    fn new(_scope: &Scope) -> Self {
        Miri {
            name: "miri".to_owned(),
        }
    }
}

/// Another consumer, that never serves these tests' connection.
#[derive(Debug)]
struct Other;

impl ConsumerHooks for Other {}

impl Consumer for Other {
    const METHOD_SOURCES: MethodSources = MethodSources::new(module_path!(), &[]);

    fn new(_scope: &Scope) -> Self {
        Other
    }
}

/// One entry, the way `#[rpc_method]` describes a method.
const fn entry(name: &'static str, params: &'static [&'static str], is_async: bool, call: CallFn) -> MethodEntry {
    MethodEntry::__new(parts(name, params, is_async, call))
}

/// What `entry` describes, to change before it becomes an entry.
const fn parts(name: &'static str, params: &'static [&'static str], is_async: bool, call: CallFn) -> EntryParts {
    EntryParts {
        name,
        rust_name: name,
        module: module_path!(),
        kind: MethodKind::Method,
        websocket: true,
        http: true,
        blocking: false,
        is_async,
        timeout: None,
        params,
        takes_params: false,
        param_schemas: &[],
        result_schema: crate::schema::any_schema,
        doc: "",
        file: file!(),
        line: line!(),
        consumers: &[],
        guard: None,
        call,
    }
}

/// `subtract(minuend, subtrahend)`, sync.
fn subtract(cx: &RpcContext) -> Invoked<'_> {
    call_sync(cx, |(minuend, subtrahend): (i64, i64)| Ok(minuend - subtrahend))
}

/// `echo(text)`, sync: returns its text, to write escapes and multi-byte characters.
fn echo(cx: &RpcContext) -> Invoked<'_> {
    call_sync(cx, |(text,): (String,)| Ok(text))
}

/// `whoami(greeting)`, async, reading the call through an injected typed
/// context, the consumer and the scope after the call has been suspended.
fn whoami(cx: &RpcContext) -> Invoked<'_> {
    call_async(cx, move |(greeting,): (String,)| {
        let ctx = inject::<RpcContext<Miri>>(cx)?;
        let me = inject::<Miri>(cx)?;
        let scope = inject::<Scope>(cx)?;
        Ok(async move {
            let id = ctx.request_id().unwrap_or("none").to_owned();
            let params = ctx.connection().scope().path().len();
            Ok::<_, RpcError>(format!(
                "{greeting} {} #{id} {} {} {params}",
                me.name,
                ctx.method(),
                scope.path()
            ))
        })
    })
}

/// `count(...)`: receives the whole params.
fn count(cx: &RpcContext) -> Invoked<'_> {
    call_sync(cx, |(): ()| {
        let params = inject::<Params>(cx)?;
        Ok(params.parse::<Vec<serde_json::Value>>()?.len())
    })
}

/// `other()`: needs the other consumer, so it fails on this connection.
fn other(cx: &RpcContext) -> Invoked<'_> {
    call_sync(cx, |(): ()| inject::<RpcContext<Other>>(cx).map(|_| 0))
}

/// `boom()`: panics, in its future.
fn boom(cx: &RpcContext) -> Invoked<'_> {
    call_async(cx, |(): ()| -> Result<_, RpcError> {
        Ok(async {
            if cx.method() == "boom" {
                panic!("secret");
            }
            Ok(())
        })
    })
}

static ENTRIES: [MethodEntry; 6] = [
    entry("subtract", &["minuend", "subtrahend"], false, subtract),
    entry("echo", &["text"], false, echo),
    entry("whoami", &["greeting"], true, whoami),
    MethodEntry::__new(EntryParts {
        takes_params: true,
        ..parts("count", &[], false, count)
    }),
    entry("other", &[], false, other),
    entry("boom", &[], true, boom),
];

fn dispatcher() -> Dispatcher {
    let table =
        MethodTable::from_entries(&ENTRIES, ConsumerId::of::<Miri>(), Miri::METHOD_SOURCES).expect("no duplicates");
    Dispatcher::new(table, Limits::default())
}

fn connection() -> Connection {
    Connection::for_consumer::<Miri>(Scope::new(Transport::InProcess, "/ws/"))
}

/// The answer's text, which must be ready without waiting on anything.
fn answer(dispatcher: &Dispatcher, connection: &Connection, input: &str) -> Option<String> {
    dispatcher
        .start(connection, input.as_bytes())
        .into_future()
        .now_or_never()
        .expect("nothing here waits")
        .map(|reply| reply.into_text())
}

#[test]
fn miri_sync_call_through_the_context_cast() {
    let (d, conn) = (dispatcher(), connection());
    let started = d.start(
        &conn,
        br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
    );
    let Answer::Ready(Some(reply)) = started else {
        panic!("a sync method answers at once: {started:?}")
    };
    assert_eq!(reply.into_text(), r#"{"jsonrpc":"2.0","result":19,"id":1}"#);
    assert_eq!(
        answer(
            &d,
            &conn,
            r#"{"method":"subtract","params":{"subtrahend":23,"minuend":42},"id":"x"}"#
        )
        .as_deref(),
        Some(r#"{"result":19,"error":null,"id":"x"}"#)
    );
}

#[test]
fn miri_async_call_reads_the_injected_context_after_suspending() {
    let (d, conn) = (dispatcher(), connection());
    let input = r#"{"jsonrpc":"2.0","method":"whoami","params":["hi"],"id":12345678901234567890}"#;
    let started = d.start_text(&conn, input);
    assert!(matches!(started, Answer::Pending(_)), "{started:?}");
    let reply = started
        .into_future()
        .now_or_never()
        .expect("ready on first poll")
        .expect("a reply");
    assert_eq!(
        reply.into_text(),
        r#"{"jsonrpc":"2.0","result":"hi miri #12345678901234567890 whoami /ws/ 4","id":12345678901234567890}"#
    );
}

#[test]
fn miri_whole_params_and_wrong_consumer_are_injected_or_refused() {
    let (d, conn) = (dispatcher(), connection());
    assert_eq!(
        answer(
            &d,
            &conn,
            r#"{"jsonrpc":"2.0","method":"count","params":[1,"two",[3]],"id":1}"#
        )
        .as_deref(),
        Some(r#"{"jsonrpc":"2.0","result":3,"id":1}"#)
    );
    assert_eq!(
        answer(&d, &conn, r#"{"jsonrpc":"2.0","method":"count","id":2}"#).as_deref(),
        Some(r#"{"jsonrpc":"2.0","result":0,"id":2}"#)
    );
    assert_eq!(
        answer(&d, &conn, r#"{"jsonrpc":"2.0","method":"other","id":3}"#).as_deref(),
        Some(r#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":3}"#)
    );
}

#[test]
fn miri_reply_text_keeps_escapes_and_multibyte_characters() {
    let (d, conn) = (dispatcher(), connection());
    let input = r#"{"jsonrpc":"2.0","method":"echo","params":["é\"\\\n\u0001 ✓ 😀"],"id":"ключ"}"#;
    let text = answer(&d, &conn, input).expect("a reply");
    assert_eq!(text, r#"{"jsonrpc":"2.0","result":"é\"\\\n\u0001 ✓ 😀","id":"ключ"}"#);
    let long = "ü".repeat(100);
    let input = format!(r#"{{"jsonrpc":"2.0","method":"echo","params":{{"text":"{long}"}},"id":1}}"#);
    let text = answer(&d, &conn, &input).expect("a reply");
    assert_eq!(text, format!(r#"{{"jsonrpc":"2.0","result":"{long}","id":1}}"#));
}

#[test]
fn miri_sync_batch_reuses_one_buffer_for_multibyte_answers() {
    let (d, conn) = (dispatcher(), connection());
    let long = "ß✓".repeat(40);
    let input = format!(
        r#"[{{"jsonrpc":"2.0","method":"echo","params":["{long}"],"id":1}},
            {{"jsonrpc":"2.0","method":"echo","params":["😀"],"id":2}},
            {{"jsonrpc":"2.0","method":"subtract","params":[5,2],"id":3}}]"#
    );
    let text = answer(&d, &conn, &input).expect("a reply");
    assert_eq!(
        text,
        format!(
            r#"[{{"jsonrpc":"2.0","result":"{long}","id":1}},{{"jsonrpc":"2.0","result":"😀","id":2}},{{"jsonrpc":"2.0","result":3,"id":3}}]"#
        )
    );
    // A single answer after the batch, in its own buffer.
    let single = answer(&d, &conn, r#"{"jsonrpc":"2.0","method":"echo","params":["é"],"id":4}"#);
    assert_eq!(single.as_deref(), Some(r#"{"jsonrpc":"2.0","result":"é","id":4}"#));
}

#[test]
fn miri_batch_of_sync_and_async_members() {
    let (d, conn) = (dispatcher(), connection());
    let input = r#"[
        {"jsonrpc":"2.0","method":"subtract","params":[1,2],"id":1},
        {"jsonrpc":"2.0","method":"whoami","params":["yo"],"id":2},
        {"jsonrpc":"2.0","method":"whoami","params":["quiet"]},
        {"jsonrpc":"2.0","method":"nope","id":3},
        {"jsonrpc":"2.0","method":"subtract","params":[1],"id":4},
        5
    ]"#;
    let text = answer(&d, &conn, input).expect("a reply");
    let mut members: Vec<serde_json::Value> = serde_json::from_str::<Vec<_>>(&text).expect("an array");
    members.sort_by_key(|m| m["id"].as_i64());
    assert_eq!(
        members,
        serde_json::json!([
            {"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"a request must be an object"},"id":null},
            {"jsonrpc":"2.0","result":-1,"id":1},
            {"jsonrpc":"2.0","result":"yo miri #2 whoami /ws/ 4","id":2},
            {"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found","data":"nope"},"id":3},
            {"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"missing parameter `subtrahend`"},"id":4},
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    let notifications =
        r#"[{"jsonrpc":"2.0","method":"whoami","params":["a"]},{"jsonrpc":"2.0","method":"echo","params":["b"]}]"#;
    assert_eq!(answer(&d, &conn, notifications), None);
}

#[test]
fn miri_panic_in_a_future_is_an_internal_error() {
    let (d, conn) = (dispatcher(), connection());
    assert_eq!(
        answer(&d, &conn, r#"{"jsonrpc":"2.0","method":"boom","id":1}"#).as_deref(),
        Some(r#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}"#)
    );
    // The dispatcher still serves after the panic.
    assert_eq!(
        answer(
            &d,
            &conn,
            r#"{"jsonrpc":"2.0","method":"subtract","params":[2,1],"id":2}"#
        )
        .as_deref(),
        Some(r#"{"jsonrpc":"2.0","result":1,"id":2}"#)
    );
}

#[test]
fn miri_pushed_notification_is_text() {
    let (handle, mut outbox) = ConnectionHandle::channel(2);
    handle.notify("chat.mëssage", &["naïve \"quote\""]).unwrap();
    assert_eq!(
        outbox.queue.try_recv().unwrap(),
        r#"{"jsonrpc":"2.0","method":"chat.mëssage","params":["naïve \"quote\""]}"#
    );
}
