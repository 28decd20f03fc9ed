//! A user's crate of RPC methods: the JSON-RPC 2.0 specification's examples,
//! a few more, and a chat room ([`chat`]); served by the `spec_server` and
//! `chat` examples and used by the tests.
//!
//! Its Cargo.toml names only channels-rpc, serde and tokio, which proves the
//! macros need nothing else. Its methods are unbound: a consumer serves them
//! only when it says `#[consumer(include(spec_methods))]`, which also links
//! this crate (see the README's "Method exposure").

pub mod chat;

use channels_rpc::{json, rpc_method, rpc_notification, Number, Params, RpcContext, RpcError, Value};
use serde::{Deserialize, Serialize};

/// The specification's `subtract`, by position or by name.
#[rpc_method]
pub fn subtract(minuend: i64, subtrahend: i64) -> i64 {
    minuend - subtrahend
}

/// The specification's `sum`: any number of numbers. Integers sum to an
/// integer (`[1,2,4]` gives `7`, as the specification shows); any other
/// number, or a sum past the `i64` range, gives a float.
#[rpc_method]
pub fn sum(params: &Params) -> Result<Number, RpcError> {
    let numbers = params.parse::<Vec<Number>>()?;
    let integers: Option<Vec<i64>> = numbers.iter().map(Number::as_i64).collect();
    let exact = integers.and_then(|ints| ints.into_iter().try_fold(0i64, i64::checked_add));
    Ok(match exact {
        Some(total) => Number::from(total),
        None => {
            let total: f64 = numbers.iter().filter_map(Number::as_f64).sum();
            Number::from_f64(total).ok_or_else(|| RpcError::application("the sum is not a finite number"))?
        }
    })
}

/// The specification's `update` (called as a notification).
#[rpc_method]
pub fn update(params: &Params) -> usize {
    params.get().len()
}

/// The specification's `get_data`.
#[rpc_method]
pub fn get_data() -> (&'static str, u32) {
    ("hello", 5)
}

/// The specification's `notify_hello`.
#[rpc_notification]
pub fn notify_hello(value: i64) {
    let _ = value;
}

/// The specification's `notify_sum`.
#[rpc_notification]
pub fn notify_sum(params: &Params) {
    let _ = params;
}

/// Answers "pong".
#[rpc_method]
pub fn ping() -> &'static str {
    "pong"
}

/// Returns `value` unchanged.
#[rpc_method]
pub fn echo(value: Value) -> Value {
    value
}

/// Adds two numbers.
#[rpc_method]
pub fn add(a: i64, b: i64) -> Result<i64, RpcError> {
    a.checked_add(b)
        .ok_or_else(|| RpcError::application("the sum is out of the 64-bit integer range"))
}

/// Greets `name`; `greeting` may be omitted (an `Option` parameter).
#[rpc_method]
pub fn greet(name: String, greeting: Option<String>) -> String {
    format!("{}, {name}!", greeting.as_deref().unwrap_or("Hello"))
}

/// The longest sleep `slow` takes, so that no client holds a call longer.
pub const SLOW_MAX_MS: u64 = 60_000;

/// Sleeps `ms` milliseconds (at most [`SLOW_MAX_MS`]), then returns `ms`.
#[rpc_method]
pub async fn slow(ms: u64) -> Result<u64, RpcError> {
    if ms > SLOW_MAX_MS {
        return Err(RpcError::invalid_params(format!("`ms` is at most {SLOW_MAX_MS}")));
    }
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    Ok(ms)
}

/// Panics, to show the -32603 path.
#[rpc_method]
pub fn boom() -> u32 {
    panic!("secret detail that must not reach the client")
}

/// Panics after an await.
#[rpc_method]
pub async fn async_boom() -> u32 {
    tokio::task::yield_now().await;
    panic!("another secret")
}

/// A structured parameter and result; its JSON Schema is in `rpc.discover`.
#[derive(Debug, Serialize, Deserialize, channels_rpc::schemars::JsonSchema)]
#[schemars(crate = "channels_rpc::schemars")]
pub struct Point {
    /// Horizontal.
    pub x: f64,
    /// Vertical.
    pub y: f64,
}

/// Mirrors a point.
#[rpc_method("geometry.mirror")]
pub fn mirror(point: Point) -> Point {
    Point {
        x: -point.x,
        y: -point.y,
    }
}

/// Parses a decimal integer. Text that is not one fails with the standard
/// library's `ParseIntError`: an error that is not an `RpcError`, answered as
/// the application error `{"code":-32000,"message":M,"data":[M]}`.
#[rpc_method]
pub fn parse_int(text: String) -> Result<i64, std::num::ParseIntError> {
    text.trim().parse()
}

/// Tells what it knows of the call.
#[rpc_method]
pub fn introspect(ctx: &RpcContext) -> Value {
    json!({
        "method": ctx.method(),
        "id": ctx.request_id(),
        "notification": ctx.is_notification(),
        "version": format!("{:?}", ctx.version()),
        "path": ctx.scope().path(),
    })
}

/// Sums on tokio's blocking pool.
#[rpc_method("math.blocking_sum", blocking)]
pub fn blocking_sum(values: Vec<i64>) -> i64 {
    values.iter().sum()
}

/// Over WebSocket only.
#[rpc_method("ws.only", http = false)]
pub fn ws_only() -> bool {
    true
}

/// Pushes the notification `method(params)` to the calling connection, then
/// returns true.
#[rpc_method]
pub fn notify_me(ctx: &RpcContext, method: String, params: Value) -> Result<bool, RpcError> {
    ctx.notify(&method, &params)?;
    Ok(true)
}

/// Calls `method(params)` on the calling client and returns the client's
/// result; `params` (an array or an object) may be omitted. Answers the
/// client's own error when it answers with one, and an application error
/// (-32000) when it does not answer in time or the connection ends.
/// WebSocket only: an HTTP client cannot be called.
#[rpc_method(http = false)]
pub async fn ask_client(ctx: &RpcContext, method: String, params: Option<Value>) -> Result<Value, RpcError> {
    let params = params.unwrap_or_else(|| json!([]));
    Ok(ctx.call_client(&method, &params).await?)
}
