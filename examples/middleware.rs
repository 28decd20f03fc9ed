//! Middleware: a logging layer (method, id, outcome, time: never params or
//! results) and an API-key layer (every call needs `x-api-key`; without it a
//! call answers -32010, even to a method that does not exist, so a stranger
//! learns nothing of what is served). Served over WebSocket and HTTP at
//! `/rpc/`; the logging layer is outermost, so it logs refused calls too.
//!
//! ```text
//! cargo run --example middleware -- --addr 127.0.0.1:8000 --api-key secret
//! curl -s http://127.0.0.1:8000/rpc/ -H 'x-api-key: secret' -d '{"jsonrpc":"2.0","method":"add","params":[2,3],"id":1}'
//! ```

#[path = "support/logging.rs"]
mod logging;

use channels_rpc::middleware::{CallInfo, Middleware, Outcome, Verdict};
use channels_rpc::{rpc_method, shutdown_on_signal, Connection, Consumer, RpcError, Server};

#[derive(Consumer, Default)]
struct Api;

/// The sum of two numbers.
#[rpc_method(consumer = Api)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// One line per call and per connection at `info`.
struct LogCalls;

impl Middleware for LogCalls {
    fn after(&self, call: &CallInfo<'_>, outcome: &Outcome<'_>) {
        // The registered name, not the client's string: a log line a client
        // cannot fill with what it likes.
        let method = call.registered_method().unwrap_or("<unknown>");
        let elapsed_us = u64::try_from(outcome.elapsed().as_micros()).unwrap_or(u64::MAX);
        match outcome.error_code() {
            None => tracing::info!(method, id = call.id().unwrap_or("-"), elapsed_us, "call"),
            Some(code) => tracing::info!(method, id = call.id().unwrap_or("-"), elapsed_us, code, "call failed"),
        }
    }

    fn on_connect(&self, connection: &Connection) {
        tracing::info!(transport = ?connection.scope().transport(), "connected");
    }

    fn on_disconnect(&self, connection: &Connection, code: Option<u16>) {
        tracing::info!(transport = ?connection.scope().transport(), ?code, "disconnected");
    }
}

/// The error of a call without the right API key.
const UNAUTHORIZED: i64 = -32010;

/// Every call needs the `x-api-key` header (the WebSocket's upgrade request
/// carries it for the whole connection).
struct ApiKey {
    key: String,
}

impl Middleware for ApiKey {
    fn before(&self, call: &CallInfo<'_>) -> Verdict {
        if call.scope().header("x-api-key") == Some(self.key.as_str()) {
            Verdict::Continue
        } else {
            Verdict::Reject(RpcError::new(UNAUTHORIZED, "unauthorized: send the x-api-key header"))
        }
    }
}

fn flag(name: &str, default: &str) -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == name {
            return args.next().unwrap_or_else(|| panic!("{name} takes a value"));
        }
    }
    default.to_owned()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    logging::init();
    let app = Api::app().middleware(LogCalls).middleware(ApiKey {
        key: flag("--api-key", "secret"),
    });
    let listening = Server::bind(flag("--addr", "127.0.0.1:8000"))
        .websocket("/rpc/", app.clone())
        .http("/rpc/", app)
        .listen()
        .await?;
    println!("listening on {}", listening.local_addr());
    listening.serve_until(shutdown_on_signal()).await
}
