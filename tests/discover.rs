//! `rpc.discover` over real sockets: the OpenRPC document of what the
//! consumer serves on the transport of the call, checked field by field, then
//! validated against the OpenRPC meta-schema and loaded with
//! `parseOpenRPCDocument` by the node script in `tests/openrpc`.

mod common;

use std::process::Command;

use channels_rpc::{rpc_method, rpc_notification, Consumer, Discovery, Server, ServerHandle, Transport, Value};
use common::ws::{call, connect_to};
use common::Everyone;
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::rpc_params;
use jsonrpsee_http_client::HttpClientBuilder;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A type that does not implement `JsonSchema`.
#[derive(Serialize, Deserialize)]
struct Opaque(u8);

/// Returns what it was given.
#[rpc_method]
fn opaque(thing: Opaque) -> Opaque {
    thing
}

/// A consumer whose `rpc.discover` is turned off.
#[derive(Consumer, Default)]
struct Silent;

/// Logs that `who` left.
///
/// Bound to `Silent`, so that `Everyone` does not list it.
#[rpc_notification("audit.left", consumer = Silent)]
fn left(who: String) {
    let _ = who;
}

async fn start() -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .http(
            "/rpc/",
            Everyone::app().discovery(Discovery::new().title("Spec").version("1.2.3")),
        )
        .websocket(
            "/ws/",
            Everyone::app().discovery(Discovery::new().title("Spec").version("1.2.3")),
        )
        .http("/silent/", Silent::app().discovery(Discovery::disabled()))
        .listen()
        .await
        .expect("bind 127.0.0.1:0")
        .spawn()
}

async fn discover_http(server: &ServerHandle) -> Value {
    let client = HttpClientBuilder::default()
        .build(format!("http://{}/rpc/", server.local_addr()))
        .unwrap();
    client
        .request("rpc.discover", rpc_params![])
        .await
        .expect("rpc.discover answers")
}

async fn discover_ws(server: &ServerHandle) -> Value {
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let reply = call(&mut socket, r#"{"jsonrpc":"2.0","method":"rpc.discover","id":"d"}"#).await;
    assert_eq!(reply["id"], "d", "{reply}");
    reply["result"].clone()
}

fn method<'a>(document: &'a Value, name: &str) -> &'a Value {
    document["methods"]
        .as_array()
        .expect("methods is an array")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed"))
}

fn names(document: &Value) -> Vec<&str> {
    document["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_document_describes_each_method_from_its_signature_and_doc_comment() {
    let server = start().await;
    let document = discover_http(&server).await;
    assert_eq!(document["openrpc"], "1.3.2");
    assert_eq!(document["info"], json!({"title": "Spec", "version": "1.2.3"}));

    let subtract = method(&document, "subtract");
    assert_eq!(
        subtract["summary"],
        "The specification's `subtract`, by position or by name."
    );
    assert_eq!(subtract["paramStructure"], "either");
    assert_eq!(
        subtract["params"],
        json!([
            {"name": "minuend", "required": true, "schema": {"type": "integer", "format": "int64"}},
            {"name": "subtrahend", "required": true, "schema": {"type": "integer", "format": "int64"}},
        ])
    );
    assert_eq!(
        subtract["result"],
        json!({"name": "result", "schema": {"type": "integer", "format": "int64"}})
    );

    // An `Option` parameter may be omitted.
    let greet = method(&document, "greet");
    assert_eq!(greet["params"][0]["required"], true);
    assert_eq!(greet["params"][1]["name"], "greeting");
    assert_eq!(greet["params"][1]["required"], false);

    // `Result<i64, RpcError>`: the result is the success type.
    assert_eq!(method(&document, "add")["result"]["schema"]["type"], "integer");

    // A `JsonSchema` type is a component, referred to by `$ref`.
    let mirror = method(&document, "geometry.mirror");
    assert_eq!(
        mirror["params"][0]["schema"],
        json!({"$ref": "#/components/schemas/Point"})
    );
    assert_eq!(
        mirror["result"]["schema"],
        json!({"$ref": "#/components/schemas/Point"})
    );
    let point = &document["components"]["schemas"]["Point"];
    assert_eq!(point["type"], "object");
    assert_eq!(point["required"], json!(["x", "y"]));
    assert_eq!(point["properties"]["x"]["description"], "Horizontal.");

    // The doc comment's first paragraph is the summary, all of it the description.
    let sum = method(&document, "sum");
    assert_eq!(
        sum["summary"],
        "The specification's `sum`: any number of numbers. Integers sum to an integer (`[1,2,4]` gives `7`, as the specification shows); any other number, or a sum past the `i64` range, gives a float."
    );
    // The whole params (`&Params`) are no named parameter.
    assert_eq!(sum["params"], json!([]));

    // A type without `JsonSchema` is described by `{}`, which every value satisfies.
    let opaque = method(&document, "opaque");
    assert_eq!(
        opaque["params"],
        json!([{"name": "thing", "required": true, "schema": {}}])
    );
    assert_eq!(opaque["result"]["schema"], json!({}));
    assert_eq!(method(&document, "get_data")["result"]["schema"]["type"], "array");

    // Notification handlers are marked and have no result.
    let hello = method(&document, "notify_hello");
    assert_eq!(hello["x-notification"], true);
    assert!(hello.get("result").is_none(), "{hello}");
    assert!(method(&document, "subtract").get("x-notification").is_none());

    // Only what this consumer serves: `audit.left` is bound to another.
    assert!(!names(&document).contains(&"audit.left"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn each_transport_lists_what_it_serves() {
    let server = start().await;
    let over_http = discover_http(&server).await;
    let over_ws = discover_ws(&server).await;
    assert!(
        !names(&over_http).contains(&"ws.only"),
        "ws.only is not served over HTTP"
    );
    assert!(names(&over_ws).contains(&"ws.only"));
    let app = Everyone::app();
    assert_eq!(
        names(&over_ws).len(),
        app.methods().len(),
        "every entry is served over WebSocket"
    );
    assert_eq!(
        over_ws["methods"],
        Everyone::app().openrpc_document(Transport::WebSocket)["methods"]
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn rpc_discover_takes_no_params_answers_no_notification_and_can_be_turned_off() {
    let server = start().await;
    let mut socket = connect_to(server.local_addr(), "/ws/", &[]).await;
    let reply = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"rpc.discover","params":[1],"id":1}"#,
    )
    .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert_eq!(reply["error"]["message"], "Invalid params");
    let reply = call(
        &mut socket,
        r#"{"jsonrpc":"2.0","method":"rpc.discover","params":{"a":1},"id":2}"#,
    )
    .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    // Empty params are no params; a notification gets nothing, so the next
    // reply is the call after it.
    let batch =
        r#"[{"jsonrpc":"2.0","method":"rpc.discover"},{"jsonrpc":"2.0","method":"rpc.discover","params":{ },"id":3}]"#;
    let reply = call(&mut socket, batch).await;
    assert_eq!(reply.as_array().map(Vec::len), Some(1), "{reply}");
    assert_eq!(reply[0]["id"], 3);
    assert_eq!(reply[0]["result"]["openrpc"], "1.3.2");

    let client = HttpClientBuilder::default()
        .build(format!("http://{}/silent/", server.local_addr()))
        .unwrap();
    let error = client
        .request::<Value, _>("rpc.discover", rpc_params![])
        .await
        .expect_err("turned off");
    assert!(
        error.to_string().contains("-32601") || error.to_string().contains("Method not found"),
        "{error}"
    );
    server.shutdown().await.unwrap();
}

/// The document passes the OpenRPC meta-schema (1.14.9, vendored in
/// `tests/openrpc`) and `@open-rpc/schema-utils-js`'s `parseOpenRPCDocument`.
#[cfg_attr(
    not(has_openrpc_tools),
    ignore = "needs node and `npm ci --prefix tests/openrpc` (see .ci/run)"
)]
#[tokio::test]
async fn the_openrpc_tools_accept_the_document() {
    let server = start().await;
    for (transport, document) in [
        ("http", discover_http(&server).await),
        ("ws", discover_ws(&server).await),
    ] {
        let path = std::env::temp_dir().join(format!("channels-rpc-openrpc-{}-{transport}.json", std::process::id()));
        std::fs::write(&path, serde_json::to_vec(&document).unwrap()).unwrap();
        let out = Command::new("node")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openrpc/check.mjs"))
            .arg(&path)
            .output()
            .expect("node runs");
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "{transport}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let checked: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
        assert_eq!(checked["methods"].as_array().unwrap().len(), names(&document).len());
        // parseOpenRPCDocument resolved the `$ref` to the Point component.
        assert_eq!(
            checked["dereferenced"]["geometry.mirror"]["params"][0]["schema"]["properties"]["y"]["type"],
            "number"
        );
    }
    server.shutdown().await.unwrap();
}
