//! `rpc-bench`: the load benchmark of channels-rpc against jsonrpsee and a raw
//! hyper/tokio-tungstenite baseline, over loopback.
//!
//! ```text
//! cargo run --release -p rpc-bench -- [--rounds N] [--seconds S] [--scenario NAME] [--smoke]
//! rpc-bench serve ours|jsonrpsee|baseline [--addr 127.0.0.1:0]
//! rpc-bench soak [--connections N] [--seconds S]   # see soak.rs
//! ```
//!
//! Without `serve`, the binary is the load generator: pinned to CPU 1, it
//! starts each server (this binary again, `serve NAME`, pinned to CPU 0) as a
//! child process in turn, runs the scenarios, validates every answer, prints a
//! markdown table of medians and writes it to `bench/RESULTS.md`, with a chart of
//! each server relative to the baseline in `bench/RESULTS.svg` (not in
//! `--smoke` mode). It exits non-zero if any answer was wrong or any call failed.

use std::process::ExitCode;

mod chart;
mod load;
mod procfs;
mod report;
mod servers;
mod soak;
mod soak_clients;
mod soak_server;

use load::{Options, Scenario};
use servers::Kind;

/// The CPU the load generator runs on.
const GENERATOR_CPU: usize = 1;

/// Descriptors kept free beside the idle connections (listeners, pipes, files).
const SPARE_DESCRIPTORS: u64 = 256;

const USAGE: &str = "\
usage: rpc-bench [--rounds N] [--seconds S] [--warmup S] [--scenario NAME[,NAME...]]
                 [--server NAME[,NAME...]] [--connections N] [--in-flight N]
                 [--idle-connections N] [--smoke]
       rpc-bench serve ours|jsonrpsee|baseline [--addr HOST:PORT] [--die-with-parent]
       rpc-bench soak [--connections N] [--seconds S] [--interval-ms MS]

scenarios: http_ping, ws_ping, ws_latency, http_batch, ws_echo_16k, ws_idle
--smoke runs every scenario briefly with small counts and fails on any wrong answer";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("soak-serve") => soak::serve(&args[1..]),
        _ => generate(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rpc-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// `serve NAME [--addr A]`: runs one server until killed.
fn serve(args: &[String]) -> Result<ExitCode, String> {
    let kind: Kind = args.first().ok_or(USAGE)?.parse()?;
    let mut addr = "127.0.0.1:0".to_owned();
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--addr" => addr = rest.next().ok_or("--addr needs a value")?.clone(),
            "--die-with-parent" => procfs::die_with_parent().map_err(|e| format!("prctl: {e}"))?,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    servers::serve(kind, &addr).map_err(|e| format!("server {kind}: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn value<T: std::str::FromStr>(flag: &str, v: Option<&String>) -> Result<T, String> {
    v.ok_or_else(|| format!("{flag} needs a value"))?
        .parse()
        .map_err(|_| format!("{flag}: not a valid value"))
}

fn list<T: std::str::FromStr<Err = String>>(flag: &str, v: Option<&String>) -> Result<Vec<T>, String> {
    v.ok_or_else(|| format!("{flag} needs a value"))?
        .split(',')
        .map(str::parse)
        .collect()
}

/// Parses the generator's options; `--smoke` first sets the small defaults.
fn options(args: &[String]) -> Result<(Options, bool), String> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let mut opts = if smoke { Options::smoke() } else { Options::full() };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => {}
            "--rounds" => opts.rounds = value::<usize>(arg, it.next())?.max(1),
            "--seconds" => opts.seconds = value(arg, it.next())?,
            "--warmup" => opts.warmup = value(arg, it.next())?,
            "--scenario" => opts.scenarios = list::<Scenario>(arg, it.next())?,
            "--server" => opts.servers = list::<Kind>(arg, it.next())?,
            "--connections" => opts.connections = value::<usize>(arg, it.next())?.max(1),
            "--in-flight" => opts.in_flight = value::<usize>(arg, it.next())?.max(1),
            "--idle-connections" => opts.idle_connections = value(arg, it.next())?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if !(opts.seconds > 0.0 && opts.warmup >= 0.0) {
        return Err("--seconds must be positive and --warmup not negative".to_owned());
    }
    Ok((opts, smoke))
}

/// The command line as a user would type it to reproduce this run.
fn command_line(args: &[String]) -> String {
    let profile = if cfg!(debug_assertions) { "" } else { " --release" };
    let mut command = format!("cargo run{profile} -p rpc-bench --");
    for arg in args {
        command.push(' ');
        command.push_str(arg);
    }
    command
}

/// The load generator: runs the benchmark and reports.
fn generate(args: &[String]) -> Result<ExitCode, String> {
    let (mut opts, smoke) = options(args)?;
    procfs::pin_or_warn(GENERATOR_CPU, "load generator");
    match procfs::raise_nofile_limit() {
        Ok(limit) => {
            let allowed = limit.saturating_sub(SPARE_DESCRIPTORS) as usize;
            if opts.scenarios.contains(&Scenario::WsIdle) && opts.idle_connections > allowed {
                eprintln!(
                    "note: the open-file limit is {limit}: ws_idle opens {allowed} connections instead of {}",
                    opts.idle_connections
                );
                opts.idle_connections = allowed;
            }
        }
        Err(e) => eprintln!("warning: could not raise the open-file limit: {e}"),
    }
    let machine = procfs::machine_description();
    let command = command_line(args);
    eprintln!("{machine}\n{command}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let samples = runtime.block_on(load::run(&opts, |round, scenario, kind, sample| {
        eprintln!(
            "round {}/{} {scenario:<12} {kind:<10} {:>12.0} calls/s  {} answered  {} errors",
            round + 1,
            opts.rounds,
            sample.calls_per_sec.unwrap_or(0.0),
            sample.answered,
            sample.errors,
        );
        for message in &sample.error_messages {
            eprintln!("    error: {message}");
        }
    }));

    let table = report::render(&samples, &opts, &machine, &command);
    println!("{table}");
    if !smoke {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS.md");
        std::fs::write(path, &table).map_err(|e| format!("writing {path}: {e}"))?;
        let svg = concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS.svg");
        std::fs::write(svg, report::chart(&samples, &opts)?).map_err(|e| format!("writing {svg}: {e}"))?;
        eprintln!("wrote {path} and {svg}");
    }

    let errors: u64 = samples.iter().map(|(_, _, s)| s.errors).sum();
    let silent: Vec<String> = samples
        .iter()
        .filter(|(_, _, s)| s.answered == 0)
        .map(|(scenario, kind, _)| format!("{scenario} on {kind}"))
        .collect();
    if errors > 0 || !silent.is_empty() {
        eprintln!("FAILED: {errors} error(s)");
        if !silent.is_empty() {
            eprintln!("FAILED: no answer at all in {}", silent.join(", "));
        }
        return Ok(ExitCode::FAILURE);
    }
    eprintln!("every answer validated, no errors");
    Ok(ExitCode::SUCCESS)
}
