//! The attributes leave the functions as they were: plain Rust can call them.

use channels_rpc::{rpc_method, rpc_notification, Consumer, RpcError};

#[derive(Consumer, Default)]
struct Counter {
    hits: u32,
}

#[rpc_method]
fn add(a: i64, b: Option<i64>) -> i64 {
    a + b.unwrap_or(0)
}

#[rpc_method("math.checked_div", http = false)]
fn checked_div(a: i64, b: i64) -> Result<i64, RpcError> {
    a.checked_div(b)
        .ok_or_else(|| RpcError::application("division by zero"))
}

#[rpc_method(blocking)]
fn slow_square(n: u64) -> u64 {
    n * n
}

#[rpc_method]
async fn greet(name: String) -> String {
    format!("hello {name}")
}

#[rpc_method]
fn hits(me: &Counter) -> u32 {
    me.hits
}

#[rpc_notification]
fn log(line: String) {
    let _ = line;
}

fn main() {
    assert_eq!(add(1, Some(2)), 3);
    assert_eq!(add(1, None), 1);
    assert_eq!(checked_div(7, 2), Ok(3));
    assert!(checked_div(7, 0).is_err());
    assert_eq!(slow_square(4), 16);
    assert_eq!(hits(&Counter { hits: 3 }), 3);
    log("plain call".to_owned());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(greet("you".to_owned())), "hello you");

    let as_pointer: fn(i64, Option<i64>) -> i64 = add;
    assert_eq!(as_pointer(2, Some(2)), 4);
    assert_eq!(
        Counter::app().method("math.checked_div").unwrap().rust_name(),
        "checked_div"
    );
}
