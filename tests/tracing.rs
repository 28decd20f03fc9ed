//! What the framework logs through `tracing`: a span per connection
//! (transport, peer, path, channel) and per call (method, id, transport), one
//! debug event per answered call with its duration and outcome code, never
//! the params or the result. At `info` none of the per-call events appear.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use channels_rpc::{Server, ServerHandle};
use common::ws::{call, connect_to};
use common::Everyone;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tracing_subscriber::fmt::MakeWriter;

/// Everything the subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// A subscriber at `filter` for this thread (the tests run on a
/// current-thread runtime, so the server's tasks log through it too).
fn capture(filter: &str) -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

async fn start() -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .websocket("/ws/", Everyone::app())
        .http("/rpc/", Everyone::app())
        .listen()
        .await
        .unwrap()
        .spawn()
}

const SECRET: &str = "s3cr3t-param-value";

async fn traffic(server: &ServerHandle) {
    let addr = server.local_addr();
    let client = jsonrpsee_http_client::HttpClientBuilder::default()
        .build(format!("http://{addr}/rpc/"))
        .unwrap();
    use jsonrpsee_core::client::ClientT;
    let echoed: String = client
        .request("echo", jsonrpsee_core::rpc_params![SECRET])
        .await
        .unwrap();
    assert_eq!(echoed, SECRET);
    let mut socket = connect_to(addr, "/ws/", &[]).await;
    let reply = call(&mut socket, r#"{"jsonrpc":"2.0","method":"boom","id":"b1"}"#).await;
    assert_eq!(reply["error"]["code"], -32603);
    let normal = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    socket.close(Some(normal)).await.unwrap();
    // Wait for the server to see the close.
    while let Some(Ok(message)) = futures_util::StreamExt::next(&mut socket).await {
        assert!(matches!(message, Message::Close(_)), "{message:?}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "current_thread")]
async fn at_debug_each_connection_and_call_is_logged_without_params_or_results() {
    let (captured, _guard) = capture("rpc_core=debug,rpc_transport=debug");
    let server = start().await;
    traffic(&server).await;
    server.shutdown().await.unwrap();
    let logs = captured.text();
    println!("{logs}");

    let http_call = logs
        .lines()
        .find(|l| l.contains(r#"call{method="echo""#))
        .expect("the HTTP call is logged");
    assert!(
        http_call.contains(r#"connection{transport="http" peer=127.0.0.1:"#),
        "{http_call}"
    );
    assert!(http_call.contains(r#"path="/rpc/""#), "{http_call}");
    assert!(http_call.contains(r#"transport="http"}"#), "{http_call}");
    assert!(http_call.contains("call answered elapsed_us="), "{http_call}");

    let ws_call = logs
        .lines()
        .find(|l| l.contains(r#"call{method="boom" id="\"b1\"" transport="websocket"}: rpc_core::trace"#))
        .expect("the WebSocket call is logged with its id");
    assert!(ws_call.contains("call answered with an error"), "{ws_call}");
    assert!(ws_call.contains("code=-32603"), "{ws_call}");
    assert!(ws_call.contains(r#"channel="inprocess.specific."#), "{ws_call}");
    assert!(logs.contains("WebSocket connected"), "{logs}");
    assert!(logs.contains("WebSocket disconnected code=1000"), "{logs}");

    // Neither the params nor the result (the same text here) is written.
    assert!(!logs.contains(SECRET), "{logs}");
}

#[tokio::test(flavor = "current_thread")]
async fn at_info_calls_and_connections_are_not_logged() {
    let (captured, _guard) = capture("info");
    let server = start().await;
    traffic(&server).await;
    server.shutdown().await.unwrap();
    let logs = captured.text();
    assert!(!logs.contains("call answered"), "{logs}");
    assert!(!logs.contains("WebSocket connected"), "{logs}");
    // The panic of `boom` is an error, and is logged at any level above it.
    assert!(logs.contains("RPC method panicked"), "{logs}");
    assert!(!logs.contains(SECRET), "{logs}");
}
