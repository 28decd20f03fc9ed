//! Serves the JSON-RPC 2.0 specification's example methods (and `ping`,
//! `echo`, `add`, `slow`, `boom`, `notify_me`, the seed's `mymodule.rpc.ping`)
//! on POST /rpc/ and WebSocket /ws/. The methods live in the `spec-methods`
//! crate, which the consumer includes: `#[consumer(include(spec_methods))]`.
//!
//! ```text
//! cargo run --release --example spec_server -- --addr 127.0.0.1:0
//! # https and wss (the `tls` feature), from a PEM certificate chain and key:
//! cargo run --release --features tls --example spec_server -- --tls-cert cert.pem --tls-key key.pem
//! ```

use std::io;

use channels_rpc::{rpc_method, Consumer, RpcError, Server, ServerConfig, ServerConfigBuilder};

/// Serves the `spec-methods` crate's methods and its own.
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Spec;

/// The seed README's method.
#[rpc_method("mymodule.rpc.ping", consumer = Spec)]
fn seed_ping(fake_an_error: bool) -> Result<&'static str, RpcError> {
    if fake_an_error {
        Err(RpcError::application("fake_error"))
    } else {
        Ok("pong")
    }
}

/// The value after `name` on the command line.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn config_from_args(args: &[String]) -> io::Result<ServerConfig> {
    let builder = ServerConfig::builder();
    let builder = match (flag(args, "--tls-cert"), flag(args, "--tls-key")) {
        (None, None) => builder,
        (Some(cert), Some(key)) => with_tls(builder, &cert, &key)?,
        _ => return Err(invalid("--tls-cert PATH and --tls-key PATH go together")),
    };
    Ok(builder.build()?)
}

/// https and wss from the PEM files.
#[cfg(feature = "tls")]
fn with_tls(builder: ServerConfigBuilder, cert: &str, key: &str) -> io::Result<ServerConfigBuilder> {
    Ok(builder.tls(channels_rpc::TlsConfig::from_pem_files(cert, key)?))
}

#[cfg(not(feature = "tls"))]
fn with_tls(_: ServerConfigBuilder, _: &str, _: &str) -> io::Result<ServerConfigBuilder> {
    Err(invalid(
        "this spec_server was built without TLS: run it with `cargo run --features tls --example spec_server`",
    ))
}

fn invalid(reason: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, reason)
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let addr = flag(&args, "--addr").unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let server = Server::bind(addr)
        .config(config_from_args(&args)?)
        .websocket("/ws/", Spec::app())
        .http("/rpc/", Spec::app())
        .listen()
        .await?;
    println!("listening on {}", server.local_addr());
    server
        .serve_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
