//! Runs `fanout --smoke` end to end: 20 members and 2 sends on every server
//! (raw, channels-rpc in-process and on both Redis layers, Django Channels
//! in-memory and on channels_redis), each a child process. The run checks
//! every notification byte for byte and every answer to the speaker, and
//! exits non-zero on anything wrong; this test asserts that it succeeds
//! within its deadline and that every row was measured. A row whose service
//! is missing (redis-server; Python with channels, uvicorn, uvloop and
//! httptools) is reported skipped by the run, and fails this test when
//! CHANNELS_RPC_REQUIRE_SERVICES=1 (as .ci/run sets).

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The run is killed, and the test fails, past this.
const DEADLINE: Duration = Duration::from_secs(120);

const ROWS: [&str; 6] = [
    "raw tokio-tungstenite",
    "channels-rpc, in-process",
    "channels-rpc, Redis pub/sub",
    "channels-rpc, Redis core",
    "Django Channels, in-memory",
    "Django Channels, channels_redis",
];

#[test]
fn fanout_smoke_run_delivers_every_notification() {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .arg("--smoke")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fanout --smoke");
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
        if let Some(status) = child.try_wait().expect("wait for fanout") {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            // Its servers die with it (the Rust ones and Django ask the kernel to).
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(100));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("fanout --smoke still running after {DEADLINE:?}\n{stderr}"));
    assert!(
        status.success(),
        "fanout --smoke failed ({status})\nstderr:\n{stderr}\nstdout:\n{stdout}"
    );
    assert!(stderr.contains("every member got every notification"), "{stderr}");
    let required = std::env::var("CHANNELS_RPC_REQUIRE_SERVICES").as_deref() == Ok("1");
    for label in ROWS {
        let row = stdout
            .lines()
            .find(|line| line.starts_with(&format!("| {label} | 20 |")))
            .unwrap_or_else(|| panic!("no row for {label}:\n{stdout}"));
        if row.contains("skipped:") {
            assert!(!required, "CHANNELS_RPC_REQUIRE_SERVICES=1 but {row}");
            eprintln!("skipped: {row}");
            continue;
        }
        // The median is a number of milliseconds.
        let median = row.split('|').nth(3).map(str::trim).unwrap_or_default();
        assert!(median.parse::<f64>().is_ok_and(|ms| ms > 0.0), "{row}");
    }
    for label in &ROWS[..2] {
        assert!(
            !stdout.contains(&format!("| {label} | 20 | skipped")),
            "{label} needs nothing to run"
        );
    }
    eprintln!("fanout --smoke passed in {:?}", started.elapsed());
}
