//! Server-to-client calls over real WebSockets: `ask_client` (spec-methods)
//! calls the calling client, which answers with a raw tungstenite client and
//! with Python's `websockets`; bad answers (none, twice, unknown ids, errors)
//! and the bounds (timeout, pending calls, connection end).

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use channels_rpc::{rpc_method, ClientCallError, ConnectionHandle, RpcContext, ServerConfig};
use common::server::start;
use common::ws::{call, connect_to, next_json, next_json_within, Socket};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// How many of this connection's calls to its client wait for an answer.
#[rpc_method]
fn pending_calls(ctx: &RpcContext) -> usize {
    ctx.handle().map_or(0, ConnectionHandle::pending_client_calls)
}

/// The handle of the last connection that called `keep_handle`.
static KEPT: Mutex<Option<ConnectionHandle>> = Mutex::new(None);

/// Keeps this connection's handle for the test to call its client from outside.
#[rpc_method]
fn keep_handle(ctx: &RpcContext) -> bool {
    *KEPT.lock().unwrap() = ctx.handle().cloned();
    true
}

async fn send(socket: &mut Socket, value: Value) {
    socket.send(Message::text(value.to_string())).await.unwrap();
}

/// Calls `ask_client(method, params)` with id `id`; returns the server's request that follows.
async fn ask(socket: &mut Socket, id: &str, params: Value) -> Value {
    send(
        socket,
        json!({"jsonrpc": "2.0", "method": "ask_client", "params": params, "id": id}),
    )
    .await;
    let request = next_json(socket).await;
    assert_eq!(request["jsonrpc"], "2.0", "{request}");
    assert!(request["id"].is_u64(), "the server chose a numeric id: {request}");
    request
}

#[tokio::test]
async fn ask_client_returns_the_clients_result_by_position_and_by_name() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;

    let request = ask(&mut socket, "a", json!(["confirm", ["sure?"]])).await;
    assert_eq!(request["method"], "confirm");
    assert_eq!(request["params"], json!(["sure?"]));
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "result": {"yes": true}, "id": request["id"]}),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": {"yes": true}, "id": "a"})
    );

    let request = ask(&mut socket, "b", json!({"method": "pick", "params": {"from": [1, 2]}})).await;
    assert_eq!(request["method"], "pick");
    assert_eq!(request["params"], json!({"from": [1, 2]}));
    send(&mut socket, json!({"jsonrpc": "2.0", "result": 2, "id": request["id"]})).await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": 2, "id": "b"})
    );

    // `params` omitted: an empty array.
    let request = ask(&mut socket, "c", json!({"method": "now"})).await;
    assert_eq!(request["params"], json!([]));
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "result": null, "id": request["id"]}),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": null, "id": "c"})
    );
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"pending_calls","id":0}"#).await["result"],
        0
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_clients_own_requests_are_answered_while_a_server_call_waits() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let request = ask(&mut socket, "outer", json!(["confirm", ["sure?"]])).await;
    // The client, before answering, calls the server itself, with the same id
    // the server chose: requests and responses are told apart by `method`.
    let own = json!({"jsonrpc": "2.0", "method": "add", "params": [2, 3], "id": request["id"]});
    send(&mut socket, own).await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": 5, "id": request["id"]})
    );
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"pending_calls","id":0}"#).await["result"],
        1
    );
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "result": "ok", "id": request["id"]}),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": "ok", "id": "outer"})
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_clients_error_is_the_answer() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let request = ask(&mut socket, "e", json!(["confirm", ["sure?"]])).await;
    let error = json!({"code": 4001, "message": "user said no", "data": {"why": "busy"}});
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "error": error, "id": request["id"]}),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "error": error, "id": "e"})
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn no_answer_times_out_and_late_repeated_or_unknown_answers_are_ignored() {
    let config = ServerConfig::builder()
        .client_call_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let server = start(config).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let request = ask(&mut socket, "t", json!(["confirm", ["sure?"]])).await;
    let started = Instant::now();
    let reply = next_json(&mut socket).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(reply["id"], "t");
    assert_eq!(reply["error"]["code"], -32000, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer within"),
        "{reply}"
    );
    // Late, unknown and malformed-id answers: nothing comes back, nothing is kept.
    for late in [
        json!({"jsonrpc": "2.0", "result": true, "id": request["id"]}),
        json!({"jsonrpc": "2.0", "result": true, "id": 987_654}),
        json!({"jsonrpc": "2.0", "error": {"code": 1, "message": "x"}, "id": "not ours"}),
    ] {
        send(&mut socket, late).await;
    }
    assert_eq!(next_json_within(&mut socket, Duration::from_millis(300)).await, None);

    // Answered twice: the first answer counts, the second is ignored.
    let request = ask(&mut socket, "twice", json!(["confirm", []])).await;
    for result in [1, 2] {
        send(
            &mut socket,
            json!({"jsonrpc": "2.0", "result": result, "id": request["id"]}),
        )
        .await;
    }
    assert_eq!(
        next_json(&mut socket).await,
        json!({"jsonrpc": "2.0", "result": 1, "id": "twice"})
    );
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"pending_calls","id":0}"#).await["result"],
        0
    );

    // A message that is neither a request nor a response still gets -32600.
    let reply = call(&mut socket, r#"{"jsonrpc":"2.0","id":5}"#).await;
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn calls_past_the_bound_fail_at_once() {
    let config = ServerConfig::builder().max_client_calls(2).build().unwrap();
    let server = start(config).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let first = ask(&mut socket, "1", json!(["confirm", [1]])).await;
    let second = ask(&mut socket, "2", json!(["confirm", [2]])).await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "method": "ask_client", "params": ["confirm", [3]], "id": "3"}),
    )
    .await;
    let refused = next_json(&mut socket).await;
    assert_eq!(refused["id"], "3", "{refused}");
    assert!(
        refused["error"]["message"].as_str().unwrap().contains("at most 2"),
        "{refused}"
    );
    for (request, id) in [(&first, "1"), (&second, "2")] {
        send(
            &mut socket,
            json!({"jsonrpc": "2.0", "result": id, "id": request["id"]}),
        )
        .await;
        assert_eq!(
            next_json(&mut socket).await,
            json!({"jsonrpc": "2.0", "result": id, "id": id})
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_handle_calls_its_client_and_fails_at_once_when_the_connection_ends() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    assert_eq!(
        call(&mut socket, r#"{"jsonrpc":"2.0","method":"keep_handle","id":0}"#).await["result"],
        true
    );
    let handle = KEPT.lock().unwrap().take().expect("kept");

    let waiting = tokio::spawn({
        let handle = handle.clone();
        async move { handle.call_client::<String, _>("name", &json!({"of": "you"})).await }
    });
    let request = next_json(&mut socket).await;
    assert_eq!(request["method"], "name");
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "result": "tungstenite", "id": request["id"]}),
    )
    .await;
    assert_eq!(waiting.await.unwrap(), Ok("tungstenite".to_owned()));

    // A result of the wrong type is an error, not a panic.
    let waiting = tokio::spawn({
        let handle = handle.clone();
        async move { handle.call_client::<u8, _>("count", &[0]).await }
    });
    let request = next_json(&mut socket).await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "result": "many", "id": request["id"]}),
    )
    .await;
    assert!(matches!(waiting.await.unwrap(), Err(ClientCallError::InvalidResult(_))));

    // The client leaves while a call waits (default timeout: 30 s).
    let waiting = tokio::spawn({
        let handle = handle.clone();
        async move { handle.call_client::<String, _>("name", &[0]).await }
    });
    let _ = next_json(&mut socket).await;
    let started = Instant::now();
    socket.close(None).await.unwrap();
    assert_eq!(waiting.await.unwrap(), Err(ClientCallError::Closed));
    assert!(started.elapsed() < Duration::from_secs(5), "failed at once");
    assert_eq!(handle.pending_client_calls(), 0);
    assert_eq!(
        handle.call_client::<String, _>("name", &[0]).await,
        Err(ClientCallError::Closed)
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_closing_fails_the_calls_waiting_for_it_and_the_connection_ends_at_once() {
    let server = start(ServerConfig::default()).await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    // `ask_client` runs among the connection's calls and waits for an answer
    // that will not come (the client-call timeout is 30 s, the time the
    // server gives a closing connection's calls 10 s).
    let _ = ask(&mut socket, "a", json!(["confirm", []])).await;
    let started = Instant::now();
    socket.close(None).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut socket).await {}
    })
    .await;
    assert!(ended.is_ok(), "the server ended the connection");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn over_http_ask_client_is_not_served() {
    let server = start(ServerConfig::default()).await;
    let client = jsonrpsee_http_client::HttpClientBuilder::default()
        .build(format!("http://{}/rpc/", server.local_addr()))
        .unwrap();
    use jsonrpsee_core::client::ClientT;
    let error = client
        .request::<Value, _>("ask_client", jsonrpsee_core::rpc_params!["confirm"])
        .await
        .expect_err("WebSocket only");
    assert!(error.to_string().contains("Method not found"), "{error}");
    server.shutdown().await.unwrap();
}

/// Python's `websockets` answers the server's call (tests/python/answer_server_calls.py).
#[cfg_attr(
    not(has_python_websockets),
    ignore = "needs python3 with websockets (pip install websockets; see .ci/run)"
)]
#[tokio::test]
async fn a_python_websockets_client_answers_the_servers_call() {
    let server = start(ServerConfig::default()).await;
    let url = format!("ws://{}/ws/", server.local_addr());
    let out = tokio::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/answer_server_calls.py"
        ))
        .arg(&url)
        .output()
        .await
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reply: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(
        reply,
        json!({"jsonrpc": "2.0", "result": "python says yes to sure?", "id": "py-1"})
    );
    server.shutdown().await.unwrap();
}
