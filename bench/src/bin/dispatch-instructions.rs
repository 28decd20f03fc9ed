//! `dispatch-instructions`: answers one kind of request many times in
//! process, through the same `App::handle` that HTTP and WebSocket call, and
//! through the baseline's scanner, so that callgrind can count the
//! instructions each spends (`bench/instructions-dispatch.sh` runs it). Unlike
//! time, the count stays the same on a busy machine.
//!
//! ```text
//! dispatch-instructions ours|baseline batch100|ping|echo16k [ITERATIONS]
//! ```
//!
//! The requests are the load benchmark's own (`rpc-bench`'s `http_batch`,
//! `http_ping`, `ws_echo_16k`); channels-rpc's answer to the request is
//! checked for errors once before the loop, whichever server is counted.

use std::process::ExitCode;

use channels_rpc::{Connection, Consumer, Scope, Transport};

/// The baseline server's scanner: only its `answer` is used here.
#[path = "../servers/baseline.rs"]
#[allow(dead_code)]
mod baseline;

/// Serves the methods `rpc-bench serve ours` serves.
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Bench;

/// The request of `scenario`, as `rpc-bench` sends it.
fn request(scenario: &str) -> Option<String> {
    let add = |id: u64| {
        let (a, b) = ((id % 1000) as i64 * 3 - 1000, id as i64);
        if id % 2 == 1 {
            format!(r#"{{"jsonrpc":"2.0","method":"add","params":{{"a":{a},"b":{b}}},"id":{id}}}"#)
        } else {
            format!(r#"{{"jsonrpc":"2.0","method":"add","params":[{a},{b}],"id":{id}}}"#)
        }
    };
    Some(match scenario {
        "batch100" => format!("[{}]", (1..=100).map(add).collect::<Vec<_>>().join(",")),
        "ping" => r#"{"jsonrpc":"2.0","method":"ping","id":1}"#.to_owned(),
        "echo16k" => {
            let s: String = (0..16 * 1024).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            format!(r#"{{"jsonrpc":"2.0","method":"echo","params":["{s}"],"id":1}}"#)
        }
        _ => return None,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: dispatch-instructions ours|baseline batch100|ping|echo16k [ITERATIONS]";
    let (Some(server), Some(input)) = (args.first(), args.get(1).and_then(|s| request(s))) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let iterations: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let app = Bench::app();
    let conn = Connection::for_consumer::<Bench>(Scope::new(Transport::Http, "/rpc/"));
    let ours = |input: &[u8]| rt.block_on(app.handle(&conn, input)).map(|r| r.body().len());
    let baseline = |input: &[u8]| {
        let mut out = Vec::with_capacity(input.len() + 64);
        baseline::answer(input, &mut out);
        Some(out.len())
    };
    let run: &dyn Fn(&[u8]) -> Option<usize> = match server.as_str() {
        "ours" => &ours,
        "baseline" => &baseline,
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let first = rt.block_on(app.handle(&conn, input.as_bytes())).expect("an answer");
    let text = String::from_utf8_lossy(first.body());
    if text.contains("\"error\"") {
        eprintln!("the request failed: {text}");
        return ExitCode::FAILURE;
    }
    let mut bytes = 0;
    for _ in 0..iterations {
        bytes += run(std::hint::black_box(input.as_bytes())).unwrap_or(0);
    }
    println!("{server}: {iterations} answers, {bytes} bytes");
    ExitCode::SUCCESS
}
