//! `#[consumer(include(spec_methods))]` is the only mention of the
//! `spec-methods` crate in this binary: naming it there both selects its
//! methods and links the crate, so they do not vanish silently.

use channels_rpc::{Connection, Consumer, Scope, Transport};
use serde_json::{json, Value};

#[derive(Consumer, Default)]
#[consumer(include(spec_methods))]
struct Spec;

#[tokio::test]
async fn methods_of_an_included_crate_are_linked_and_served() {
    let app = Spec::app();
    let conn = Connection::for_consumer::<Spec>(Scope::new(Transport::InProcess, "/"));
    let input = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
    let reply = app.handle(&conn, input).await.expect("a call is answered");
    let reply: Value = serde_json::from_slice(reply.body()).unwrap();
    assert_eq!(reply, json!({"jsonrpc": "2.0", "result": 19, "id": 1}));
    assert_eq!(Spec::METHOD_SOURCES.included(), ["spec_methods"]);
    let subtract = app.method("subtract").expect("served");
    assert_eq!(subtract.module(), "spec_methods");
}
