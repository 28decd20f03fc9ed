//! The JavaScript client (`js/channels-rpc.js`) under node's test runner,
//! against a real server started here: the example methods over WebSocket at
//! `/ws/` and HTTP at `/rpc/`, and the client module at `/channels-rpc.js`.

use std::process::Command;

use channels_rpc::{Consumer, Server, ServerConfig};

/// Serves the example methods (the specification's, chat, `slow`, `notify_me`).
#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Everyone;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(has_node), ignore = "needs node 20 or newer on the PATH")]
async fn the_javascript_client_passes_its_tests_against_a_live_server() {
    let config = ServerConfig::builder()
        .serve_client("/channels-rpc.js")
        .build()
        .unwrap();
    let server = Server::bind("127.0.0.1:0")
        .config(config)
        .websocket("/ws/", Everyone::app())
        .http("/rpc/", Everyone::app())
        .listen()
        .await
        .unwrap();
    let addr = server.local_addr();
    let handle = server.spawn();

    let js = env!("CARGO_MANIFEST_DIR");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            // node 20 has a WebSocket client behind this flag; 22 has it by default.
            .args([
                "--experimental-websocket",
                "--no-warnings",
                "--test",
                "--test-reporter=spec",
            ])
            .arg("test/client.test.mjs")
            .current_dir(js)
            .env("RPC_ADDR", addr.to_string())
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    handle.shutdown().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(output.status.success(), "node --test failed: {}", output.status);
    // The runner's summary: every test ran and passed, none was skipped.
    assert!(stdout.contains("ℹ fail 0"), "{stdout}");
    assert!(stdout.contains("ℹ skipped 0"), "{stdout}");
    assert!(!stdout.contains("ℹ pass 0"), "{stdout}");
}
