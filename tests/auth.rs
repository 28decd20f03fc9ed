//! The authentication pattern of `examples/auth.rs`, end to end: the
//! example's own consumer, hook, guards and methods served on 127.0.0.1:0,
//! called by real clients (tokio-tungstenite, hyper, jsonrpsee's HTTP
//! client). A right token or session cookie lets the caller in and methods
//! receive the user; a wrong or missing one is a 401 handshake or HTTP 401;
//! a non-admin calling an admin method gets what an unknown method gets and
//! does not see it in `rpc.discover`; a guard's own error reaches the client.

mod common;
#[allow(dead_code)]
#[path = "../examples/auth.rs"]
mod example;

use std::net::SocketAddr;

use bytes::Bytes;
use common::ws::{call, connect_to};
use http_body_util::{BodyExt, Full};
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::rpc_params;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use channels_rpc::{Server, ServerHandle};
use example::Api;

const ALICE: &str = "Bearer alice-demo-token";
const ROOT: &str = "Bearer root-demo-token";

async fn serve() -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .websocket("/ws/", Api::app())
        .http("/rpc/", Api::app())
        .listen()
        .await
        .expect("bind 127.0.0.1:0")
        .spawn()
}

/// POSTs `body` to /rpc/ with `headers` through hyper's client: status,
/// `WWW-Authenticate` and body.
async fn post(addr: SocketAddr, headers: &[(&str, &str)], body: &str) -> (u16, Option<String>, String) {
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::post(format!("http://{addr}/rpc/")).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
        .await
        .expect("a response");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.expect("a body").to_bytes();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

/// The handshake's answer status when it is refused.
async fn refused_handshake(addr: SocketAddr, headers: &[(&'static str, &str)]) -> (u16, Option<String>) {
    let mut request = format!("ws://{addr}/ws/").into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (
            response.status().as_u16(),
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned()),
        ),
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
    }
}

fn request(method: &str, id: u32) -> String {
    json!({"jsonrpc": "2.0", "method": method, "id": id}).to_string()
}

fn method_names(reply: &Value) -> Vec<&str> {
    reply["result"]["methods"]
        .as_array()
        .expect("an OpenRPC document")
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_refused_with_401() {
    let server = serve().await;
    let addr = server.local_addr();
    let whoami = request("whoami", 1);
    let bearer = Some("Bearer".to_owned());
    for headers in [
        vec![],
        vec![("authorization", "Bearer guess")],
        vec![("authorization", "Basic YWxpY2U6cHc=")],
        vec![("cookie", "session=guess")],
    ] {
        let (status, challenge, _) = post(addr, &headers, &whoami).await;
        assert_eq!((status, &challenge), (401, &bearer), "HTTP {headers:?}");
        assert_eq!(
            refused_handshake(addr, &headers).await,
            (401, bearer.clone()),
            "WebSocket {headers:?}"
        );
    }
    server.shutdown().await.expect("a clean shutdown");
}

#[tokio::test]
async fn a_token_or_a_session_cookie_lets_the_user_in_and_methods_receive_it() {
    let server = serve().await;
    let addr = server.local_addr();

    // HTTP, through jsonrpsee's client with the bearer token.
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", ALICE.parse().unwrap());
    let client = jsonrpsee_http_client::HttpClientBuilder::default()
        .set_headers(headers)
        .build(format!("http://{addr}/rpc/"))
        .expect("a client");
    let name: String = client.request("whoami", rpc_params![]).await.expect("an answer");
    assert_eq!(name, "alice");

    // HTTP with the session cookie: each request runs the connect hook.
    let (status, _, body) = post(
        addr,
        &[("cookie", "theme=dark; session=root-demo-session")],
        &request("whoami", 2),
    )
    .await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()["result"].clone()),
        (200, json!("root"))
    );

    // WebSocket, both ways.
    let mut socket = connect_to(addr, "/ws/", &[("authorization", ROOT)]).await;
    assert_eq!(call(&mut socket, &request("whoami", 3)).await["result"], "root");
    let mut socket = connect_to(addr, "/ws/", &[("cookie", "session=alice-demo-session")]).await;
    assert_eq!(call(&mut socket, &request("whoami", 4)).await["result"], "alice");
    server.shutdown().await.expect("a clean shutdown");
}

#[tokio::test]
async fn a_user_without_the_role_sees_admin_methods_as_missing() {
    let server = serve().await;
    let addr = server.local_addr();
    let mut alice = connect_to(addr, "/ws/", &[("authorization", ALICE)]).await;
    let mut root = connect_to(addr, "/ws/", &[("authorization", ROOT)]).await;

    for method in ["admin.users", "admin.rotate_keys"] {
        // The same bytes as a name that exists nowhere, but for the name itself (the error's data).
        let unknown_name = format!("{method}_nowhere");
        for (denied, unknown) in [
            (
                call(&mut alice, &request(method, 5)).await,
                call(&mut alice, &request(&unknown_name, 5)).await,
            ),
            (
                serde_json::from_str(&post(addr, &[("authorization", ALICE)], &request(method, 5)).await.2).unwrap(),
                serde_json::from_str(
                    &post(addr, &[("authorization", ALICE)], &request(&unknown_name, 5))
                        .await
                        .2,
                )
                .unwrap(),
            ),
        ] {
            let unknown = serde_json::to_string(&unknown).unwrap().replace(&unknown_name, method);
            assert_eq!(serde_json::to_string(&denied).unwrap(), unknown, "{method}");
            assert_eq!(denied["error"]["code"], -32601);
        }
    }
    // JSON-RPC 1.0 over HTTP maps -32601 to 404, the same for both.
    let v1 = |method: &str| format!(r#"{{"method":"{method}","params":[],"id":1}}"#);
    let (denied_status, _, _) = post(addr, &[("authorization", ALICE)], &v1("admin.users")).await;
    let (unknown_status, _, _) = post(addr, &[("authorization", ALICE)], &v1("admin.nowhere")).await;
    assert_eq!((denied_status, unknown_status), (404, 404));

    // The admin gets the answers.
    let users = call(&mut root, &request("admin.users", 6)).await;
    assert_eq!(users["result"], json!(["alice", "root"]));
    let rotated = call(&mut root, &request("admin.rotate_keys", 7)).await;
    assert_eq!(rotated["result"], "keys rotated by root");

    // rpc.discover: absent for alice, present for root.
    let discover = request("rpc.discover", 8);
    assert_eq!(method_names(&call(&mut alice, &discover).await), ["whoami"]);
    assert_eq!(
        method_names(&call(&mut root, &discover).await),
        ["admin.rotate_keys", "admin.users", "whoami"]
    );
    server.shutdown().await.expect("a clean shutdown");
}

#[tokio::test]
async fn a_guard_that_gives_its_own_error_reaches_the_client() {
    let server = serve().await;
    let addr = server.local_addr();
    // An admin on a session cookie: admin_with_token says what to do.
    let mut socket = connect_to(addr, "/ws/", &[("cookie", "session=root-demo-session")]).await;
    let reply = call(&mut socket, &request("admin.rotate_keys", 9)).await;
    assert_eq!(
        reply,
        json!({"jsonrpc": "2.0", "error": {"code": -32003, "message": "Forbidden", "data": "this method needs a bearer token, not a session cookie"}, "id": 9})
    );
    // Through jsonrpsee's HTTP client, as its error object.
    let mut headers = http::HeaderMap::new();
    headers.insert("cookie", "session=root-demo-session".parse().unwrap());
    let client = jsonrpsee_http_client::HttpClientBuilder::default()
        .set_headers(headers)
        .build(format!("http://{addr}/rpc/"))
        .expect("a client");
    let error = client
        .request::<String, _>("admin.rotate_keys", rpc_params![])
        .await
        .expect_err("refused by the guard");
    match error {
        jsonrpsee_core::ClientError::Call(object) => {
            assert_eq!((object.code(), object.message()), (-32003, "Forbidden"));
        }
        other => panic!("expected the guard's error, got {other:?}"),
    }
    server.shutdown().await.expect("a clean shutdown");
}
