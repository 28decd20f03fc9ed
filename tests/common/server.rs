//! Our server on 127.0.0.1:0 with the `Everyone` consumer, for the end-to-end tests.

use channels_rpc::{Server, ServerConfig, ServerHandle};

use super::Everyone;

/// Serves `Everyone` with `config`: WebSocket at /ws/, HTTP at /rpc/.
pub async fn start(config: ServerConfig) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .config(config)
        .websocket("/ws/", Everyone::app())
        .http("/rpc/", Everyone::app())
        .listen()
        .await
        .expect("bind 127.0.0.1:0")
        .spawn()
}
