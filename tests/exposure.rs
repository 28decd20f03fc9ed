//! Method exposure: a consumer serves exactly what its own code chose. This
//! binary links the `spec-methods` crate (it calls one of its functions
//! directly) but no consumer here includes it, so none of its methods may be
//! served: linking a crate never publishes its methods.

use channels_rpc::{rpc_method, App, Connection, Consumer, Scope, Transport};
use serde_json::{json, Value};

/// Serves this crate's unbound methods only.
#[derive(Consumer, Default)]
struct Local;

/// Another consumer of this crate.
#[derive(Consumer, Default)]
struct Admin;

/// Unbound, declared in this crate: both consumers serve it.
#[rpc_method("local.hello")]
fn hello() -> &'static str {
    "hello"
}

/// Bound to `Admin`: `Local` does not serve it.
#[rpc_method("admin.reset", consumer = Admin)]
fn reset() -> bool {
    true
}

async fn call<C: Consumer>(app: &App<C>, method: &str) -> Value {
    let conn = Connection::for_consumer::<C>(Scope::new(Transport::InProcess, "/"));
    let input = json!({"jsonrpc": "2.0", "method": method, "id": 1}).to_string();
    let reply = app.handle(&conn, input.as_bytes()).await.expect("a call is answered");
    serde_json::from_slice(reply.body()).expect("replies are JSON")
}

#[test]
fn the_method_crate_is_linked_here() {
    // A direct call links the crate, and its entries are in the registry.
    assert_eq!(spec_methods::subtract(42, 23), 19);
    let linked = channels_rpc::__private::CHANNELS_RPC_METHODS
        .iter()
        .any(|entry| entry.name() == "subtract" && entry.module() == "spec_methods");
    assert!(linked, "spec_methods' entries are linked into this binary");
}

#[tokio::test]
async fn a_linked_crate_that_is_not_included_serves_nothing() {
    for method in ["subtract", "ping", "get_data", "chat.join"] {
        let r = call(&Local::app(), method).await;
        assert_eq!(r["error"]["code"], -32601, "{method} must not be served: {r}");
        assert_eq!(r["error"]["message"], "Method not found");
        assert!(Local::app().method(method).is_none());
    }
    assert!(
        Local::app().methods().iter().all(|m| m.module() != "spec_methods"),
        "no entry of spec_methods in the table"
    );
}

#[tokio::test]
async fn own_crate_methods_and_bound_methods() {
    let r = call(&Local::app(), "local.hello").await;
    assert_eq!(r, json!({"jsonrpc": "2.0", "result": "hello", "id": 1}));
    let r = call(&Admin::app(), "local.hello").await;
    assert_eq!(r["result"], "hello");

    let r = call(&Local::app(), "admin.reset").await;
    assert_eq!(r["error"]["code"], -32601, "bound to Admin only: {r}");
    let r = call(&Admin::app(), "admin.reset").await;
    assert_eq!(r["result"], true);

    let names: Vec<&str> = Local::app().methods().iter().map(|m| m.name()).collect();
    assert_eq!(names, ["local.hello"]);
    assert_eq!(Local::METHOD_SOURCES.home_crate(), "exposure");
    assert!(Local::METHOD_SOURCES.included().is_empty());
}
