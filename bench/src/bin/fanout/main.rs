//! `fanout`: group fan-out at the limit. One `say` to a group of N WebSocket
//! members, timed until the last member has the notification, on six
//! servers in one run: a raw tokio-tungstenite anchor writing one precomputed
//! frame to every socket, channels-rpc with its in-process layer and both
//! Redis layers, and Django Channels (uvicorn) with `InMemoryChannelLayer`
//! and channels_redis.
//!
//! ```text
//! cargo run --release -p rpc-bench --bin fanout -- [--members 1000,10000] [--sends 7]
//!     [--django-sends 3] [--targets raw,in-process,...] [--join-seconds 300] [--smoke] [--no-report]
//! ```
//!
//! The members and the speaker run here, pinned to CPU 1; each server is a
//! child process pinned to CPU 0, and a fresh redis-server is started for
//! each row that needs one. Writes `bench/FANOUT.md` and `bench/FANOUT.svg`
//! (not with `--smoke`, which runs every row with 20 members, 2 sends, nor
//! with `--no-report`). `FANOUT_SERVER_PREFIX`, when set, is a command the
//! Rust servers are started under (`bench/instructions-fanout.sh` counts
//! their instructions with callgrind that way).
//! Exits non-zero if any member missed a notification or got a wrong one.

use std::process::ExitCode;
use std::time::Duration;

#[allow(dead_code)] // shared with rpc-bench's main binary, which uses all of it
#[path = "../../procfs.rs"]
mod procfs;

#[path = "../../chart.rs"]
mod chart;

mod members;
mod report;
mod servers;

use members::{Plan, Sends};
use report::Row;
use servers::{RedisProcess, ServerProcess, Target};

/// The CPU the members run on.
const MEMBERS_CPU: usize = 1;

const USAGE: &str = "\
usage: fanout [--members N[,N...]] [--sends N] [--django-sends N] [--targets NAME[,NAME...]]
              [--join-seconds S] [--smoke] [--no-report]
       fanout serve raw|raw-tasks|in-process|redis-pubsub|redis-core [--redis URL]

targets: raw, in-process, redis-pubsub, redis-core, django-memory, django-redis (the default),
and raw-tasks: the raw server with a task per connection";

/// The options of a run.
#[derive(Debug)]
struct Options {
    members: Vec<usize>,
    sends: usize,
    /// Sends for the Django rows, which take seconds each at 10,000 members.
    django_sends: usize,
    targets: Vec<Target>,
    join_within: Duration,
    smoke: bool,
    /// Print the report only: leave bench/FANOUT.md and .svg as they are.
    no_report: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("serve") {
        serve(&args[1..])
    } else {
        options(&args).and_then(|opts| run(&opts, &args))
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fanout: {e}");
            ExitCode::from(2)
        }
    }
}

fn serve(args: &[String]) -> Result<ExitCode, String> {
    let target: Target = args.first().ok_or(USAGE)?.parse()?;
    let redis = match &args[1..] {
        [] => None,
        [flag, url] if flag == "--redis" => Some(url.clone()),
        _ => return Err(USAGE.to_owned()),
    };
    servers::serve(target, redis).map_err(|e| format!("server {target}: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn value<T: std::str::FromStr>(flag: &str, v: Option<&String>) -> Result<T, String> {
    v.ok_or_else(|| format!("{flag} needs a value"))?
        .parse()
        .map_err(|_| format!("{flag}: not a valid value"))
}

fn list<T: std::str::FromStr>(flag: &str, v: Option<&String>) -> Result<Vec<T>, String> {
    v.ok_or_else(|| format!("{flag} needs a value"))?
        .split(',')
        .map(|item| {
            item.parse()
                .map_err(|_| format!("{flag}: `{item}` is not valid\n{USAGE}"))
        })
        .collect()
}

fn options(args: &[String]) -> Result<Options, String> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let mut opts = Options {
        members: if smoke { vec![20] } else { vec![1_000, 10_000] },
        sends: if smoke { 2 } else { 7 },
        django_sends: if smoke { 2 } else { 3 },
        targets: Target::DEFAULT.to_vec(),
        join_within: Duration::from_secs(if smoke { 60 } else { 300 }),
        smoke,
        no_report: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => {}
            "--no-report" => opts.no_report = true,
            "--members" => opts.members = list(arg, it.next())?,
            "--sends" => opts.sends = value::<usize>(arg, it.next())?.max(1),
            "--django-sends" => opts.django_sends = value::<usize>(arg, it.next())?.max(1),
            "--targets" => opts.targets = list(arg, it.next())?,
            "--join-seconds" => opts.join_within = Duration::from_secs_f64(value(arg, it.next())?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if opts.members.contains(&0) {
        return Err("--members: a group needs at least one member".to_owned());
    }
    Ok(opts)
}

fn run(opts: &Options, args: &[String]) -> Result<ExitCode, String> {
    procfs::pin_or_warn(MEMBERS_CPU, "members");
    let limit = procfs::raise_nofile_limit().map_err(|e| format!("open-file limit: {e}"))?;
    let largest = opts.members.iter().copied().max().unwrap_or(0) as u64;
    if largest + 64 > limit {
        return Err(format!(
            "{largest} members need more descriptors than the limit of {limit} (ulimit -Hn)"
        ));
    }
    let django = servers::django_available();
    let machine = procfs::machine_description();
    let profile = if cfg!(debug_assertions) { "" } else { " --release" };
    let command = format!("cargo run{profile} -p rpc-bench --bin fanout -- {}", args.join(" "));
    eprintln!("{machine}\n{command}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;

    let mut rows = Vec::new();
    for &members in &opts.members {
        for &target in &opts.targets {
            let plan = Plan {
                members,
                sends: if target.is_django() {
                    opts.django_sends
                } else {
                    opts.sends
                },
                join_within: opts.join_within,
            };
            let outcome = if let (true, Err(why)) = (target.is_django(), &django) {
                Err(format!("skipped: no Django server ({why}); see bench/django/README.md"))
            } else {
                runtime.block_on(measure(target, plan))
            };
            match &outcome {
                Ok(sends) => eprintln!(
                    "{target:<14} {members:>6} members: median {:.2} ms, server CPU {} ms per send",
                    report::ms(sends.times[sends.times.len() / 2]),
                    sends
                        .server_cpu_ms
                        .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1}")),
                ),
                Err(e) => eprintln!("{target:<14} {members:>6} members: {e}"),
            }
            rows.push(Row::new(target, members, outcome));
        }
    }

    let markdown = report::render(&rows, (opts.sends, opts.django_sends), &machine, &command);
    println!("{markdown}");
    if !opts.smoke && !opts.no_report {
        let dir = env!("CARGO_MANIFEST_DIR");
        let md = format!("{dir}/FANOUT.md");
        let svg = format!("{dir}/FANOUT.svg");
        std::fs::write(&md, &markdown).map_err(|e| format!("writing {md}: {e}"))?;
        std::fs::write(&svg, report::chart(&rows)?).map_err(|e| format!("writing {svg}: {e}"))?;
        eprintln!("wrote {md} and {svg}");
    }
    let failed: Vec<String> = rows
        .iter()
        .filter_map(|row| match &row.outcome {
            Err(e) if !e.starts_with("skipped:") => Some(format!("{} with {} members: {e}", row.target, row.members)),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        eprintln!("every member got every notification");
        Ok(ExitCode::SUCCESS)
    } else {
        for failure in failed {
            eprintln!("FAILED: {failure}");
        }
        Ok(ExitCode::FAILURE)
    }
}

/// Starts the target's server (and its redis-server) and times its fan-outs.
async fn measure(target: Target, plan: Plan) -> Result<Sends, String> {
    let redis = if target.needs_redis() {
        Some(RedisProcess::start().map_err(|e| format!("skipped: no redis-server ({e})"))?)
    } else {
        None
    };
    let url = redis.as_ref().map(RedisProcess::url);
    let server = ServerProcess::start(target, url.as_deref()).map_err(|e| format!("server: {e}"))?;
    members::measure(server.addr, server.pid(), plan).await
}
