//! Every example of the JSON-RPC 2.0 specification, section 7, through the
//! in-process dispatcher. Batch replies are compared without regard to order.

mod common;

use common::{send, sorted};
use serde_json::json;

#[tokio::test]
async fn positional_parameters() {
    let r = send(r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#).await;
    assert_eq!(r, Some(json!({"jsonrpc": "2.0", "result": 19, "id": 1})));
    let r = send(r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#).await;
    assert_eq!(r, Some(json!({"jsonrpc": "2.0", "result": -19, "id": 2})));
}

#[tokio::test]
async fn named_parameters() {
    let r =
        send(r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#).await;
    assert_eq!(r, Some(json!({"jsonrpc": "2.0", "result": 19, "id": 3})));
    let r =
        send(r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#).await;
    assert_eq!(r, Some(json!({"jsonrpc": "2.0", "result": 19, "id": 4})));
}

#[tokio::test]
async fn notifications_get_no_reply() {
    assert_eq!(
        send(r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#).await,
        None
    );
    assert_eq!(send(r#"{"jsonrpc": "2.0", "method": "foobar"}"#).await, None);
}

#[tokio::test]
async fn non_existent_method() {
    let r = send(r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32601);
    assert_eq!(r["error"]["message"], "Method not found");
    assert_eq!(r["id"], "1");
    assert_eq!(r["jsonrpc"], "2.0");
}

#[tokio::test]
async fn invalid_json() {
    let r = send(r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#)
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null})
    );
}

#[tokio::test]
async fn invalid_request_object() {
    let r = send(r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#)
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -32600);
    assert_eq!(r["error"]["message"], "Invalid Request");
    assert_eq!(r["id"], json!(null));
}

#[tokio::test]
async fn batch_invalid_json() {
    let r = send(
        r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]"#,
    )
    .await
    .unwrap();
    assert_eq!(
        r,
        json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null})
    );
}

#[tokio::test]
async fn empty_batch() {
    let r = send("[]").await.unwrap();
    assert!(r.is_object(), "one error, not an array: {r}");
    assert_eq!(r["error"]["code"], -32600);
    assert_eq!(r["id"], json!(null));
}

#[tokio::test]
async fn invalid_batch_not_empty() {
    let r = send("[1]").await.unwrap();
    assert_eq!(r.as_array().unwrap().len(), 1);
    assert_eq!(r[0]["error"]["code"], -32600);
    assert_eq!(r[0]["id"], json!(null));
}

#[tokio::test]
async fn invalid_batch() {
    let r = send("[1,2,3]").await.unwrap();
    let members = r.as_array().unwrap();
    assert_eq!(members.len(), 3);
    for member in members {
        assert_eq!(member["jsonrpc"], "2.0");
        assert_eq!(member["error"]["code"], -32600);
        assert_eq!(member["id"], json!(null));
    }
}

#[tokio::test]
async fn mixed_batch() {
    let r = send(
        r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]"#,
    )
    .await
    .unwrap();
    let r = sorted(r);
    let members = r.as_array().unwrap();
    assert_eq!(members.len(), 5, "{r}");
    // The specification's answer, member by member (order free). Its error
    // objects show code and message; ours add the detail in `data`.
    assert_eq!(members[0], json!({"jsonrpc": "2.0", "result": 7, "id": "1"}));
    assert_eq!(members[1], json!({"jsonrpc": "2.0", "result": 19, "id": "2"}));
    assert_eq!(members[2]["jsonrpc"], "2.0");
    assert_eq!(members[2]["error"]["code"], -32601);
    assert_eq!(members[2]["error"]["message"], "Method not found");
    assert_eq!(members[2]["id"], "5");
    assert_eq!(members[3], json!({"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}));
    assert_eq!(members[4]["jsonrpc"], "2.0");
    assert_eq!(members[4]["error"]["code"], -32600);
    assert_eq!(members[4]["error"]["message"], "Invalid Request");
    assert_eq!(members[4]["id"], json!(null));
}

#[tokio::test]
async fn batch_of_notifications_only() {
    let r = send(
        r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#,
    )
    .await;
    assert_eq!(r, None);
}
