//! The JavaScript client (`js/channels-rpc.js`) under node's test runner,
//! against a real server started here: the example methods over WebSocket at
//! `/ws/` and HTTP at `/rpc/`, and the client module at `/channels-rpc.js`.

mod common;

use channels_rpc::{Consumer, Server, ServerConfig};
use std::process::Command;

use common::run_node_tests;

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

    run_node_tests("test/client.test.mjs", vec![("RPC_ADDR", addr.to_string())]).await;
    handle.shutdown().await.unwrap();
}

#[test]
#[cfg_attr(not(has_typescript), ignore = "needs node and `npm ci --prefix js` (typescript)")]
fn the_type_declarations_accept_the_documented_use_and_refuse_misuse() {
    let output = Command::new("node")
        .args([
            "node_modules/typescript/bin/tsc",
            "--noEmit",
            "--strict",
            "--target",
            "es2022",
        ])
        .args([
            "--module",
            "nodenext",
            "--moduleResolution",
            "nodenext",
            "--lib",
            "es2022,dom",
        ])
        .arg("test/types.ts")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("node runs");
    // tsc reports on stdout; an unmet `@ts-expect-error` is an error too.
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "tsc: {report}");
}
