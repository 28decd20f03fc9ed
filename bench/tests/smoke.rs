//! Runs `rpc-bench --smoke` end to end: every scenario against every server
//! (each a child process), briefly, with small counts. The run validates every
//! answer itself and exits non-zero on any wrong answer or error; this test
//! asserts that it succeeds, and that it ends within a minute (it takes about
//! 15 s in a debug build on 2 cores: its windows are fixed, its counts small).

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The run is killed, and the test fails, past this.
const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn smoke_run_answers_everything_correctly() {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rpc-bench"))
        .arg("--smoke")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rpc-bench --smoke");
    // Drain both pipes on threads so the child never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));

    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for rpc-bench") {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            // Its servers die with it (they ask the kernel to).
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(100));
    };
    let elapsed = started.elapsed();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("rpc-bench --smoke still running after {DEADLINE:?}\n{stderr}"));
    assert!(
        status.success(),
        "rpc-bench --smoke failed ({status}) after {elapsed:?}\nstderr:\n{stderr}\nstdout:\n{stdout}"
    );
    assert!(stderr.contains("every answer validated, no errors"), "{stderr}");
    for scenario in [
        "http_ping",
        "ws_ping",
        "ws_latency",
        "http_batch",
        "ws_echo_16k",
        "ws_idle",
    ] {
        assert!(
            stdout.contains(&format!("| {scenario} |")),
            "no row for {scenario}:\n{stdout}"
        );
    }
    eprintln!("rpc-bench --smoke passed in {elapsed:?}");
}
