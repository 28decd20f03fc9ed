//! The bytes channels_redis' core layer stores: 12 random bytes, then the
//! msgpack message, whose reserved `__asgi_channel__` names the local
//! channel(s) it is for.

use rpc_core::LayerError;
use serde_json::{Map, Value};

use crate::codec::Codec;
use crate::wire;

/// The reserved field routing a message to process-local channels: a string
/// on `send`, a list on `group_send`.
pub(crate) const ASGI_CHANNEL: &str = "__asgi_channel__";

/// channels_redis' `random_prefix_length`: the random bytes that keep equal
/// messages distinct members of one sorted set.
pub(crate) const RANDOM_PREFIX_LENGTH: usize = 12;

/// The object of a layer message, refusing one that carries the reserved field.
pub(crate) fn into_object(message: Value) -> Result<Map<String, Value>, LayerError> {
    match message {
        Value::Object(map) if !map.contains_key(ASGI_CHANNEL) => Ok(map),
        _ => Err(LayerError::InvalidMessage),
    }
}

/// A stored message: random prefix, then msgpack, sealed by `codec`.
pub(crate) fn encode(message: &Map<String, Value>, codec: &Codec) -> Result<Vec<u8>, LayerError> {
    seal(rmp_serde::to_vec(message), codec)
}

/// A group send's message for `channels` (their `__asgi_channel__` list),
/// written as `encode` writes the message with that field inserted, without
/// a copy of the message or of the names.
pub(crate) fn encode_for(
    message: &Map<String, Value>,
    channels: &[String],
    codec: &Codec,
) -> Result<Vec<u8>, LayerError> {
    seal(rmp_serde::to_vec(&Addressed { message, channels }), codec)
}

/// A message and the field naming its channels, serialized as one map.
struct Addressed<'a> {
    message: &'a Map<String, Value>,
    channels: &'a [String],
}

impl serde::Serialize for Addressed<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.message.len() + 1))?;
        // Where a sorted map would hold it (serde_json's `Map` is one).
        let mut channels = Some(self.channels);
        for (key, value) in self.message {
            if key.as_str() > ASGI_CHANNEL {
                if let Some(channels) = channels.take() {
                    map.serialize_entry(ASGI_CHANNEL, channels)?;
                }
            }
            map.serialize_entry(key, value)?;
        }
        if let Some(channels) = channels {
            map.serialize_entry(ASGI_CHANNEL, channels)?;
        }
        map.end()
    }
}

fn seal(packed: Result<Vec<u8>, rmp_serde::encode::Error>, codec: &Codec) -> Result<Vec<u8>, LayerError> {
    let sealed = codec.seal(packed.map_err(|_| LayerError::InvalidMessage)?);
    let mut body = Vec::with_capacity(RANDOM_PREFIX_LENGTH + sealed.len());
    body.extend_from_slice(&rand::random::<[u8; RANDOM_PREFIX_LENGTH]>());
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// A received message and the local channels it is for; `None` when the
/// bytes are not a channels_redis message for process-local channels.
pub(crate) fn decode(body: &[u8], codec: &Codec) -> Option<(Vec<String>, Value)> {
    let mut message = wire::decode(&codec.open(body.get(RANDOM_PREFIX_LENGTH..)?)?)?;
    let channels = match message.as_object_mut()?.remove(ASGI_CHANNEL)? {
        Value::String(channel) => vec![channel],
        Value::Array(channels) => channels
            .into_iter()
            .map(|c| match c {
                Value::String(c) => Some(c),
                _ => None,
            })
            .collect::<Option<Vec<String>>>()?,
        _ => return None,
    };
    Some((channels, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_and_layout() {
        let mut message = into_object(json!({"type": "x"})).unwrap();
        message.insert(ASGI_CHANNEL.to_owned(), json!(["a!1", "a!2"]));
        let one = encode(&message, &Codec::default()).unwrap();
        let two = encode(&message, &Codec::default()).unwrap();
        // Python's msgpack.packb({"__asgi_channel__": ["a!1", "a!2"], "type": "x"})
        // (serde_json's map writes its keys sorted; msgpack readers take any order).
        assert_eq!(
            &one[RANDOM_PREFIX_LENGTH..],
            b"\x82\xb0__asgi_channel__\x92\xa3a!1\xa3a!2\xa4type\xa1x"
        );
        assert_ne!(
            one[..RANDOM_PREFIX_LENGTH],
            two[..RANDOM_PREFIX_LENGTH],
            "random prefixes differ"
        );
        assert_eq!(
            decode(&one, &Codec::default()),
            Some((vec!["a!1".to_owned(), "a!2".to_owned()], json!({"type": "x"})))
        );
        // A group send's body, written without inserting the field, is the same.
        let plain = into_object(json!({"type": "x", "a": 1, "zz": [2]})).unwrap();
        let mut inserted = plain.clone();
        inserted.insert(ASGI_CHANNEL.to_owned(), json!(["a!1", "a!2"]));
        let names = ["a!1".to_owned(), "a!2".to_owned()];
        let direct = encode_for(&plain, &names, &Codec::default()).unwrap();
        let by_insert = encode(&inserted, &Codec::default()).unwrap();
        assert_eq!(direct[RANDOM_PREFIX_LENGTH..], by_insert[RANDOM_PREFIX_LENGTH..]);
    }

    #[test]
    fn foreign_bytes_are_refused() {
        assert_eq!(
            into_object(json!({"type": "x", "__asgi_channel__": "c"})),
            Err(LayerError::InvalidMessage)
        );
        assert_eq!(decode(b"short", &Codec::default()), None);
        let mut no_channel = vec![0; RANDOM_PREFIX_LENGTH];
        no_channel.extend_from_slice(b"\x81\xa4type\xa1x");
        assert_eq!(decode(&no_channel, &Codec::default()), None);
        let mut bad_channel = vec![0; RANDOM_PREFIX_LENGTH];
        bad_channel.extend_from_slice(b"\x82\xa4type\xa1x\xb0__asgi_channel__\x91\x01");
        assert_eq!(decode(&bad_channel, &Codec::default()), None);
        let mut garbage = vec![0; RANDOM_PREFIX_LENGTH];
        garbage.extend_from_slice(b"\xc1\xc1");
        assert_eq!(decode(&garbage, &Codec::default()), None);
    }
}
