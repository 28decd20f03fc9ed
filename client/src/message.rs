//! JSON-RPC 2.0 messages: params from Rust values, requests out, answers in.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::{Error, Result, RpcError};

/// Params as JSON: a tuple or `Vec` gives positional params (an array), a
/// struct or map gives named params (an object), `()` or `None` gives none.
pub(crate) fn to_params(params: impl Serialize) -> Result<Option<Value>> {
    match serde_json::to_value(params).map_err(|e| Error::InvalidParams(e.to_string()))? {
        Value::Null => Ok(None),
        value @ (Value::Array(_) | Value::Object(_)) => Ok(Some(value)),
        other => Err(Error::InvalidParams(format!("got {other}"))),
    }
}

/// A request (with `id`) or a notification (without).
pub(crate) fn request(method: &str, params: Option<Value>, id: Option<u64>) -> Value {
    let mut message = Map::new();
    message.insert("jsonrpc".into(), "2.0".into());
    message.insert("method".into(), method.into());
    if let Some(params) = params {
        message.insert("params".into(), params);
    }
    if let Some(id) = id {
        message.insert("id".into(), id.into());
    }
    Value::Object(message)
}

/// The answer to a server-to-client call with `id`.
pub(crate) fn response(id: Value, outcome: Result<Value, RpcError>) -> Value {
    match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}),
        Err(error) => json!({"jsonrpc": "2.0", "error": error, "id": id}),
    }
}

/// What the server sent: one message of a (possibly batched) frame or body.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// The answer to our request `id`.
    Response { id: Option<u64>, outcome: Result<Value> },
    /// A server push without id.
    Notification { method: String, params: Value },
    /// A server-to-client call, to answer with `id`.
    Call { id: Value, method: String, params: Value },
}

/// Splits a frame or body into its messages (a batch gives several).
pub(crate) fn parse(text: &[u8]) -> Result<Vec<Incoming>> {
    let value: Value = serde_json::from_slice(text).map_err(|e| Error::Decode(e.to_string()))?;
    match value {
        Value::Array(items) => items.into_iter().map(classify).collect(),
        other => Ok(vec![classify(other)?]),
    }
}

fn classify(value: Value) -> Result<Incoming> {
    let Value::Object(mut message) = value else {
        return Err(Error::Decode(format!("not a JSON-RPC message: {value}")));
    };
    if let Some(Value::String(method)) = message.remove("method") {
        let params = message.remove("params").unwrap_or(Value::Null);
        return Ok(match message.remove("id") {
            Some(id) if !id.is_null() => Incoming::Call { id, method, params },
            _ => Incoming::Notification { method, params },
        });
    }
    let id = message.get("id").and_then(Value::as_u64);
    let outcome = if let Some(error) = message.remove("error") {
        Err(serde_json::from_value::<RpcError>(error)
            .map(Error::Rpc)
            .unwrap_or_else(|e| Error::Decode(format!("malformed error object: {e}"))))
    } else if let Some(result) = message.remove("result") {
        Ok(result)
    } else {
        return Err(Error::Decode(format!(
            "neither a request nor a response: {}",
            Value::Object(message)
        )));
    };
    Ok(Incoming::Response { id, outcome })
}

/// A result decoded into the type asked for.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(result: Value) -> Result<T> {
    serde_json::from_value(result).map_err(|e| Error::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_and_vecs_are_positional_structs_and_maps_named() {
        assert_eq!(to_params((1, "a")).unwrap(), Some(json!([1, "a"])));
        assert_eq!(to_params((5,)).unwrap(), Some(json!([5])));
        assert_eq!(to_params(vec![1, 2]).unwrap(), Some(json!([1, 2])));
        assert_eq!(to_params(json!({"a": 1})).unwrap(), Some(json!({"a": 1})));
        assert_eq!(to_params(()).unwrap(), None);
        assert!(matches!(to_params(5), Err(Error::InvalidParams(_))));
    }

    #[test]
    fn messages_are_told_apart() {
        let got = parse(br#"[{"jsonrpc":"2.0","result":1,"id":3},{"jsonrpc":"2.0","method":"m","params":[1]},{"jsonrpc":"2.0","method":"c","id":"x"},{"jsonrpc":"2.0","error":{"code":-1,"message":"no"},"id":4}]"#).unwrap();
        assert!(matches!(&got[0], Incoming::Response { id: Some(3), outcome: Ok(v) } if *v == 1));
        assert!(matches!(&got[1], Incoming::Notification { method, .. } if method == "m"));
        assert!(matches!(&got[2], Incoming::Call { id, .. } if *id == "x"));
        assert!(matches!(&got[3], Incoming::Response { id: Some(4), outcome: Err(Error::Rpc(e)) } if e.code == -1));
        assert!(matches!(parse(b"{\"id\":1}"), Err(Error::Decode(_))));
        assert!(matches!(parse(b"nope"), Err(Error::Decode(_))));
    }
}
