//! Writing responses: each envelope is written straight into one buffer, and
//! the id is copied back as the exact bytes received.

use serde::Serialize;

use crate::error::RpcError;
use crate::json_writer::write_json;
use crate::message::Version;

/// One encoded response and, for HTTP status mapping, its error code if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The response JSON.
    pub body: Vec<u8>,
    /// The error code when the response is an error.
    pub error_code: Option<i64>,
}

/// The id's JSON text as received, or `null`.
fn id_text(id: Option<&str>) -> &str {
    id.unwrap_or("null")
}

/// The success response carrying `result`. A result that fails to serialize
/// (a map with non-string keys, say) becomes -32603. `size_hint` is a guess of
/// the result's length (the params' length does well: an echo, a record
/// updated), so that a large result is written without growing the buffer
/// again and again.
pub(crate) fn success<T: Serialize + ?Sized>(
    version: Version,
    id: Option<&str>,
    result: &T,
    size_hint: usize,
) -> Encoded {
    let id = id_text(id);
    let mut body = Vec::with_capacity(48 + id.len() + size_hint);
    body.extend_from_slice(match version {
        Version::V2 => br#"{"jsonrpc":"2.0","result":"#.as_slice(),
        Version::V1 => br#"{"result":"#.as_slice(),
    });
    if let Err(e) = write_json(&mut body, result) {
        tracing::error!(error = %e, "method result failed to serialize");
        return error(version, Some(id), &RpcError::internal());
    }
    body.extend_from_slice(match version {
        Version::V2 => br#","id":"#.as_slice(),
        Version::V1 => br#","error":null,"id":"#.as_slice(),
    });
    body.extend_from_slice(id.as_bytes());
    body.push(b'}');
    Encoded { body, error_code: None }
}

/// The error response carrying `err`; `id` is `null` when not given.
pub(crate) fn error(version: Version, id: Option<&str>, err: &RpcError) -> Encoded {
    let id = id_text(id);
    let mut body = Vec::with_capacity(96 + id.len() + err.message().len());
    body.extend_from_slice(match version {
        Version::V2 => br#"{"jsonrpc":"2.0","error":"#.as_slice(),
        Version::V1 => br#"{"result":null,"error":"#.as_slice(),
    });
    write_json(&mut body, err).expect("an RpcError always serializes");
    body.extend_from_slice(br#","id":"#);
    body.extend_from_slice(id.as_bytes());
    body.push(b'}');
    Encoded {
        body,
        error_code: Some(err.code()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        let id = "12345678901234567890.5";
        let ok = success(Version::V2, Some(id), "pong", 0);
        assert_eq!(
            ok.body,
            br#"{"jsonrpc":"2.0","result":"pong","id":12345678901234567890.5}"#
        );
        let v1 = success(Version::V1, Some(id), &1, 0);
        assert_eq!(v1.body, br#"{"result":1,"error":null,"id":12345678901234567890.5}"#);
        let err = error(Version::V1, None, &RpcError::new(-1, "no"));
        assert_eq!(
            err.body,
            br#"{"result":null,"error":{"code":-1,"message":"no"},"id":null}"#
        );
        assert_eq!(err.error_code, Some(-1));
    }

    #[test]
    fn unserializable_result_is_internal_error() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        let out = success(Version::V2, None, &map, 0);
        assert_eq!(out.error_code, Some(-32603));
    }
}
