//! Property tests: whatever arrives, the dispatcher answers with well-formed
//! JSON-RPC (or, for notifications only, nothing) and never panics.

mod common;

use channels_rpc::{Connection, Scope, Transport};
use common::Everyone;
use proptest::prelude::*;
use serde_json::Value;

fn handle(input: &[u8]) -> Option<Value> {
    let app = Everyone::app();
    let conn = Connection::for_consumer::<Everyone>(Scope::new(Transport::InProcess, "/"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(app.handle(&conn, input))
        .map(|reply| serde_json::from_slice(reply.body()).expect("every reply is JSON"))
}

/// Each response object is a 1.0 or 2.0 response with an id.
fn assert_well_formed(response: &Value) {
    let object = response.as_object().expect("a response is an object");
    assert!(object.contains_key("id"), "{response}");
    if object.contains_key("jsonrpc") {
        assert_eq!(object["jsonrpc"], "2.0");
        assert!(
            object.contains_key("result") ^ object.contains_key("error"),
            "{response}"
        );
    } else {
        assert!(
            object.contains_key("result") && object.contains_key("error"),
            "{response}"
        );
    }
    if let Some(error) = object.get("error").filter(|e| !e.is_null()) {
        assert!(error["code"].is_i64() && error["message"].is_string(), "{response}");
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z.\\\\\"é]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("2.0"),
            Just("1.0"),
            Just("ping"),
            Just("subtract"),
            Just("echo"),
            Just("sum")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![Just("jsonrpc"), Just("method"), Just("params"), Just("id"), Just("x")]
                    .prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Some(reply) = handle(&input) {
            match &reply {
                Value::Array(members) => members.iter().for_each(assert_well_formed),
                other => assert_well_formed(other),
            }
        }
    }

    #[test]
    fn arbitrary_json_gets_a_well_formed_answer(value in json_value()) {
        let input = serde_json::to_vec(&value).unwrap();
        match handle(&input) {
            Some(Value::Array(members)) => {
                prop_assert!(value.is_array());
                prop_assert!(!members.is_empty());
                members.iter().for_each(assert_well_formed);
            }
            Some(other) => assert_well_formed(&other),
            // Silence is only for notifications: objects with a method, or batches of them.
            None => prop_assert!(value.is_object() || value.as_array().is_some_and(|a| !a.is_empty())),
        }
    }

    #[test]
    fn truncated_requests_are_parse_errors(cut in 1usize..60) {
        let full = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
        let cut = cut.min(full.len() - 1);
        let reply = handle(&full[..cut]).expect("an error reply");
        prop_assert_eq!(&reply["error"]["code"], -32700);
    }
}

/// Found by `fuzz/`'s parse target: a number too large for a 64-bit float is
/// JSON (RFC 8259 sets no range), so outside `id` it is read like any other;
/// `[1e3081]` was answered -32700 Parse error.
#[test]
fn numbers_too_large_for_a_float_are_json() {
    let reply = handle(b"[1e3081]").expect("an answer");
    assert_eq!(reply[0]["error"]["code"], -32600, "{reply}");
    assert_eq!(reply[0]["id"], Value::Null);
    // In a method's params, the method's own decoding judges it.
    let reply = handle(br#"{"jsonrpc":"2.0","method":"echo","params":[1e999],"x":1e999,"id":1}"#).expect("an answer");
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert_eq!(reply["id"], 1);
    let reply = handle(br#"{"jsonrpc":"2.0","method":"update","params":[1e999],"x":[1e999],"id":"\u0031"}"#)
        .expect("an answer");
    assert_eq!(reply["result"], "[1e999]".len(), "{reply}");
    assert_eq!(reply["id"], "1");
}
