//! channels_redis' msgpack bodies, and the pub/sub layer's group names.

use rpc_core::LayerError;
use serde_json::Value;

/// The Redis pub/sub channel of `group`: `{prefix}__group__{group}`.
///
/// ```
/// assert_eq!(rpc_redis::group_channel("asgi", "room"), "asgi__group__room");
/// ```
pub fn group_channel(prefix: &str, group: &str) -> String {
    format!("{prefix}__group__{group}")
}

/// A message as channels_redis' msgpack serializer writes it.
pub fn encode(message: &Value) -> Result<Vec<u8>, LayerError> {
    rmp_serde::to_vec(message).map_err(|_| LayerError::InvalidMessage)
}

/// A message from msgpack bytes; `None` for anything that is not a map.
pub fn decode(bytes: &[u8]) -> Option<Value> {
    rmp_serde::from_slice::<Value>(bytes).ok().filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn msgpack_round_trip_matches_python() {
        let message = json!({"type": "rpc.notification", "method": "m", "params": [1, -2, 3.5, "é", null, true]});
        let bytes = encode(&message).unwrap();
        // msgpack.packb({"type": "x"}) in Python is 81 a4 74797065 a1 78.
        assert_eq!(encode(&json!({"type": "x"})).unwrap(), b"\x81\xa4type\xa1x");
        assert_eq!(decode(&bytes), Some(message));
        assert_eq!(decode(b"\xa1x"), None);
        assert_eq!(decode(b"\xc1"), None);
    }
}
