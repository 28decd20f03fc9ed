//! The server of the soak test, `rpc-bench soak-serve`: channels-rpc with
//! its default bounds (write timeout, calls in flight, outbound queue, idle
//! timeout), a 64 KiB message limit so that an oversized frame is cheap to
//! send, and the connection cap raised to what the test opens. It runs on a
//! two-worker tokio runtime, as a server would, in its own process so that
//! its resident memory is its own.
//!
//! Besides the calls the clients make (`soak.echo`, `soak.sleep`,
//! `soak.blob`), `soak.stats` (over HTTP) tells the test what is still
//! open: connections and WebSockets from rpc-transport's [`Stats`], and the
//! runtime's live tasks.

use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use channels_rpc::{rpc_method, Consumer, Limits, Server, ServerConfig, Stats};
use serde_json::{json, Value};

/// The message size limit of the soak server: a frame past it is closed 1009.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The largest reply `soak.blob` makes.
pub const MAX_BLOB: usize = 32 * 1024;

/// The longest `soak.sleep`.
const MAX_SLEEP_MS: u64 = 1_000;

/// Serves the soak methods only.
#[derive(Consumer, Default)]
struct Soak;

/// The server's counts, for `soak.stats`.
static STATS: OnceLock<Stats> = OnceLock::new();

/// Answers `n` at once.
#[rpc_method("soak.echo", consumer = Soak)]
fn echo(n: u64) -> u64 {
    n
}

/// Answers `n` after `ms` (at most [`MAX_SLEEP_MS`]): a call in flight.
#[rpc_method("soak.sleep", consumer = Soak)]
async fn sleep(ms: u64, n: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms.min(MAX_SLEEP_MS))).await;
    n
}

/// A reply of `len` bytes (at most [`MAX_BLOB`]): what a slow reader never reads.
#[rpc_method("soak.blob", consumer = Soak)]
fn blob(len: usize) -> String {
    "x".repeat(len.min(MAX_BLOB))
}

/// What is open now: connections (this one included), WebSockets, the
/// runtime's live tasks. With `trim`, first hands freed heap pages back to
/// the kernel (`malloc_trim`), so that resident memory shows what is in use
/// rather than what glibc keeps for later.
#[rpc_method("soak.stats", consumer = Soak)]
fn stats(trim: bool) -> Value {
    if trim {
        trim_heap();
    }
    let stats = STATS.get().expect("set before serving");
    json!({
        "connections": stats.connections(),
        "websockets": stats.websockets(),
        "tasks": tokio::runtime::Handle::current().metrics().num_alive_tasks(),
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_heap() {
    // SAFETY: malloc_trim only releases free memory of the allocator's own
    // arenas; it takes a padding size and touches no memory of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

/// Binds `addr`, announces it on stdout, serves until the process is killed.
pub fn serve(addr: &str, max_connections: usize) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = ServerConfig::builder()
            .limits(Limits::default().max_message_size(MAX_MESSAGE))
            .max_connections(max_connections)
            .build()?;
        let server = Server::bind(addr)
            .config(config)
            .websocket("/ws/", Soak::app())
            .http("/rpc/", Soak::app())
            .listen()
            .await?;
        STATS.set(server.stats()).expect("one server per process");
        announce(server.local_addr());
        server.serve().await
    })
}

fn announce(addr: SocketAddr) {
    println!("listening on {addr}");
}
