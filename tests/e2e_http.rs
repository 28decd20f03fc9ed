//! HTTP over a real socket: jsonrpsee's HttpClient and a raw hyper client
//! against a server on 127.0.0.1:0.

mod common;

use bytes::Bytes;
use channels_rpc::{rpc_method, Scope, Server, ServerConfig, ServerHandle, StatusMapping, Value};
use common::Everyone;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonrpsee_core::client::{BatchResponse, ClientT};
use jsonrpsee_core::params::BatchRequestBuilder;
use jsonrpsee_core::rpc_params;
use jsonrpsee_http_client::HttpClientBuilder;
use serde_json::json;

/// What the scope says of this request.
#[rpc_method]
fn scope_info(scope: &Scope) -> Value {
    json!({
        "path": scope.path(),
        "query": scope.query(),
        "user": scope.header("x-user"),
        "session": scope.cookie("session"),
        "peer_is_loopback": scope.peer().is_some_and(|p| p.ip().is_loopback()),
    })
}

async fn start(config: ServerConfig) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .config(config)
        .http("/rpc/", Everyone::app())
        .websocket("/ws/", Everyone::app())
        .listen()
        .await
        .expect("bind 127.0.0.1:0")
        .spawn()
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

async fn raw(
    server: &ServerHandle,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{}{}", server.local_addr(), path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(body.into())).unwrap())
        .await
        .expect("a response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer { status, headers, body }
}

/// POSTs `body` to /rpc/ with no extra headers.
async fn post(server: &ServerHandle, body: &'static str) -> Answer {
    raw(server, "POST", "/rpc/", &[], body).await
}

#[tokio::test]
async fn jsonrpsee_http_client_calls() {
    let server = start(ServerConfig::default()).await;
    let client = HttpClientBuilder::default()
        .build(format!("http://{}/rpc/", server.local_addr()))
        .unwrap();
    let diff: i64 = client.request("subtract", rpc_params![42, 23]).await.unwrap();
    assert_eq!(diff, 19);
    let sum: i64 = client.request("add", rpc_params![2, 3]).await.unwrap();
    assert_eq!(sum, 5);
    let echoed: Value = client
        .request("echo", rpc_params![json!({"nested": [1, "two", null]})])
        .await
        .unwrap();
    assert_eq!(echoed, json!({"nested": [1, "two", null]}));
    let mirrored: Value = client
        .request("geometry.mirror", rpc_params![json!({"x": 1.5, "y": 2})])
        .await
        .unwrap();
    assert_eq!(mirrored, json!({"x": -1.5, "y": -2.0}));

    let missing = client.request::<Value, _>("nope", rpc_params![]).await.unwrap_err();
    assert!(missing.to_string().contains("Method not found"), "{missing}");
    let bad = client
        .request::<Value, _>("subtract", rpc_params![1, "x"])
        .await
        .unwrap_err();
    assert!(
        bad.to_string().contains("Invalid params") && bad.to_string().contains("parameter `subtrahend`"),
        "{bad}"
    );
    let boom = client.request::<Value, _>("boom", rpc_params![]).await.unwrap_err();
    assert!(
        boom.to_string().contains("Internal error") && !boom.to_string().contains("secret"),
        "{boom}"
    );
    client.notification("update", rpc_params![1, 2]).await.unwrap();

    let mut batch = BatchRequestBuilder::new();
    batch.insert("subtract", rpc_params![10, 3]).unwrap();
    batch.insert("subtract", rpc_params![3, 10]).unwrap();
    batch.insert("nope", rpc_params![]).unwrap();
    let answers: BatchResponse<i64> = client.batch_request(batch).await.unwrap();
    assert_eq!(answers.num_successful_calls(), 2);
    assert_eq!(answers.num_failed_calls(), 1);
    let ok: Vec<i64> = answers.into_iter().filter_map(Result::ok).collect();
    assert_eq!(ok, [7, -7], "answers come back in request order, matched by id");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn status_codes_and_headers() {
    let server = start(ServerConfig::default()).await;
    let get = raw(&server, "GET", "/rpc/", &[], "").await;
    assert_eq!(get.status, 405);
    assert_eq!(get.headers["allow"], "POST");

    let call = post(&server, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await;
    assert_eq!(call.status, 200);
    assert_eq!(call.headers["content-type"], "application/json");
    assert_eq!(
        call.body,
        Bytes::from_static(br#"{"jsonrpc":"2.0","result":"pong","id":1}"#)
    );

    let notification = post(&server, r#"{"jsonrpc":"2.0","method":"ping"}"#).await;
    assert_eq!((notification.status, notification.body.len()), (204, 0));
    let notifications = post(&server, r#"[{"jsonrpc":"2.0","method":"ping"}]"#).await;
    assert_eq!((notifications.status, notifications.body.len()), (204, 0));

    let parse_error = raw(&server, "POST", "/rpc/", &[], "{oops").await;
    assert_eq!(parse_error.status, 200);
    assert_eq!(parse_error.json()["error"]["code"], -32700);
    let not_found = post(&server, r#"{"jsonrpc":"2.0","method":"nope","id":1}"#).await;
    assert_eq!(
        (not_found.status, not_found.json()["error"]["code"].clone()),
        (200, json!(-32601))
    );

    let v1 = post(&server, r#"{"method":"nope","params":[],"id":1}"#).await;
    assert_eq!(v1.status, 404);
    assert_eq!(
        v1.json(),
        json!({"result": null, "error": {"code": -32601, "message": "Method not found", "data": "nope"}, "id": 1})
    );

    let ws_only = post(&server, r#"{"jsonrpc":"2.0","method":"ws.only","id":1}"#).await;
    assert_eq!(ws_only.json()["error"]["code"], -32601);
    let unknown_path = raw(&server, "POST", "/nowhere", &[], "{}").await;
    assert_eq!(unknown_path.status, 404);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn draft_status_mapping_option() {
    let server = start(
        ServerConfig::builder()
            .status_mapping(StatusMapping::Draft)
            .build()
            .unwrap(),
    )
    .await;
    let not_found = post(&server, r#"{"jsonrpc":"2.0","method":"nope","id":1}"#).await;
    assert_eq!(not_found.status, 404);
    let app_error = post(
        &server,
        r#"{"jsonrpc":"2.0","method":"parse_int","params":["nope"],"id":1}"#,
    )
    .await;
    assert_eq!(app_error.status, 500);
    assert_eq!(app_error.json()["error"]["code"], -32000);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn body_limit_answers_413_and_the_server_goes_on() {
    let limits = channels_rpc::Limits::default().max_message_size(1024);
    let server = start(ServerConfig::builder().limits(limits).build().unwrap()).await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        "x".repeat(4096)
    );
    let answer = raw(&server, "POST", "/rpc/", &[], big).await;
    assert_eq!(answer.status, 413);
    let small = post(&server, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await;
    assert_eq!(small.json()["result"], "pong");
    server.shutdown().await.unwrap();
}

/// POSTs `chunks` as a chunked body (no Content-Length), one frame each.
async fn post_chunked(server: &ServerHandle, chunks: Vec<String>) -> Answer {
    type Chunk = Result<hyper::body::Frame<Bytes>, std::convert::Infallible>;
    let frames: Vec<Chunk> = chunks
        .into_iter()
        .map(|chunk| Ok(hyper::body::Frame::data(Bytes::from(chunk))))
        .collect();
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
    let client = Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::post(format!("http://{}/rpc/", server.local_addr()))
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let response = client.request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer { status, headers, body }
}

#[tokio::test]
async fn a_chunked_body_is_read_whole_and_held_to_the_limit() {
    let limits = channels_rpc::Limits::default().max_message_size(1024);
    let server = start(ServerConfig::builder().limits(limits).build().unwrap()).await;
    let text = "y".repeat(300);
    let request = format!(r#"{{"jsonrpc":"2.0","method":"echo","params":["{text}"],"id":7}}"#);
    let (first, rest) = request.split_at(100);
    let (second, third) = rest.split_at(150);
    let joined = post_chunked(&server, vec![first.into(), second.into(), third.into()]).await;
    assert_eq!(joined.status, 200);
    assert_eq!(joined.json(), json!({"jsonrpc": "2.0", "result": text, "id": 7}));
    // Four chunks of 400 bytes: no length declared, so only the reading
    // finds the body too large.
    let over = post_chunked(&server, vec!["x".repeat(400); 4]).await;
    assert_eq!(over.status, 413);
    let small = post(&server, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await;
    assert_eq!(small.json()["result"], "pong");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn scope_carries_path_query_headers_cookies_and_peer() {
    let server = start(ServerConfig::default()).await;
    let headers = [("x-user", "alice"), ("cookie", "theme=dark; session=s3cr3t")];
    let answer = raw(
        &server,
        "POST",
        "/rpc/?room=7",
        &headers,
        r#"{"jsonrpc":"2.0","method":"scope_info","id":1}"#,
    )
    .await;
    assert_eq!(
        answer.json()["result"],
        json!({"path": "/rpc/", "query": "room=7", "user": "alice", "session": "s3cr3t", "peer_is_loopback": true})
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_bodies_get_errors_and_keep_alive_stays_usable() {
    let server = start(ServerConfig::default()).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let url = format!("http://{}/rpc/", server.local_addr());
    for (body, code) in [
        (&b"\xff\xfe"[..], -32700),
        (b"[]", -32600),
        (b"42", -32600),
        (br#"{"jsonrpc":"2.0","method":"subtract","params":[1],"id":1}"#, -32602),
        (br#"{"jsonrpc":"2.0","method":"ping","id":1}"#, 0),
    ] {
        let request = http::Request::post(&url)
            .body(Full::new(Bytes::from_static(body)))
            .unwrap();
        let response = client.request(request).await.unwrap();
        let value: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
        if code == 0 {
            assert_eq!(value["result"], "pong");
        } else {
            assert_eq!(value["error"]["code"], code, "{value}");
        }
    }
    server.shutdown().await.unwrap();
}

/// A CORS preflight from `origin` asking for `method` (and `headers`).
async fn send_preflight(server: &ServerHandle, origin: &str, method: &str, headers: Option<&str>) -> Answer {
    let mut request = vec![("origin", origin), ("access-control-request-method", method)];
    if let Some(headers) = headers {
        request.push(("access-control-request-headers", headers));
    }
    raw(server, "OPTIONS", "/rpc/", &request, "").await
}

fn cors_config(cors: channels_rpc::Cors) -> ServerConfig {
    ServerConfig::builder().cors(cors).build().unwrap()
}

/// The values of every `name` header, split at commas, lowercased.
fn header_tokens(headers: &http::HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn cors_preflight_and_allowed_origins() {
    let cors = channels_rpc::Cors::origins(["https://app.example"]).unwrap();
    let server = start(cors_config(cors)).await;
    let preflight = send_preflight(&server, "https://app.example", "POST", Some("content-type")).await;
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.headers["access-control-allow-origin"], "https://app.example");
    assert_eq!(preflight.headers["access-control-allow-methods"], "POST");
    assert_eq!(preflight.headers["access-control-allow-headers"], "content-type");
    assert_eq!(preflight.headers["access-control-max-age"], "600");
    assert!(!preflight.headers.contains_key("access-control-allow-credentials"));
    let call = raw(
        &server,
        "POST",
        "/rpc/",
        &[("origin", "https://app.example")],
        r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
    )
    .await;
    assert_eq!(call.headers["access-control-allow-origin"], "https://app.example");
    assert_eq!(call.json()["result"], "pong");
    let stranger = raw(
        &server,
        "POST",
        "/rpc/",
        &[("origin", "https://evil.example")],
        r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
    )
    .await;
    assert!(!stranger.headers.contains_key("access-control-allow-origin"));
    assert_eq!(
        stranger.json()["result"],
        "pong",
        "the call itself is answered; the browser enforces CORS"
    );
    // Errors of the transport carry the headers too: a browser can read them.
    let get = raw(&server, "GET", "/rpc/", &[("origin", "https://app.example")], "").await;
    assert_eq!(get.status, 405);
    assert_eq!(get.headers["access-control-allow-origin"], "https://app.example");
    // Without CORS configured there is no preflight: OPTIONS is not allowed.
    let plain_server = start(ServerConfig::default()).await;
    let options = send_preflight(&plain_server, "https://app.example", "POST", None).await;
    assert_eq!(options.status, 405);
    assert!(!options.headers.contains_key("access-control-allow-origin"));
    assert!(!options.headers.contains_key("vary"));
    server.shutdown().await.unwrap();
    plain_server.shutdown().await.unwrap();
}

#[tokio::test]
async fn cors_preflight_allows_post_only_and_never_mirrors_headers() {
    let server = start(cors_config(channels_rpc::Cors::any())).await;
    let delete = send_preflight(&server, "https://app.example", "DELETE", None).await;
    assert_eq!(delete.status, 403, "a preflight for DELETE is refused");
    assert!(!delete.headers.contains_key("access-control-allow-origin"));
    assert!(!delete.headers.contains_key("access-control-allow-methods"));
    let post = send_preflight(&server, "https://app.example", "POST", Some("x-evil, content-type")).await;
    assert_eq!(post.status, 200);
    assert_eq!(post.headers["access-control-allow-origin"], "*");
    assert_eq!(
        post.headers["access-control-allow-headers"], "content-type",
        "requested headers are not mirrored"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn cors_credentials_are_opt_in() {
    let origin = "https://app.example";
    let call = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    let without = start(cors_config(channels_rpc::Cors::origins([origin]).unwrap())).await;
    let answer = raw(&without, "POST", "/rpc/", &[("origin", origin)], call).await;
    assert!(!answer.headers.contains_key("access-control-allow-credentials"));
    let with = channels_rpc::Cors::origins([origin])
        .unwrap()
        .allow_credentials(true)
        .allow_headers(["content-type", "authorization"])
        .unwrap();
    let with = start(cors_config(with)).await;
    let answer = raw(&with, "POST", "/rpc/", &[("origin", origin)], call).await;
    assert_eq!(answer.headers["access-control-allow-credentials"], "true");
    assert_eq!(answer.headers["access-control-allow-origin"], origin);
    let preflight = send_preflight(&with, origin, "POST", None).await;
    assert_eq!(preflight.headers["access-control-allow-credentials"], "true");
    assert_eq!(
        header_tokens(&preflight.headers, "access-control-allow-headers"),
        ["content-type", "authorization"]
    );
    without.shutdown().await.unwrap();
    with.shutdown().await.unwrap();
}

#[tokio::test]
async fn cors_vary_lists_what_the_answer_depends_on() {
    let server = start(cors_config(
        channels_rpc::Cors::origins(["https://app.example"]).unwrap(),
    ))
    .await;
    let call = raw(
        &server,
        "POST",
        "/rpc/",
        &[("origin", "https://other.example")],
        r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
    )
    .await;
    // Only the origin changes the answer (methods and headers are fixed).
    assert_eq!(header_tokens(&call.headers, "vary"), ["origin"]);
    let preflight = send_preflight(&server, "https://app.example", "POST", None).await;
    assert_eq!(header_tokens(&preflight.headers, "vary"), ["origin"]);
    server.shutdown().await.unwrap();
    // With any origin allowed, the answer depends on nothing.
    let any = start(cors_config(channels_rpc::Cors::any())).await;
    let call = raw(
        &any,
        "POST",
        "/rpc/",
        &[("origin", "https://other.example")],
        r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
    )
    .await;
    assert_eq!(call.headers["access-control-allow-origin"], "*");
    assert!(header_tokens(&call.headers, "vary").is_empty());
    any.shutdown().await.unwrap();
}

#[test]
fn cors_misconfiguration_is_an_error() {
    use channels_rpc::Cors;
    for bad in [
        "app.example",
        "https://app.example/",
        "https://app.example/rpc",
        "*",
        "ftp://x.example",
    ] {
        let err = Cors::origins(["https://ok.example", bad]).expect_err(bad);
        assert!(err.to_string().contains(bad), "{err}");
    }
    let credentials_for_all = ServerConfig::builder()
        .cors(Cors::any().allow_credentials(true))
        .build();
    assert_eq!(credentials_for_all.unwrap_err().setting(), "cors");
    assert!(Cors::any().allow_headers(["not a header"]).is_err());
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections_at_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = start(ServerConfig::default()).await;
    let mut socket = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    let body = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    let request = format!(
        "POST /rpc/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let n = socket.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).contains(r#""result":"pong""#));

    // The connection now idles between requests. Shutdown must wake it and
    // close it, not wait out the shutdown timeout (10 s by default).
    let started = std::time::Instant::now();
    tokio::time::timeout(std::time::Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown did not wait for the idle connection")
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let closed = socket.read(&mut answer).await.unwrap_or(0);
    assert_eq!(closed, 0, "the server closed the connection");
}
