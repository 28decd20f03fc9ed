//! The three servers under test. Each runs in its own process (`rpc-bench
//! serve NAME`), on a tokio current-thread runtime pinned to CPU 0, and serves
//! POST /rpc/ and WebSocket /ws/ on one port. The first line it prints is
//! `listening on HOST:PORT`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::procfs;

mod baseline;
mod jsonrpsee;
mod ours;

pub use baseline::READ_BUFFER_SIZE;

/// The CPU the servers run on; the load generator takes the other one.
pub const SERVER_CPU: usize = 0;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// channels-rpc, serving the spec-methods crate.
    Ours,
    /// jsonrpsee 0.26 with the same three methods.
    Jsonrpsee,
    /// Raw hyper + tokio-tungstenite answering by byte search: the upper limit.
    Baseline,
}

impl Kind {
    /// Every server, in the order they take turns.
    pub const ALL: [Kind; 3] = [Kind::Ours, Kind::Jsonrpsee, Kind::Baseline];

    /// The name used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Jsonrpsee => "jsonrpsee",
            Kind::Baseline => "baseline",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown server `{s}` (ours, jsonrpsee, baseline)"))
    }
}

/// Announces the bound address on stdout: the load generator waits for this line.
fn announce(addr: SocketAddr) {
    println!("listening on {addr}");
}

/// Runs server `kind` on `addr` until the process is killed.
pub fn serve(kind: Kind, addr: &str) -> io::Result<()> {
    procfs::pin_or_warn(SERVER_CPU, "server");
    if let Err(e) = procfs::raise_nofile_limit() {
        eprintln!("warning: could not raise the open-file limit: {e}");
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        match kind {
            Kind::Ours => ours::serve(addr, announce).await,
            Kind::Jsonrpsee => jsonrpsee::serve(addr, announce).await,
            Kind::Baseline => baseline::serve(addr, announce).await,
        }
    })
}
