//! Helpers shared by the in-process protocol tests.
#![allow(dead_code)]

pub mod server;
pub mod ws;

use channels_rpc::{App, Connection, Consumer, Scope, Transport};
use serde_json::Value;

/// A consumer that serves the user's method crate, which it includes (and
/// so links: nothing else in this binary names it).
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
pub struct Everyone;

/// Sends `input` through `app` on a fresh connection of `transport`; the reply as text.
pub async fn send_on<C: Consumer>(app: &App<C>, transport: Transport, input: &str) -> Option<String> {
    let conn = Connection::for_consumer::<C>(Scope::new(transport, "/rpc/"));
    app.handle(&conn, input.as_bytes())
        .await
        .map(|reply| String::from_utf8(reply.into_body()).expect("replies are UTF-8"))
}

/// Sends `input` in-process to the `Everyone` consumer; the reply parsed.
pub async fn send(input: &str) -> Option<Value> {
    let app = Everyone::app();
    send_on(&app, Transport::InProcess, input)
        .await
        .map(|text| serde_json::from_str(&text).expect("replies are JSON"))
}

/// A batch reply with its members sorted by id, for order-free comparison.
pub fn sorted(mut batch: Value) -> Value {
    batch
        .as_array_mut()
        .expect("a batch reply is an array")
        .sort_by_key(|member| member["id"].to_string());
    batch
}
