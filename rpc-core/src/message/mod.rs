//! Reading an incoming message: one JSON-RPC 1.0 or 2.0 request, or a 2.0 batch.
//!
//! Nothing is copied: the method name, `params` and `id` are borrowed from the
//! input buffer, and the id is later written back as the exact bytes received.
//!
//! **Ids.** A string, a number or `null`, as the specification says; any
//! other id is `-32600` with id `null`. A number is echoed byte for byte
//! (`123456789012345678901234567890`, `1.50`, `1e2` come back as sent, for
//! clients that keep big integers exactly, such as Python's), provided a
//! 64-bit float can hold it: a larger one (`1e999`, 400 digits) is
//! `-32600` with id `null`, because serde_json-based clients (jsonrpsee
//! included) fail on the whole response echoing it, and JavaScript and
//! Python read it as infinity, which matches no id they sent.
//!
//! **Two readers.** A request object or batch of the usual shape is read by
//! `scan`'s scanner; anything else (escapes, repeated members, invalid JSON)
//! by serde_json, which then decides every case. Both must read alike; the
//! `fuzz/` crate's `differential` target checks it (feature `fuzzing`).

use std::borrow::Cow;

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::RpcError;
use crate::limits::{nests_deeper_than, Limits};

#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod scan;

/// The protocol version a request was judged to speak; its response speaks the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// JSON-RPC 1.0: no `jsonrpc` member; the response carries both `result` and `error`.
    V1,
    /// JSON-RPC 2.0: `"jsonrpc": "2.0"`.
    V2,
}

/// A well-formed call or notification.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub version: Version,
    /// `None` for a notification; otherwise the id's JSON text exactly as
    /// received (may be `null`): a string, or a number a 64-bit float can hold.
    pub id: Option<&'a str>,
    pub method: Cow<'a, str>,
    /// The JSON text of `params`, an array or an object, known to be valid.
    pub params: Option<&'a str>,
}

/// One member of a message: a request, or the error answer an invalid one gets.
#[derive(Debug)]
pub(crate) enum Entry<'a> {
    Request(Request<'a>),
    Invalid {
        version: Version,
        /// The request's id when it had a valid one, else the response says `null`.
        id: Option<&'a str>,
        error: RpcError,
    },
}

/// A whole incoming message.
#[derive(Debug)]
pub(crate) enum Message<'a> {
    Single(Entry<'a>),
    Batch(Vec<Entry<'a>>),
}

/// The members of a request object, each kept as its JSON text (known to be
/// valid) so that "absent" and `null` stay distinct and nothing is decoded
/// before it is needed.
#[derive(Default)]
struct Members<'a> {
    jsonrpc: Option<&'a str>,
    method: Option<&'a str>,
    params: Option<&'a str>,
    id: Option<&'a str>,
    /// Set by the scanner: no string among the members holds an escape.
    unescaped: bool,
}

/// One message or batch member as read: the members of an object, or why
/// it cannot be a request. Reading a batch this way does not fail on a bad
/// member, so each gets its own error.
enum Object<'a> {
    Members(Members<'a>),
    /// Not an object: a scalar or an array.
    Scalar,
    Duplicate(&'static str),
}

impl<'a> Object<'a> {
    /// Reads one value known to be valid JSON. Only an object is looked
    /// into; anything else, a number too large for a float included, is
    /// [`Object::Scalar`] unread.
    fn read(json: &'a str) -> Result<Self, serde_json::Error> {
        if first_byte(json) == b'{' {
            serde_json::from_str(json)
        } else {
            Ok(Object::Scalar)
        }
    }
}

/// Reads a JSON object; values other than `params`, `id`, `method` and
/// `jsonrpc` are skipped checking their syntax only, as `RawValue` does, so
/// that `{"x": 1e999}` is JSON here as it is to the scanner.
impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_map(ObjectVisitor)
    }
}

/// The member names that matter; anything else is skipped.
enum Key {
    Jsonrpc,
    Method,
    Params,
    Id,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "jsonrpc" => Key::Jsonrpc,
                    "method" => Key::Method,
                    "params" => Key::Params,
                    "id" => Key::Id,
                    _ => Key::Other,
                })
            }
        }
        de.deserialize_identifier(KeyVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object<'de>, A::Error> {
        let mut members = Members::default();
        let mut duplicate = None;
        while let Some(key) = map.next_key::<Key>()? {
            let (slot, name) = match key {
                Key::Jsonrpc => (&mut members.jsonrpc, "jsonrpc"),
                Key::Method => (&mut members.method, "method"),
                Key::Id => (&mut members.id, "id"),
                Key::Params => (&mut members.params, "params"),
                Key::Other => {
                    map.next_value::<&'de RawValue>()?;
                    continue;
                }
            };
            if slot.replace(map.next_value::<&'de RawValue>()?.get()).is_some() {
                duplicate = Some(name);
            }
        }
        Ok(match duplicate {
            Some(name) => Object::Duplicate(name),
            None => Object::Members(members),
        })
    }
}

fn first_byte(raw: &str) -> u8 {
    raw.as_bytes().first().copied().unwrap_or(b' ')
}

fn invalid_v2<'a>(reason: impl Into<String>) -> Entry<'a> {
    Entry::Invalid {
        version: Version::V2,
        id: None,
        error: RpcError::invalid_request(reason),
    }
}

/// Which reader reads a request object or a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reader {
    /// The scanner for the usual shapes, serde_json for the rest: what the
    /// dispatcher uses.
    ScannerFirst,
    /// serde_json alone, which the fuzz targets compare with `ScannerFirst`.
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    SerdeOnly,
}

/// Reads `input` into a [`Message`], or the single error that answers it whole
/// (too large, too deep, not JSON, empty or oversized batch).
pub(crate) fn parse<'a>(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, RpcError> {
    parse_by(input, limits, Reader::ScannerFirst)
}

/// [`parse`] for input already known to be UTF-8.
pub(crate) fn parse_str<'a>(text: &'a str, limits: &Limits) -> Result<Message<'a>, RpcError> {
    parse_str_by(text, limits, Reader::ScannerFirst)
}

/// [`parse`] with the given reader.
fn parse_by<'a>(input: &'a [u8], limits: &Limits, reader: Reader) -> Result<Message<'a>, RpcError> {
    let text = std::str::from_utf8(input).map_err(|_| RpcError::parse_error())?;
    parse_str_by(text, limits, reader)
}

/// [`parse_str`] with the given reader.
fn parse_str_by<'a>(text: &'a str, limits: &Limits, reader: Reader) -> Result<Message<'a>, RpcError> {
    let input = text.as_bytes();
    if input.len() > limits.message_size() {
        return Err(RpcError::invalid_request(format!(
            "message of {} bytes exceeds the limit of {} bytes",
            input.len(),
            limits.message_size()
        )));
    }
    let first = text.trim_start().as_bytes().first().copied();
    // What the scanner takes is valid JSON within the nesting limit, so the
    // checks below would pass it: it skips them.
    if reader == Reader::ScannerFirst {
        match first {
            Some(b'[') => {
                if let Some(entries) = scan::batch(text, limits.depth(), |m| entry(Object::Members(m), true)) {
                    return batch(entries, limits);
                }
            }
            Some(b'{') => {
                if let Some(members) = scan::single(text, limits.depth()) {
                    return Ok(Message::Single(entry(Object::Members(members), false)));
                }
            }
            _ => {}
        }
    }
    if nests_deeper_than(input, limits.depth()) {
        return Err(RpcError::invalid_request(format!(
            "message nests deeper than {} levels",
            limits.depth()
        )));
    }
    match first {
        Some(b'[') => {
            let members = read_batch(text).map_err(|_| RpcError::parse_error())?;
            batch(members.into_iter().map(|m| entry(m, true)).collect(), limits)
        }
        Some(b'{') => {
            let object = serde_json::from_str(text).map_err(|_| RpcError::parse_error())?;
            Ok(Message::Single(entry(object, false)))
        }
        _ => {
            // Valid JSON that is not an object or array is an invalid request.
            serde_json::from_str::<&RawValue>(text).map_err(|_| RpcError::parse_error())?;
            Err(RpcError::invalid_request("a request must be an object or an array"))
        }
    }
}

/// A batch of `entries`, or the error an empty or oversized one gets.
fn batch<'a>(entries: Vec<Entry<'a>>, limits: &Limits) -> Result<Message<'a>, RpcError> {
    if entries.is_empty() {
        return Err(RpcError::invalid_request("empty batch"));
    }
    if entries.len() > limits.batch_len() {
        return Err(RpcError::invalid_request(format!(
            "batch of {} exceeds the limit of {} members",
            entries.len(),
            limits.batch_len()
        )));
    }
    Ok(Message::Batch(entries))
}

/// A batch's members, each read by [`Object::read`].
fn read_batch(text: &str) -> Result<Vec<Object<'_>>, serde_json::Error> {
    let members: Vec<&RawValue> = serde_json::from_str(text)?;
    members.into_iter().map(|member| Object::read(member.get())).collect()
}

/// Judges one object (`in_batch`: every batch member speaks 2.0).
fn entry(object: Object<'_>, in_batch: bool) -> Entry<'_> {
    let members = match object {
        Object::Members(members) => members,
        Object::Scalar => return invalid_v2("a request must be an object"),
        Object::Duplicate(name) => return invalid_v2(format!("member {name:?} appears twice")),
    };
    let version = match members.jsonrpc {
        None if !in_batch && members.method.is_some() && members.id.is_some() => Version::V1,
        None => return invalid_v2("missing member \"jsonrpc\": \"2.0\""),
        Some(v) if v == "\"2.0\"" || serde_json::from_str::<Cow<str>>(v).is_ok_and(|s| s == "2.0") => Version::V2,
        Some(_) => return invalid_v2("\"jsonrpc\" must be exactly \"2.0\""),
    };
    let id = match members.id {
        Some(id) if !matches!(first_byte(id), b'"' | b'-' | b'0'..=b'9' | b'n') => {
            return Entry::Invalid {
                version,
                id: None,
                error: RpcError::invalid_request("\"id\" must be a string, a number or null"),
            }
        }
        Some(id) if !fits_a_float(id) => {
            return Entry::Invalid {
                version,
                id: None,
                error: RpcError::invalid_request(ID_OUT_OF_RANGE),
            }
        }
        Some(id) if !decodes_as_text(id) => {
            return Entry::Invalid {
                version,
                id: None,
                error: RpcError::invalid_request(ID_UNPAIRED_SURROGATE),
            }
        }
        // A 1.0 request whose id is null is a notification.
        Some(id) if version == Version::V1 && id == "null" => None,
        other => other,
    };
    let invalid = |reason: &str| Entry::Invalid {
        version,
        id: id.or(members.id),
        error: RpcError::invalid_request(reason),
    };
    let method = match members.method {
        // The scanner's strings are what lies between their quotes.
        Some(method) if members.unescaped && method.len() >= 2 && method.starts_with('"') => {
            Cow::Borrowed(&method[1..method.len() - 1])
        }
        method => match method.map(decode_str) {
            Some(Some(method)) => method,
            _ => return invalid("\"method\" must be a string"),
        },
    };
    let params = match members.params {
        Some(p) if matches!(first_byte(p), b'[' | b'{') => Some(p),
        Some(p) if version == Version::V1 && p == "null" => None,
        Some(_) => return invalid("\"params\" must be an array or an object"),
        None => None,
    };
    Entry::Request(Request {
        version,
        id,
        method,
        params,
    })
}

/// The reason an id too large for a 64-bit float is refused.
pub(crate) const ID_OUT_OF_RANGE: &str = "\"id\" is a number too large for a 64-bit float";

/// The reason a string id holding an unpaired surrogate escape is refused.
pub(crate) const ID_UNPAIRED_SURROGATE: &str = "\"id\" is a string with an unpaired surrogate escape";

/// Whether `id` (valid JSON) is anything but a string whose escapes make no
/// text: `"\ud800"` alone is JSON's grammar, but no Unicode string, and
/// serde_json-based clients fail on the whole response echoing it.
fn decodes_as_text(id: &str) -> bool {
    !id.starts_with('"') || !id.contains("\\u") || serde_json::from_str::<String>(id).is_ok()
}

/// Whether `id` (valid JSON) is a string or `null`, or a number a 64-bit
/// float can hold: `1e999` or a 400-digit integer cannot (it reads as
/// infinite). Precision does not matter: the id is echoed as received.
fn fits_a_float(id: &str) -> bool {
    if !matches!(first_byte(id), b'-' | b'0'..=b'9') {
        return true;
    }
    // Without an exponent, 308 digits stay below f64::MAX (about 1.8e308).
    if id.len() <= 308 && !id.bytes().any(|b| matches!(b, b'e' | b'E')) {
        return true;
    }
    // JSON's number grammar is a subset of Rust's float syntax.
    id.parse::<f64>().is_ok_and(f64::is_finite)
}

/// A JSON string's value, borrowed when it holds no escapes.
fn decode_str(raw: &str) -> Option<Cow<'_, str>> {
    // `raw` is valid JSON: a string without escapes is what lies between its quotes.
    if let Some(plain) = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        if !plain.contains('\\') {
            return Some(Cow::Borrowed(plain));
        }
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

/// serde_json's message without its " at line L column C" suffix.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id of a single request, or the reason it was refused.
    fn id_of(text: &str) -> Result<Option<&str>, RpcError> {
        match parse_str(text, &Limits::default())? {
            Message::Single(Entry::Request(request)) => Ok(request.id),
            Message::Single(Entry::Invalid { id: None, error, .. }) => Err(error),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn numbers_a_float_can_hold_are_ids_kept_as_sent() {
        let big = "1".repeat(308);
        for id in [
            "1",
            "-0",
            "123456789012345678901234567890",
            "1.50",
            "1e2",
            "-2.5E+3",
            "1e-999",
            "1.7976931348623157e308",
            &big,
        ] {
            for text in [
                format!(r#"{{"jsonrpc":"2.0","method":"m","id":{id}}}"#),
                format!(r#"{{"method":"m","params":[],"id":{id}}}"#),
                format!(r#"{{"jsonrpc":"2.0","method":"m\u0021","id":{id}}}"#),
            ] {
                assert_eq!(id_of(&text).unwrap(), Some(id), "{text}");
            }
        }
    }

    #[test]
    fn numbers_too_large_for_a_float_are_invalid_requests_with_id_null() {
        let digits = "9".repeat(309);
        let negative = format!("-{digits}");
        for id in ["1e999", "-1e999", "1E400", "1.8e308", "0.1e310", &digits, &negative] {
            for text in [
                format!(r#"{{"jsonrpc":"2.0","method":"m","id":{id}}}"#),
                format!(r#"{{"method":"m","params":[],"id":{id}}}"#),
                format!(r#"{{"jsonrpc":"2.0","method":"m\u0021","id":{id}}}"#),
            ] {
                let error = id_of(&text).unwrap_err();
                assert_eq!(error, RpcError::invalid_request(ID_OUT_OF_RANGE), "{text}");
            }
        }
    }

    /// Found by `fuzz/`'s dispatch target: `"id": "x\ud800"` was echoed,
    /// and no serde_json client could read the answer.
    #[test]
    fn string_ids_with_unpaired_surrogates_are_invalid_requests_with_id_null() {
        for id in [r#""x\ud800""#, r#""\udc00""#, r#""\ud800\u0041""#, r#""\ud800\ud800""#] {
            for text in [
                format!(r#"{{"jsonrpc":"2.0","method":"m","id":{id}}}"#),
                format!(r#"{{"method":"nope","params":[],"id":{id}}}"#),
            ] {
                let error = id_of(&text).unwrap_err();
                assert_eq!(error, RpcError::invalid_request(ID_UNPAIRED_SURROGATE), "{text}");
            }
        }
        // A pair is one character: kept, and echoed as sent.
        for id in [r#""\ud83d\ude00""#, r#""\u0041\n""#, r#""plain""#] {
            let text = format!(r#"{{"jsonrpc":"2.0","method":"m","id":{id}}}"#);
            assert_eq!(id_of(&text).unwrap(), Some(id), "{text}");
        }
    }

    /// Found by `fuzz/`'s parse target: `[1e3081]` was -32700, although it is
    /// JSON (RFC 8259's grammar has no range), because serde_json refuses to
    /// read a number too large for a float even to skip it. Each reader now
    /// skips by syntax alone, so both agree, and a large number outside
    /// `id` is JSON like any other.
    #[test]
    fn numbers_too_large_for_a_float_are_json_outside_the_id() {
        let limits = Limits::default();
        let Ok(Message::Batch(entries)) = parse_str("[1e3081]", &limits) else {
            panic!("a batch of one invalid member")
        };
        assert!(matches!(&entries[..], [Entry::Invalid { id: None, error, .. }] if error.code() == -32600));
        let refused = parse_str(" -1e999 ", &limits).unwrap_err();
        assert_eq!(refused.code(), -32600, "JSON, but not an object or array");
        for text in [
            // The scanner reads these,
            r#"{"jsonrpc":"2.0","x":1e999,"method":"m","params":[1e999],"id":1}"#,
            // serde_json these (an escape, or a 1e999 inside an array member).
            r#"{"jsonrpc":"2.0","x":1e999,"method":"\u006d","params":[1e999],"id":1}"#,
            r#"{"jsonrpc":"2.0","x":[1e999],"method":"m","params":{"a":1e999},"id":1}"#,
        ] {
            for reader in [Reader::ScannerFirst, Reader::SerdeOnly] {
                let Ok(Message::Single(Entry::Request(request))) = parse_str_by(text, &limits, reader) else {
                    panic!("{text} is a request")
                };
                assert_eq!((&*request.method, request.id), ("m", Some("1")), "{text}");
            }
            let batch = format!("[{text},1e999]");
            let Ok(Message::Batch(entries)) = parse_str(&batch, &limits) else {
                panic!("{batch} is a batch")
            };
            assert!(
                matches!(&entries[..], [Entry::Request(_), Entry::Invalid { .. }]),
                "{batch}"
            );
        }
    }

    /// Also from the parse target: JSON whose member name is not Unicode
    /// text (an unpaired surrogate) cannot be read for its members, so it
    /// is `-32700`, as RFC 8259 section 8.2 allows; a string id that is
    /// not Unicode text is `-32600` with id null (found later by the
    /// dispatch target, see below).
    #[test]
    fn member_names_must_be_unicode_ids_must_be_text() {
        let limits = Limits::default();
        for text in [
            r#"{"j\ud83d\ud000":"ping","jsonrpc":"2.0","method":"m","id":1}"#,
            r#"[{"\udc00":1,"jsonrpc":"2.0","method":"m","id":1}]"#,
        ] {
            assert_eq!(parse_str(text, &limits).unwrap_err().code(), -32700, "{text}");
        }
        let text = r#"{"jsonrpc":"2.0","method":"m","id":"\ud800"}"#;
        assert_eq!(
            id_of(text).unwrap_err(),
            RpcError::invalid_request(ID_UNPAIRED_SURROGATE)
        );
    }

    #[test]
    fn a_batch_member_with_an_id_too_large_is_refused_alone() {
        let text = r#"[{"jsonrpc":"2.0","method":"m","id":1e999},{"jsonrpc":"2.0","method":"m","id":2}]"#;
        let Ok(Message::Batch(entries)) = parse_str(text, &Limits::default()) else {
            panic!("a batch")
        };
        assert!(matches!(&entries[0], Entry::Invalid { id: None, error, .. } if error.code() == -32600));
        assert!(matches!(&entries[1], Entry::Request(r) if r.id == Some("2")));
    }
}
