//! The chat example's page in headless Chromium (`e2e/chat.e2e.mjs`): two
//! chat processes sharing one redis-server, a page on each; messages cross
//! between them, markup stays text, garbage gets the specification's errors,
//! and a killed server's page shows "reconnecting" and recovers after the
//! restart. The screenshots land in `target/tmp/browser-chat/`.
//!
//! The chat binary is the one `cargo test --workspace` builds with the
//! examples; a filtered run without it fails, saying how to build it.

mod common;

use std::path::PathBuf;

use common::run_node_tests;

/// `target/PROFILE/examples/chat`, beside this test's `target/PROFILE/deps/`.
fn chat_example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/PROFILE/deps")
        .join("examples")
        .join("chat");
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace`, which builds the examples, or `cargo build --example chat` first",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_chromium),
    ignore = "needs /usr/bin/chromium (apt-get install chromium), redis-server, node 20 and `npm ci --prefix js`"
)]
async fn two_pages_on_two_chat_servers_chat_and_survive_a_restart() {
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-chat");
    println!("screenshots: {}", artifacts.display());
    run_node_tests(
        "e2e/chat.e2e.mjs",
        vec![
            ("CHAT_BIN", chat_example().display().to_string()),
            ("ARTIFACTS_DIR", artifacts.display().to_string()),
        ],
    )
    .await;
    for shot in ["chat-a", "chat-b", "chat-a-reconnecting", "chat-a-recovered"] {
        assert!(
            artifacts.join(format!("{shot}.png")).is_file(),
            "no screenshot {shot}.png"
        );
    }
}
