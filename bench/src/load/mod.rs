//! The load generator: starts each server as a child process in turn, runs
//! the scenarios against it over loopback, validates every answer, and
//! measures throughput, latency, CPU time per call (server and generator) and
//! memory per idle connection.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::procfs;
use crate::servers::Kind;

pub mod check;
mod child;
mod http;
mod options;
mod ws;

pub use child::ServerProcess;
pub use options::{Options, Scenario};

use check::Call;

/// How long the connections of a scenario get to finish their last calls.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What one scenario measured on one server in one round.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Calls answered per second in the window (connections opened per
    /// second for `ws_idle`).
    pub calls_per_sec: Option<f64>,
    /// Median latency, microseconds.
    pub p50_us: Option<f64>,
    /// 99th percentile latency, microseconds.
    pub p99_us: Option<f64>,
    /// Server CPU time (user + system) per call, microseconds (per connection
    /// opened for `ws_idle`).
    pub server_cpu_us_per_call: Option<f64>,
    /// Server CPU use in the window, percent of one core.
    pub server_cpu_pct: Option<f64>,
    /// Generator CPU use in the window, percent of one core.
    pub generator_cpu_pct: Option<f64>,
    /// Server resident memory per idle connection, KiB.
    pub rss_kib_per_connection: Option<f64>,
    /// Idle connections held open.
    pub connections: Option<f64>,
    /// Answers validated over the whole run (warm-up and drain included).
    pub answered: u64,
    /// Wrong answers and failures.
    pub errors: u64,
    /// The first few error messages.
    pub error_messages: Vec<String>,
}

/// State the connection tasks of one scenario share with the measurement.
#[derive(Debug, Default)]
pub struct Shared {
    completed: AtomicU64,
    errors: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
    messages: Mutex<Vec<String>>,
    /// Also parse every answer with serde_json.
    pub strict: bool,
}

impl Shared {
    fn new(strict: bool) -> Arc<Shared> {
        Arc::new(Shared {
            strict,
            ..Shared::default()
        })
    }

    /// True once connections should stop making new calls.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Counts `calls` validated answers to a request sent at `sent`, and
    /// records its latency if the measurement window is open.
    pub fn answered(&self, calls: u64, sent: Instant, latencies: &mut Vec<u64>) {
        self.completed.fetch_add(calls, Ordering::Relaxed);
        if self.measuring.load(Ordering::Relaxed) {
            latencies.push(sent.elapsed().as_nanos() as u64);
        }
    }

    /// Counts an error, keeping the first few messages.
    pub fn error(&self, message: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        if messages.len() < 5 {
            messages.push(message);
        }
    }

    fn finish(&self, sample: &mut Sample) {
        sample.answered = self.completed.load(Ordering::Relaxed);
        sample.errors = self.errors.load(Ordering::Relaxed);
        sample.error_messages = self.messages.lock().unwrap_or_else(|e| e.into_inner()).clone();
    }
}

/// CPU seconds of the server and of this process, and the time, at one instant.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    at: Instant,
    server_cpu: f64,
    generator_cpu: f64,
}

impl Snapshot {
    fn take(pid: u32) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            server_cpu: procfs::cpu_seconds(Some(pid)).unwrap_or(f64::NAN),
            generator_cpu: procfs::cpu_seconds(None).unwrap_or(f64::NAN),
        }
    }
}

/// Runs every (round, scenario, server) with a fresh server process for each,
/// servers taking turns, and returns the samples in order. `progress` is
/// told of each one as it completes.
pub async fn run(
    opts: &Options,
    mut progress: impl FnMut(usize, Scenario, Kind, &Sample),
) -> Vec<(Scenario, Kind, Sample)> {
    let mut samples = Vec::new();
    for round in 0..opts.rounds {
        for &scenario in &opts.scenarios {
            for &kind in &opts.servers {
                let sample = match ServerProcess::start(kind) {
                    Ok(mut server) => {
                        let mut sample = run_scenario(scenario, &server, opts).await;
                        if !server.is_running() {
                            sample.errors += 1;
                            sample.error_messages.push("the server process died".to_owned());
                        }
                        sample
                    }
                    Err(e) => Sample {
                        errors: 1,
                        error_messages: vec![format!("could not start the server: {e}")],
                        ..Sample::default()
                    },
                };
                progress(round, scenario, kind, &sample);
                samples.push((scenario, kind, sample));
            }
        }
    }
    samples
}

/// Runs one scenario against a running server.
pub async fn run_scenario(scenario: Scenario, server: &ServerProcess, opts: &Options) -> Sample {
    let addr = server.addr;
    let shared = Shared::new(opts.strict);
    let pid = server.pid();
    match scenario {
        Scenario::HttpPing => closed_loop(&shared, pid, opts, opts.connections, |s| http::ping_loop(addr, s)).await,
        Scenario::WsPing => {
            let in_flight = opts.in_flight;
            closed_loop(&shared, pid, opts, opts.connections, |s| {
                ws::call_loop(addr, Call::Ping, in_flight, s)
            })
            .await
        }
        Scenario::WsLatency => closed_loop(&shared, pid, opts, 1, |s| ws::call_loop(addr, Call::Ping, 1, s)).await,
        Scenario::HttpBatch => {
            let size = opts.batch_size;
            closed_loop(&shared, pid, opts, opts.batch_connections, |s| {
                http::batch_loop(addr, size, s)
            })
            .await
        }
        Scenario::WsEcho16k => {
            let call = Call::echo_of_len(16 * 1024);
            closed_loop(&shared, pid, opts, opts.echo_connections, |s| {
                ws::call_loop(addr, call.clone(), 1, s)
            })
            .await
        }
        Scenario::WsIdle => idle(&shared, server, opts).await,
    }
}

/// Starts `tasks` connection loops, lets them warm up, measures one window,
/// then stops them and waits for their last answers.
async fn closed_loop<F, Fut>(shared: &Arc<Shared>, pid: u32, opts: &Options, tasks: usize, start: F) -> Sample
where
    F: Fn(Arc<Shared>) -> Fut,
    Fut: Future<Output = Vec<u64>> + Send + 'static,
{
    let handles: Vec<_> = (0..tasks).map(|_| tokio::spawn(start(shared.clone()))).collect();
    tokio::time::sleep(Duration::from_secs_f64(opts.warmup)).await;
    let calls_before = shared.completed.load(Ordering::Relaxed);
    let before = Snapshot::take(pid);
    shared.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(opts.seconds)).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let calls = shared.completed.load(Ordering::Relaxed) - calls_before;
    let after = Snapshot::take(pid);
    shared.stop.store(true, Ordering::Relaxed);

    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    let mut latencies = Vec::new();
    for handle in handles {
        let abort = handle.abort_handle();
        match tokio::time::timeout_at(deadline, handle).await {
            Ok(Ok(task_latencies)) => latencies.extend(task_latencies),
            Ok(Err(e)) => shared.error(format!("connection task failed: {e}")),
            Err(_) => {
                abort.abort();
                shared.error(format!(
                    "a connection did not finish within {DRAIN_TIMEOUT:?} of the stop"
                ));
            }
        }
    }
    latencies.sort_unstable();
    let percentile = |p: usize| -> Option<f64> {
        let i = (latencies.len() * p / 100).min(latencies.len().checked_sub(1)?);
        Some(latencies[i] as f64 / 1000.0)
    };
    let wall = after.at.duration_since(before.at).as_secs_f64();
    let server_cpu = after.server_cpu - before.server_cpu;
    let mut sample = Sample {
        calls_per_sec: Some(calls as f64 / wall),
        p50_us: percentile(50),
        p99_us: percentile(99),
        server_cpu_us_per_call: (calls > 0).then(|| server_cpu * 1e6 / calls as f64),
        server_cpu_pct: Some(server_cpu * 100.0 / wall),
        generator_cpu_pct: Some((after.generator_cpu - before.generator_cpu) * 100.0 / wall),
        ..Sample::default()
    };
    shared.finish(&mut sample);
    sample
}

/// `ws_idle`: opens the idle connections, reads the server's memory growth
/// and CPU time per connection, checks that each connection is still served,
/// then closes them all.
async fn idle(shared: &Arc<Shared>, server: &ServerProcess, opts: &Options) -> Sample {
    let pid = server.pid();
    let addr = server.addr;
    let n = opts.idle_connections;
    // Let the server settle after start-up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = procfs::rss_kib(pid).unwrap_or(0);
    let before = Snapshot::take(pid);
    let mut sockets: Vec<ws::Socket> = futures_util::stream::iter(0..n)
        .map(|_| ws::connect(addr))
        .buffer_unordered(64)
        .filter_map(|opened| async move {
            match opened {
                Ok(socket) => Some(socket),
                Err(e) => {
                    shared.error(e);
                    None
                }
            }
        })
        .collect()
        .await;
    let opened_in = before.at.elapsed().as_secs_f64();
    // Let the server finish setting up the last connections before reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = Snapshot::take(pid);
    let rss_after = procfs::rss_kib(pid).unwrap_or(0);
    let opened = sockets.len();

    // Every connection must still be served: one validated ping each.
    let checks = futures_util::stream::iter(sockets.iter_mut().enumerate())
        .map(|(i, socket)| {
            let shared = shared.clone();
            async move {
                match tokio::time::timeout(DRAIN_TIMEOUT, ws::ping_once(socket, i as u64 + 1, &shared)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => shared.error(e),
                    Err(_) => shared.error("no answer on an idle connection".to_owned()),
                }
            }
        })
        .buffer_unordered(256);
    checks.collect::<Vec<()>>().await;
    drop(sockets);

    let per = |total: f64| (opened > 0).then(|| total / opened as f64);
    let wall = after.at.duration_since(before.at).as_secs_f64();
    let mut sample = Sample {
        calls_per_sec: Some(opened as f64 / opened_in),
        server_cpu_us_per_call: per((after.server_cpu - before.server_cpu) * 1e6),
        server_cpu_pct: Some((after.server_cpu - before.server_cpu) * 100.0 / wall),
        generator_cpu_pct: Some((after.generator_cpu - before.generator_cpu) * 100.0 / wall),
        rss_kib_per_connection: per(rss_after as f64 - rss_before as f64),
        connections: Some(opened as f64),
        ..Sample::default()
    };
    shared.finish(&mut sample);
    if opened < n {
        sample.errors += 1;
        sample
            .error_messages
            .push(format!("only {opened} of {n} idle connections opened"));
    }
    sample
}
