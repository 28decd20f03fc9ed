//! A channels-rpc server on a Redis layer, and what the tests ask it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use channels_rpc::{rpc_method, RedisLayer, RpcContext, Server, ServerConfig, ServerHandle};

use super::ws::{call, Socket};
use super::Everyone;

/// This connection's channel name, for peers to `send` to.
#[rpc_method]
fn my_channel(ctx: &RpcContext) -> Option<String> {
    ctx.channel_name().map(str::to_owned)
}

/// A server on 127.0.0.1, port 0, serving [`Everyone`] at `/ws/` over `layer`.
pub async fn serve(layer: Arc<RedisLayer>) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .config(ServerConfig::builder().channel_layer(layer).build().unwrap())
        .websocket("/ws/", Everyone::app())
        .listen()
        .await
        .unwrap()
        .spawn()
}

/// The layer channel of the connection behind `socket`.
pub async fn channel_of(socket: &mut Socket) -> String {
    let reply = call(socket, r#"{"jsonrpc":"2.0","method":"my_channel","id":"c"}"#).await;
    reply["result"]
        .as_str()
        .expect("a WebSocket connection has a channel")
        .to_owned()
}

/// Waits until `done`, for at most 10 s.
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
