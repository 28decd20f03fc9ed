//! jsonrpsee 0.26 with the same methods: `ping` -> "pong", `echo(value)` ->
//! value, `add(a, b)` -> a + b, positional or named, with its limits raised.
//!
//! jsonrpsee serves HTTP and WebSocket on one port and ignores the request
//! path: /rpc/ and /ws/ reach it, as does any other path.

use std::io;
use std::net::SocketAddr;

use jsonrpsee::server::{BatchRequestConfig, RpcModule, Server, ServerConfig};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::Deserialize;
use serde_json::Value;

/// Named parameters of `echo`.
#[derive(Deserialize)]
struct EchoParams {
    value: Value,
}

/// Named parameters of `add`; `b` may be omitted, as in spec-methods.
#[derive(Deserialize)]
struct AddParams {
    a: i64,
    b: Option<i64>,
}

fn echo(params: Params<'_>) -> Result<Value, ErrorObjectOwned> {
    if params.is_object() {
        Ok(params.parse::<EchoParams>()?.value)
    } else {
        params.one()
    }
}

fn add(params: Params<'_>) -> Result<i64, ErrorObjectOwned> {
    let AddParams { a, b } = if params.is_object() {
        params.parse()?
    } else {
        let mut seq = params.sequence();
        AddParams {
            a: seq.next()?,
            b: seq.optional_next()?,
        }
    };
    Ok(a + b.unwrap_or(0))
}

/// The three methods as a jsonrpsee module.
fn module() -> RpcModule<()> {
    let mut module = RpcModule::new(());
    module.register_method("ping", |_, _, _| "pong").expect("unique name");
    module
        .register_method("echo", |params, _, _| echo(params))
        .expect("unique name");
    module
        .register_method("add", |params, _, _| add(params))
        .expect("unique name");
    module
}

/// Binds `addr`, calls `ready` with the bound address, serves forever.
pub async fn serve(addr: &str, ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let config = ServerConfig::builder()
        .max_request_body_size(64 << 20)
        .max_response_body_size(64 << 20)
        .max_connections(20_000)
        .set_batch_request_config(BatchRequestConfig::Unlimited)
        .set_message_buffer_capacity(1 << 16)
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let bound = server.local_addr()?;
    let handle = server.start(module());
    ready(bound);
    handle.stopped().await;
    Ok(())
}
