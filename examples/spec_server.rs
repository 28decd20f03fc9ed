//! Serves the JSON-RPC 2.0 specification's example methods (and `ping`,
//! `echo`, `add`, `slow`, `boom`, `notify_me`, the seed's `mymodule.rpc.ping`)
//! on POST /rpc/ and WebSocket /ws/. The methods live in the `spec-methods`
//! crate, which the consumer includes: `#[consumer(include(spec_methods))]`.
//!
//! ```text
//! cargo run --release --example spec_server -- --addr 127.0.0.1:0
//! ```
//!
//! Flags to try the production settings (`--help` lists them); without them
//! it serves with the defaults:
//!
//! ```text
//! cargo run --example spec_server -- --token s3cret --rate-limit 20 --call-timeout 500 \
//!     --max-connections 100 --allowed-origin https://app.example.com
//!
//! # https and wss (the `tls` feature), from a PEM certificate chain and key:
//! cargo run --release --features tls --example spec_server -- --tls-cert cert.pem --tls-key key.pem
//! ```

#[path = "support/logging.rs"]
mod logging;

use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::time::Duration;

use channels_rpc::{
    rpc_method, shutdown_on_signal, Consumer, ConsumerHooks, Limits, RateLimit, Reject, RpcError, Scope, Server,
    ServerConfig,
};
use clap::Parser;

/// The JSON-RPC specification's example methods over HTTP and WebSocket.
#[derive(Parser, Debug)]
struct Args {
    /// Where to listen (port 0: any free port; the first line printed says which).
    #[arg(long, default_value = "127.0.0.1:8000")]
    addr: String,
    /// A site whose pages may open WebSockets, besides the server's own
    /// (`https://app.example.com`, `*.example.com`); repeatable.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// Open connections at most, HTTP and WebSocket together (default 10,000).
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// How long an async method may run, in milliseconds (default 60,000).
    #[arg(long, value_name = "MS")]
    call_timeout: Option<u64>,
    /// Calls per second per WebSocket connection (default: unlimited).
    #[arg(long, value_name = "CALLS_PER_SECOND")]
    rate_limit: Option<NonZeroU32>,
    /// Every HTTP request and WebSocket handshake must send
    /// `Authorization: Bearer T`; without it they are answered 401.
    #[arg(long, value_name = "T")]
    token: Option<String>,
    /// Serve https and wss with this PEM certificate chain (needs `--tls-key`
    /// and a build with `--features tls`).
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
}

/// The token every connection must present, when `--token` is given.
static TOKEN: OnceLock<String> = OnceLock::new();

/// Serves the `spec-methods` crate's methods and its own.
#[derive(Consumer, Default)]
#[consumer(include(spec_methods), hooks)]
struct Spec;

impl ConsumerHooks for Spec {
    async fn connect(&self, scope: &mut Scope) -> Result<(), Reject> {
        let Some(token) = TOKEN.get() else {
            return Ok(());
        };
        let presented = scope.header("authorization").and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            Some(presented) if same_secret(presented, token) => Ok(()),
            Some(_) => Err(Reject::unauthorized("wrong token\n")),
            None => Err(Reject::unauthorized("send Authorization: Bearer <token>\n")),
        }
    }
}

/// Compares without stopping at the first difference, so the time taken does
/// not tell how much of a guess was right.
fn same_secret(presented: &str, expected: &str) -> bool {
    let (a, b) = (presented.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The seed README's method.
#[rpc_method("mymodule.rpc.ping", consumer = Spec)]
fn seed_ping(fake_an_error: bool) -> Result<&'static str, RpcError> {
    if fake_an_error {
        Err(RpcError::application("fake_error"))
    } else {
        Ok("pong")
    }
}

fn config(args: &Args) -> Result<ServerConfig, Box<dyn std::error::Error>> {
    let mut limits = Limits::default();
    if let Some(ms) = args.call_timeout {
        limits = limits.call_timeout(Duration::from_millis(ms));
    }
    let mut builder = ServerConfig::builder().limits(limits);
    if !args.allowed_origins.is_empty() {
        builder = builder.allowed_origins(&args.allowed_origins);
    }
    if let Some(n) = args.max_connections {
        builder = builder.max_connections(n);
    }
    if let Some(calls) = args.rate_limit {
        builder = builder.rate_limit(RateLimit::per_second(calls));
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        builder = with_tls(builder, cert, key)?;
    }
    Ok(builder.build()?)
}

/// https and wss from the PEM files.
#[cfg(feature = "tls")]
fn with_tls(
    builder: channels_rpc::ServerConfigBuilder,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<channels_rpc::ServerConfigBuilder, Box<dyn std::error::Error>> {
    Ok(builder.tls(channels_rpc::TlsConfig::from_pem_files(cert, key)?))
}

#[cfg(not(feature = "tls"))]
fn with_tls(
    _: channels_rpc::ServerConfigBuilder,
    _: &std::path::Path,
    _: &std::path::Path,
) -> Result<channels_rpc::ServerConfigBuilder, Box<dyn std::error::Error>> {
    Err("this spec_server was built without TLS: run it with `cargo run --features tls --example spec_server`".into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    logging::init();
    let args = Args::parse();
    if let Some(token) = &args.token {
        TOKEN.set(token.clone()).expect("set once");
    }
    let server = Server::bind(args.addr.as_str())
        .config(config(&args)?)
        .websocket("/ws/", Spec::app())
        .http("/rpc/", Spec::app())
        .listen()
        .await?;
    println!("listening on {}", server.local_addr());
    server.serve_until(shutdown_on_signal()).await?;
    Ok(())
}
