//! `rpc-bench soak`: many WebSocket connections for minutes against a server
//! in its own process, a share of them slow readers, garbage senders and
//! churners (see [`crate::soak_clients`]) while well-formed calls flow.
//!
//! ```text
//! rpc-bench soak [--connections N] [--seconds S] [--interval-ms MS]
//! ```
//!
//! It samples the server's resident memory (`VmRSS`) every second and, once
//! every client has left, asks the server (`soak.stats` over HTTP) for its open
//! connections and live tasks. It exits non-zero unless:
//! - every well-formed call was answered, with the right id and result, and
//!   every garbage message with its spec error;
//! - the server cut slow readers off and closed oversized frames (1009);
//! - the server's connections, WebSockets and live tasks are back to what
//!   they were before the first client (the asking HTTP connection itself);
//! - its RSS peak stayed under [`peak_bound`], and its RSS after the clients
//!   left, free heap pages handed back (`malloc_trim`), is within
//!   [`NEAR_START`] of its RSS at the start.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::load::ServerProcess;
use crate::procfs;
use crate::soak_clients::{self, Role, Tally};

const USAGE: &str = "usage: rpc-bench soak [--connections N] [--seconds S] [--interval-ms MS]";

/// Descriptors kept free beside the connections (listeners, pipes, files).
const SPARE_DESCRIPTORS: usize = 256;

/// Of every 100 connections: slow readers, garbage senders and churners;
/// the rest are callers.
const SLOW_READERS_PER_100: usize = 2;
const GARBAGE_PER_100: usize = 3;
const CHURNERS_PER_100: usize = 10;

/// How often a slow reader sends, a garbage sender or a churner reconnects.
const OTHERS_INTERVAL: Duration = Duration::from_secs(1);

/// The clients open their first connections over this long (at most a
/// quarter of the run), not in one burst past the listen backlog.
const RAMP: Duration = Duration::from_secs(10);

/// The resident memory a connection may cost the server at the peak: its
/// task, its read buffer (4 KiB), its WebSocket state and the write buffer
/// of a reply, with the allocator's slack. The idle cost is about 9 KiB
/// (bench/RESULTS.md, `ws_idle`); the soak at 10,000 peaked near 16 KiB.
const PEAK_PER_CONNECTION_KIB: u64 = 32;

/// What a slow reader may cost at the peak: tungstenite's write buffer
/// (128 KiB) holding replies plus the one being written (32 KiB).
const PEAK_PER_SLOW_READER_KIB: u64 = 256;

/// How close to its start the server's RSS must come back, once the
/// clients have left and free heap pages are handed back.
pub const NEAR_START: u64 = 16 * 1024;

/// How long the clients get to finish, and the server to close their
/// connections, after the run.
const WIND_DOWN: Duration = Duration::from_secs(60);

/// The soak's settings.
#[derive(Debug, Clone)]
struct Options {
    connections: usize,
    seconds: u64,
    interval: Duration,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut opts = Options {
            connections: 10_000,
            seconds: 120,
            interval: Duration::from_secs(2),
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || {
                it.next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|&v| v > 0)
                    .ok_or_else(|| format!("{arg} needs a positive number\n{USAGE}"))
            };
            match arg.as_str() {
                "--connections" => opts.connections = value()? as usize,
                "--seconds" => opts.seconds = value()?,
                "--interval-ms" => opts.interval = Duration::from_millis(value()?),
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
            }
        }
        Ok(opts)
    }

    /// The role of connection `i`: the shares spread evenly over the indexes.
    fn role(i: usize) -> Role {
        match i % 100 {
            n if n < SLOW_READERS_PER_100 => Role::SlowReader,
            n if n < SLOW_READERS_PER_100 + GARBAGE_PER_100 => Role::Garbage,
            n if n < SLOW_READERS_PER_100 + GARBAGE_PER_100 + CHURNERS_PER_100 => Role::Churner,
            _ => Role::Caller,
        }
    }
}

/// The RSS peak the soak allows: the start, plus [`PEAK_PER_CONNECTION_KIB`]
/// for every connection and [`PEAK_PER_SLOW_READER_KIB`] for every slow reader.
pub fn peak_bound(start_kib: u64, connections: usize, slow_readers: usize) -> u64 {
    start_kib + connections as u64 * PEAK_PER_CONNECTION_KIB + slow_readers as u64 * PEAK_PER_SLOW_READER_KIB
}

/// `soak-serve [--max-connections N] [--die-with-parent]`: the soak's server.
pub fn serve(args: &[String]) -> Result<ExitCode, String> {
    let mut max_connections = 10_000;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--max-connections" => {
                max_connections = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--max-connections needs a number")?;
            }
            "--die-with-parent" => procfs::die_with_parent().map_err(|e| format!("prctl: {e}"))?,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if let Err(e) = procfs::raise_nofile_limit() {
        eprintln!("warning: could not raise the open-file limit: {e}");
    }
    crate::soak_server::serve("127.0.0.1:0", max_connections).map_err(|e| format!("soak server: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// What the server reports of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Open {
    connections: u64,
    websockets: u64,
    tasks: u64,
}

/// Asks the server for [`Open`] over a fresh HTTP connection (it counts
/// itself); with `trim`, the server first hands free heap pages back.
async fn open_on_server(addr: SocketAddr, trim: bool) -> Result<Open, String> {
    let body = json!({"jsonrpc": "2.0", "method": "soak.stats", "params": [trim], "id": 1}).to_string();
    let ask = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!(
            "POST /rpc/ HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(10), ask)
        .await
        .map_err(|_| "soak.stats: no answer within 10 s".to_owned())?
        .map_err(|e| format!("soak.stats: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let (_, json) = text.split_once("\r\n\r\n").ok_or("soak.stats: no body")?;
    let reply: Value = serde_json::from_str(json).map_err(|e| format!("soak.stats: {e}: {json}"))?;
    let field = |name: &str| {
        reply["result"][name]
            .as_u64()
            .ok_or_else(|| format!("soak.stats: no {name} in {reply}"))
    };
    Ok(Open {
        connections: field("connections")?,
        websockets: field("websockets")?,
        tasks: field("tasks")?,
    })
}

/// The server's RSS, KiB.
fn rss(server: &ServerProcess) -> Result<u64, String> {
    procfs::rss_kib(server.pid()).map_err(|e| format!("server RSS: {e}"))
}

/// What the run measured.
#[derive(Debug)]
struct Figures {
    rss_start: u64,
    rss_peak: u64,
    rss_left: u64,
    rss_end: u64,
    baseline: Open,
    end: Open,
    settled_in: Duration,
}

/// `soak [...]`: runs the soak and reports; the exit code says if it passed.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let opts = Options::parse(args)?;
    let limit = procfs::raise_nofile_limit().map_err(|e| format!("open-file limit: {e}"))? as usize;
    if opts.connections + SPARE_DESCRIPTORS > limit {
        return Err(format!(
            "{} connections need an open-file limit of {} (this one is {limit}): try `ulimit -n` or fewer --connections",
            opts.connections,
            opts.connections + SPARE_DESCRIPTORS
        ));
    }
    let max_connections = (opts.connections + SPARE_DESCRIPTORS).to_string();
    let server = ServerProcess::spawn(
        &["soak-serve", "--max-connections", &max_connections, "--die-with-parent"],
        "soak",
    )
    .map_err(|e| format!("soak server: {e}"))?;
    eprintln!(
        "{}\nsoak: {} connections for {} s against pid {} at {}",
        procfs::machine_description(),
        opts.connections,
        opts.seconds,
        server.pid(),
        server.addr
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let tally = Arc::new(Tally::default());
    let figures = runtime.block_on(soak(&opts, &server, &tally))?;
    Ok(report(&opts, &figures, &tally))
}

async fn soak(opts: &Options, server: &ServerProcess, tally: &Arc<Tally>) -> Result<Figures, String> {
    let addr = server.addr;
    let baseline = open_on_server(addr, true).await?;
    let rss_start = rss(server)?;
    let ramp = RAMP.min(Duration::from_secs(opts.seconds) / 4);
    let clients: Vec<_> = (0..opts.connections)
        .map(|i| {
            let role = Options::role(i);
            let start = ramp.mul_f64(i as f64 / opts.connections as f64);
            let interval = if role == Role::Caller {
                opts.interval
            } else {
                OTHERS_INTERVAL
            };
            let tally = tally.clone();
            tokio::spawn(async move { soak_clients::run(role, addr, i as u64, start, interval, &tally).await })
        })
        .collect();

    let started = Instant::now();
    let mut rss_peak = rss_start;
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    while started.elapsed() < Duration::from_secs(opts.seconds) {
        ticks.tick().await;
        let now = rss(server)?;
        rss_peak = rss_peak.max(now);
        let elapsed = started.elapsed().as_secs();
        if elapsed.is_multiple_of(10) {
            eprintln!(
                "{elapsed:>4} s  RSS {} MiB (peak {} MiB)  {}",
                now / 1024,
                rss_peak / 1024,
                progress(tally)
            );
        }
    }
    tally.stop();
    let wind_down = Instant::now();
    for client in clients {
        let left = WIND_DOWN.saturating_sub(wind_down.elapsed());
        if tokio::time::timeout(left, client).await.is_err() {
            return Err(format!("the clients did not finish within {WIND_DOWN:?}"));
        }
        rss_peak = rss_peak.max(rss(server)?);
    }
    // The server closes its side of the last connections on its own time.
    let end = loop {
        let open = open_on_server(addr, false).await?;
        if open == baseline || wind_down.elapsed() > WIND_DOWN {
            break open;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let settled_in = wind_down.elapsed();
    let rss_left = rss(server)?;
    open_on_server(addr, true).await?;
    let rss_end = rss(server)?;
    Ok(Figures {
        rss_start,
        rss_peak,
        rss_left,
        rss_end,
        baseline,
        end,
        settled_in,
    })
}

fn progress(tally: &Tally) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    format!(
        "calls {}/{} answered, {} connects, {} slow readers cut off, {} closed 1009, {} errors",
        tally.calls_answered.load(Relaxed),
        tally.calls_sent.load(Relaxed),
        tally.connects.load(Relaxed),
        tally.slow_cut_off.load(Relaxed),
        tally.closed_1009.load(Relaxed),
        tally.errors.load(Relaxed),
    )
}

/// Prints the figures and the checks; the exit code is the verdict.
fn report(opts: &Options, f: &Figures, tally: &Tally) -> ExitCode {
    use std::sync::atomic::Ordering::Relaxed;
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Relaxed);
    let slow_readers = (0..opts.connections)
        .filter(|&i| Options::role(i) == Role::SlowReader)
        .count();
    let garbage_senders = (0..opts.connections)
        .filter(|&i| Options::role(i) == Role::Garbage)
        .count();
    let bound = peak_bound(f.rss_start, opts.connections, slow_readers);
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    println!("| soak figure | value |\n|---|---:|");
    let rows = [
        (
            "connections (slow readers, garbage senders)",
            format!("{} ({slow_readers}, {garbage_senders})", opts.connections),
        ),
        ("seconds", opts.seconds.to_string()),
        (
            "well-formed calls sent / answered",
            format!("{} / {}", load(&tally.calls_sent), load(&tally.calls_answered)),
        ),
        ("connections opened (churn included)", load(&tally.connects).to_string()),
        (
            "garbage messages answered with their spec error",
            load(&tally.garbage_answered).to_string(),
        ),
        (
            "oversized frames closed 1009 / reset first",
            format!("{} / {}", load(&tally.closed_1009), load(&tally.reset_after_oversized)),
        ),
        ("slow readers cut off", load(&tally.slow_cut_off).to_string()),
        ("errors", load(&tally.errors).to_string()),
        ("server RSS at start", mib(f.rss_start)),
        (
            "server RSS peak (bound)",
            format!("{} ({})", mib(f.rss_peak), mib(bound)),
        ),
        ("server RSS after the clients left", mib(f.rss_left)),
        ("… after malloc_trim", mib(f.rss_end)),
        (
            "open connections / WebSockets / tasks before",
            format!(
                "{} / {} / {}",
                f.baseline.connections, f.baseline.websockets, f.baseline.tasks
            ),
        ),
        (
            "… after the clients left",
            format!("{} / {} / {}", f.end.connections, f.end.websockets, f.end.tasks),
        ),
        ("back to that within", format!("{:.1} s", f.settled_in.as_secs_f64())),
    ];
    for (name, value) in rows {
        println!("| {name} | {value} |");
    }
    for message in tally.messages() {
        eprintln!("error: {message}");
    }
    let checks = [
        ("no client error", load(&tally.errors) == 0),
        (
            "every well-formed call answered",
            load(&tally.calls_sent) == load(&tally.calls_answered) && load(&tally.calls_sent) > 0,
        ),
        (
            "slow readers cut off",
            slow_readers == 0 || load(&tally.slow_cut_off) > 0,
        ),
        (
            "oversized frames closed 1009",
            garbage_senders == 0 || load(&tally.closed_1009) > 0,
        ),
        ("connections and tasks back to the baseline", f.end == f.baseline),
        ("RSS peak within its bound", f.rss_peak <= bound),
        ("RSS back near its start", f.rss_end <= f.rss_start + NEAR_START),
    ];
    let mut passed = true;
    for (check, ok) in checks {
        eprintln!("{} {check}", if ok { "ok  " } else { "FAIL" });
        passed &= ok;
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
