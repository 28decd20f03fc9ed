//! Runs a file of node's built-in test runner and checks its summary.

use std::path::Path;
use std::process::Command;

/// Runs `node --test` on `script` (relative to `js/`) with `env`, prints its
/// output, and asserts that it passed with no test failed or skipped.
pub async fn run_node_tests(script: &'static str, env: Vec<(&'static str, String)>) {
    let js = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            // node 20 has a WebSocket client behind this flag; 22 has it by default.
            .args([
                "--experimental-websocket",
                "--no-warnings",
                "--test",
                "--test-reporter=spec",
            ])
            .arg(script)
            .current_dir(js)
            .envs(env)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "node --test {script} failed: {}",
        output.status
    );
    // The runner's summary: every test ran and passed, none was skipped.
    assert!(stdout.contains("ℹ fail 0"), "{stdout}");
    assert!(stdout.contains("ℹ skipped 0"), "{stdout}");
    assert!(!stdout.contains("ℹ pass 0"), "{stdout}");
}
