//! The examples' log setup: `tracing` events to stderr (stdout carries the
//! `listening on` line), filtered by `RUST_LOG`, default `info`.
//! `RUST_LOG=debug` shows every connection and call.

/// Installs the subscriber; call it once, first thing in `main`.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
}
