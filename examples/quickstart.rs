//! The README's main example: the Python channels-rpc README's methods,
//! served over WebSocket at /ws/ and HTTP at /rpc/.
//!
//! ```text
//! cargo run --example quickstart -- --addr 127.0.0.1:8000
//! ```

#[path = "support/logging.rs"]
mod logging;

use std::sync::atomic::{AtomicU64, Ordering};

use channels_rpc::{
    rpc_method, rpc_notification, shutdown_on_signal, Consumer, ConsumerHooks, Reject, RpcContext, RpcError, Scope,
    Server,
};

/// One instance per connection.
#[derive(Consumer, Default)]
#[consumer(hooks)]
struct MyConsumer {
    calls: AtomicU64,
}

impl ConsumerHooks for MyConsumer {
    async fn connect(&self, scope: &mut Scope) -> Result<(), Reject> {
        println!("connect from {:?} on {}", scope.peer(), scope.path());
        Ok(())
    }

    async fn disconnect(&self, code: u16) {
        println!("disconnect ({code}) after {} calls", self.calls.load(Ordering::Relaxed));
    }
}

/// Answers "pong"; unbound, so served by every consumer of this crate.
#[rpc_method]
fn ping() -> &'static str {
    "pong"
}

/// The seed README's method with a custom name: fails on request.
#[rpc_method("mymodule.rpc.ping", consumer = MyConsumer)]
fn ping2(ctx: &RpcContext<MyConsumer>, fake_an_error: bool) -> Result<&'static str, RpcError> {
    ctx.consumer().calls.fetch_add(1, Ordering::Relaxed);
    if fake_an_error {
        Err(RpcError::application("fake_error"))
    } else {
        Ok("pong")
    }
}

/// Adds two numbers; `b` may be omitted. WebSocket only.
#[rpc_method("math.add", http = false)]
async fn add(a: i64, b: Option<i64>) -> i64 {
    a + b.unwrap_or(0)
}

/// The `x-user` header of the connection.
#[rpc_method]
async fn whoami(ctx: &RpcContext<MyConsumer>) -> Option<String> {
    ctx.scope().header("x-user").map(str::to_owned)
}

/// A notification handler: no response is ever sent.
#[rpc_notification("notification.alt_name")]
fn alt(param1: String, param2: String) {
    println!("notification: {param1} {param2}");
}

fn addr_from_args() -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--addr" {
            return args.next().expect("--addr takes HOST:PORT");
        }
        if let Some(addr) = arg.strip_prefix("--addr=") {
            return addr.to_owned();
        }
    }
    "127.0.0.1:8000".to_owned()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    logging::init();
    let server = Server::bind(addr_from_args())
        .websocket("/ws/", MyConsumer::app())
        .http("/rpc/", MyConsumer::app())
        .listen()
        .await?;
    let addr = server.local_addr();
    println!("listening on {addr}");
    println!(
        r#"try: curl -s http://{addr}/rpc/ -H 'content-type: application/json' -d '{{"jsonrpc":"2.0","method":"mymodule.rpc.ping","params":{{"fake_an_error":true}},"id":1}}'"#
    );
    println!("or a WebSocket client on ws://{addr}/ws/");
    server.serve_until(shutdown_on_signal()).await
}
