//! A short soak: `rpc-bench soak` with 500 connections for 15 s (the full one,
//! 10,000 connections for 120 s, is a command: see the README's "Soak test").
//! The run checks everything itself and exits non-zero on any failed check;
//! each of its phases is bounded, so it always ends.

use std::process::Command;

#[test]
#[ignore = "a 15 s soak against a server process: run with `cargo test -p rpc-bench --test soak -- --ignored`"]
fn short_soak_passes_every_check() {
    let output = Command::new(env!("CARGO_BIN_EXE_rpc-bench"))
        .args(["soak", "--connections", "500", "--seconds", "15"])
        .output()
        .expect("start rpc-bench soak");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "rpc-bench soak failed ({})\nstderr:\n{stderr}\nstdout:\n{stdout}",
        output.status
    );
    for check in [
        "every well-formed call answered",
        "slow readers cut off",
        "oversized frames closed 1009",
        "connections and tasks back to the baseline",
        "RSS back near its start",
    ] {
        assert!(
            stderr.contains(&format!("ok   {check}")),
            "no passed check `{check}`:\n{stderr}"
        );
    }
}
