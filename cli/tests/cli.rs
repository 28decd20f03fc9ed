//! The built `channels-rpc` binary against our server (spec-methods) and
//! jsonrpsee's: output, exit codes, headers, timeouts, listen and discover.

#[path = "../../client/tests/common/mod.rs"]
mod common;

use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const BIN: &str = env!("CARGO_BIN_EXE_channels-rpc");

async fn run(args: &[&str]) -> Output {
    let run = Command::new(BIN).args(args).output();
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the command ends")
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs and expects exit 0; stdout as JSON.
async fn ok_json(args: &[&str]) -> Value {
    let output = run(args).await;
    assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&output)))
}

/// Runs and expects exit `code` with nothing on stdout; stderr.
async fn fails(code: i32, args: &[&str]) -> String {
    let output = run(args).await;
    assert_eq!(output.status.code(), Some(code), "{args:?}: {}", stderr(&output));
    assert_eq!(stdout(&output), "", "{args:?}");
    stderr(&output)
}

/// `listen` running, with its stdout read line by line.
struct Listener {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Listener {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("listen")
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, lines }
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("a line within 10 s")
            .unwrap()
            .expect("a line before the end");
        serde_json::from_str(&line).unwrap()
    }
}

#[tokio::test]
async fn call_prints_the_result_over_both_transports() {
    let server = common::ours().await;
    let (http, ws) = common::urls(&server);
    for url in [&http, &ws] {
        assert_eq!(ok_json(&["call", url, "add", "[2, 3]"]).await, json!(5), "{url}");
        assert_eq!(
            ok_json(&["call", url, "greet", r#"{"name": "Ada"}"#]).await,
            json!("Hello, Ada!")
        );
        assert_eq!(ok_json(&["call", url, "ping"]).await, json!("pong"));
        assert_eq!(
            ok_json(&[
                "--header",
                "Authorization: Bearer s3cret",
                "call",
                url,
                "test.authorization"
            ])
            .await,
            json!("Bearer s3cret")
        );
        assert_eq!(
            ok_json(&["call", url, "test.authorization", "-H", "authorization:x"]).await,
            json!("x")
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn each_kind_of_failure_has_its_exit_code() {
    let server = common::ours().await;
    let (http, ws) = common::urls(&server);
    for url in [&http, &ws] {
        let error: Value = serde_json::from_str(&fails(1, &["call", url, "no.such"]).await).unwrap();
        assert_eq!(error["code"], -32601, "{url}: {error}");
        let error: Value = serde_json::from_str(&fails(1, &["call", url, "parse_int", r#"["x"]"#]).await).unwrap();
        assert_eq!(error["code"], -32000);
        assert!(error["data"].is_array(), "{error}");
        fails(2, &["call", url, "add", "[2,"]).await;
        fails(2, &["call", url, "add", "5"]).await;
        fails(2, &["--header", "no colon", "call", url, "ping"]).await;
        fails(2, &["--timeout", "soon", "call", url, "ping"]).await;
        for timeout in ["200ms", "0.2"] {
            let late = fails(4, &["--timeout", timeout, "call", url, "slow", "[3000]"]).await;
            assert!(late.contains("no answer within"), "{late}");
        }
    }
    fails(2, &["call", "https://127.0.0.1:1/", "ping"]).await;
    fails(2, &["call", &http]).await;
    fails(2, &["listen", &http]).await;
    server.shutdown().await.unwrap();
    let refused = fails(3, &["call", &http, "ping"]).await;
    assert!(refused.contains("Connection refused"), "{refused}");
    fails(3, &["call", &ws, "ping"]).await;
}

#[tokio::test]
async fn listen_prints_what_notify_sends_to_the_room_until_the_server_closes() {
    let server = common::ours().await;
    let (http, ws) = common::urls(&server);
    let mut listener = Listener::start(&[&ws, "--call", "join", r#"["room"]"#]);
    // The listener joins before it reads; say until it has.
    let mut got = None;
    for attempt in 0..50 {
        let text = format!("hi {attempt}");
        let url = if attempt % 2 == 0 { &http } else { &ws };
        let said = run(&["notify", url, "say", &json!(["room", text]).to_string()]).await;
        assert_eq!(said.status.code(), Some(0), "{}", stderr(&said));
        if let Ok(line) = tokio::time::timeout(Duration::from_millis(200), listener.next()).await {
            got = Some(line);
            break;
        }
    }
    let line = got.expect("the listener heard the room");
    assert_eq!(line["method"], "chat.message");
    assert_eq!(line["params"]["room"], "room");
    // Over HTTP the notification has reached the server when `notify` ends
    // (over ws:// the server may drop it when the CLI closes right after it).
    let said = run(&["notify", &http, "say", r#"["room", "last"]"#]).await;
    assert!(said.status.success());
    loop {
        let line = listener.next().await;
        if line["params"]["text"] == "last" {
            break;
        }
    }
    server.shutdown().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), listener.child.wait())
        .await
        .expect("listen ends when the server closes")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn discover_prints_a_table_of_methods_and_params() {
    let server = common::ours().await;
    let (http, ws) = common::urls(&server);
    for url in [&http, &ws] {
        let output = run(&["discover", url]).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let table = stdout(&output);
        let header = table.lines().find(|l| l.starts_with("METHOD")).expect("a header row");
        assert!(header.contains("KIND") && header.contains("PARAMS"), "{table}");
        let row = |name: &str| {
            table
                .lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap_or_else(|| panic!("no row for {name}:\n{table}"))
                .to_owned()
        };
        let add = row("add");
        assert!(
            add.contains("method") && add.contains("a: integer, b: integer") && add.contains("Adds two numbers."),
            "{add}"
        );
        assert!(row("greet").contains("name: string, greeting?"), "{table}");
        assert!(row("notify_hello").contains("notification"), "{table}");
        let has_ask_client = table.lines().any(|l| l.starts_with("ask_client "));
        assert_eq!(has_ask_client, url == &ws, "ask_client is WebSocket only:\n{table}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn it_works_against_jsonrpsee() {
    let (addr, server) = common::jsonrpsee().await;
    for url in [format!("http://{addr}/"), format!("ws://{addr}/")] {
        assert_eq!(ok_json(&["call", &url, "add", "[2, 3]"]).await, json!(5), "{url}");
        assert_eq!(ok_json(&["call", &url, "add", r#"{"a": 1, "b": 2}"#]).await, json!(3));
        let error: Value = serde_json::from_str(&fails(1, &["call", &url, "fail"]).await).unwrap();
        assert_eq!(
            error,
            json!({"code": 4000, "message": "it failed", "data": {"why": "asked to"}})
        );
        // jsonrpsee has no rpc.discover.
        let error: Value = serde_json::from_str(&fails(1, &["discover", &url]).await).unwrap();
        assert_eq!(error["code"], -32601);
        fails(4, &["--timeout", "200ms", "call", &url, "sleep", "[3000]"]).await;
        let notified = run(&["notify", &url, "add", "[1, 2]"]).await;
        assert_eq!(notified.status.code(), Some(0), "{}", stderr(&notified));
    }
    let mut listener = Listener::start(&[&format!("ws://{addr}/"), "--call", "subscribe_ticks", "[3]"]);
    for tick in 0..3 {
        let line = listener.next().await;
        assert_eq!(line["method"], "ticks");
        assert_eq!(line["params"]["result"], tick);
    }
    listener.child.kill().await.unwrap();
    server.stop().unwrap();
}
