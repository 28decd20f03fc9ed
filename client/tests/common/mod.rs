//! Servers for the client's tests (also used by the CLI's tests): ours with
//! the spec-methods consumer, jsonrpsee's, and a TCP proxy that can drop
//! every connection.
#![allow(dead_code)]

pub mod proxy;

use std::net::SocketAddr;
use std::time::Duration;

use channels_rpc::{rpc_method, Consumer, RpcContext, Server, ServerHandle};
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::server::{RpcModule, Server as JsonrpseeServer, ServerHandle as JsonrpseeHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde_json::{json, Value};

/// The spec-methods consumer (and so the chat methods, `ask_client`, ...).
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
pub struct Everyone;

/// The `authorization` header of the request (HTTP) or of the handshake (WebSocket).
#[rpc_method("test.authorization", consumer = Everyone)]
fn authorization(ctx: &RpcContext) -> Option<String> {
    ctx.scope().header("authorization").map(str::to_owned)
}

/// Our server on 127.0.0.1:0: WebSocket at /ws/, HTTP at /rpc/.
pub async fn ours() -> ServerHandle {
    ours_on("127.0.0.1:0").await
}

/// Our server on `addr` (to bring one back on the port of one shut down).
pub async fn ours_on(addr: &str) -> ServerHandle {
    Server::bind(addr)
        .websocket("/ws/", Everyone::app())
        .http("/rpc/", Everyone::app())
        .listen()
        .await
        .expect("bind")
        .spawn()
}

/// The URLs of our server.
pub fn urls(server: &ServerHandle) -> (String, String) {
    let addr = server.local_addr();
    (format!("http://{addr}/rpc/"), format!("ws://{addr}/ws/"))
}

/// jsonrpsee 0.26 on 127.0.0.1:0, HTTP and WebSocket on one port:
/// `add(a, b)` positional or named, `greet({name})`, `fail()` (error 4000
/// with data), `sleep(ms)`, and the subscription `subscribe_ticks(n)`
/// pushing `ticks` notifications 0..n.
pub async fn jsonrpsee() -> (SocketAddr, JsonrpseeHandle) {
    let mut module = RpcModule::new(());
    module
        .register_method("add", |params, _, _| {
            let (a, b): (i64, i64) = if params.is_object() {
                let named: Value = params.parse()?;
                (named["a"].as_i64().unwrap_or(0), named["b"].as_i64().unwrap_or(0))
            } else {
                params.parse()?
            };
            Ok::<_, ErrorObjectOwned>(a + b)
        })
        .unwrap();
    module
        .register_method("greet", |params: Params<'_>, _, _| {
            let named: Value = params.parse()?;
            Ok::<_, ErrorObjectOwned>(format!("Hello, {}!", named["name"].as_str().unwrap_or("?")))
        })
        .unwrap();
    module
        .register_method("fail", |_, _, _| {
            Err::<(), _>(ErrorObjectOwned::owned(
                4000,
                "it failed",
                Some(json!({"why": "asked to"})),
            ))
        })
        .unwrap();
    module
        .register_async_method("sleep", |params, _, _| async move {
            let ms: u64 = params.one()?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, ErrorObjectOwned>(ms)
        })
        .unwrap();
    module
        .register_subscription(
            "subscribe_ticks",
            "ticks",
            "unsubscribe_ticks",
            |params, pending, _, _| async move {
                let n: u32 = params.one()?;
                let sink = pending.accept().await?;
                for tick in 0..n {
                    sink.send(serde_json::value::to_raw_value(&tick)?).await?;
                }
                SubscriptionResult::Ok(())
            },
        )
        .unwrap();
    let server = JsonrpseeServer::builder().build("127.0.0.1:0").await.expect("bind");
    let addr = server.local_addr().unwrap();
    (addr, server.start(module))
}
