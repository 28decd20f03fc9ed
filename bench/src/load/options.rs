//! What to run: the scenarios and the counts, with the full and smoke presets.

use std::fmt;
use std::str::FromStr;

use crate::servers::Kind;

/// One benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Keep-alive HTTP/1.1 connections, one POSTed `ping` in flight each.
    HttpPing,
    /// WebSocket connections with several pipelined `ping`s in flight each.
    WsPing,
    /// One WebSocket, one `ping` at a time.
    WsLatency,
    /// HTTP batches of `add` calls.
    HttpBatch,
    /// WebSocket `echo` of a 16 KiB string.
    WsEcho16k,
    /// Many idle WebSockets: server memory per connection.
    WsIdle,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 6] = [
        Scenario::HttpPing,
        Scenario::WsPing,
        Scenario::WsLatency,
        Scenario::HttpBatch,
        Scenario::WsEcho16k,
        Scenario::WsIdle,
    ];

    /// The name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::HttpPing => "http_ping",
            Scenario::WsPing => "ws_ping",
            Scenario::WsLatency => "ws_latency",
            Scenario::HttpBatch => "http_batch",
            Scenario::WsEcho16k => "ws_echo_16k",
            Scenario::WsIdle => "ws_idle",
        }
    }

    /// What the scenario does, with the counts of this run.
    pub fn describe(self, opts: &Options) -> String {
        match self {
            Scenario::HttpPing => format!(
                "{} keep-alive HTTP/1.1 connections, one POST `ping` in flight each",
                opts.connections
            ),
            Scenario::WsPing => format!(
                "{} WebSockets x {} pipelined `ping` calls in flight",
                opts.connections, opts.in_flight
            ),
            Scenario::WsLatency => "1 WebSocket, sequential `ping` calls".to_owned(),
            Scenario::HttpBatch => format!(
                "{} HTTP connections, batches of {} `add` calls (half named, half positional params); \
                 calls/s counts calls, latency is per batch",
                opts.batch_connections, opts.batch_size
            ),
            Scenario::WsEcho16k => format!(
                "{} WebSockets, one `echo` of a 16 KiB string in flight each",
                opts.echo_connections
            ),
            Scenario::WsIdle => format!(
                "{} idle WebSockets opened 64 at a time; RSS/connection = (VmRSS after - before) / N; \
                 CPU per connection opened; each then answers one `ping`",
                opts.idle_connections
            ),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
            format!("unknown scenario `{s}` ({})", names.join(", "))
        })
    }
}

/// What to run, and how hard.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rounds over all servers; each metric is the median over rounds.
    pub rounds: usize,
    /// Length of each measurement window, in seconds.
    pub seconds: f64,
    /// Warm-up before each window, in seconds.
    pub warmup: f64,
    /// The scenarios to run.
    pub scenarios: Vec<Scenario>,
    /// The servers to run them against.
    pub servers: Vec<Kind>,
    /// Connections of `http_ping` and `ws_ping`.
    pub connections: usize,
    /// Calls in flight per connection in `ws_ping`.
    pub in_flight: usize,
    /// Connections of `http_batch`.
    pub batch_connections: usize,
    /// Calls per batch in `http_batch`.
    pub batch_size: usize,
    /// Connections of `ws_echo_16k`.
    pub echo_connections: usize,
    /// Idle connections of `ws_idle`.
    pub idle_connections: usize,
    /// Also parse every answer with serde_json (smoke mode).
    pub strict: bool,
}

impl Options {
    /// The full benchmark.
    pub fn full() -> Options {
        Options {
            rounds: 3,
            seconds: 3.0,
            warmup: 1.0,
            scenarios: Scenario::ALL.to_vec(),
            servers: Kind::ALL.to_vec(),
            connections: 64,
            in_flight: 16,
            batch_connections: 16,
            batch_size: 100,
            echo_connections: 16,
            idle_connections: 10_000,
            strict: false,
        }
    }

    /// The smoke run: every scenario briefly, with small counts.
    pub fn smoke() -> Options {
        Options {
            rounds: 1,
            seconds: 0.5,
            warmup: 0.2,
            connections: 4,
            in_flight: 4,
            batch_connections: 2,
            batch_size: 100,
            echo_connections: 2,
            idle_connections: 200,
            strict: true,
            ..Options::full()
        }
    }
}
