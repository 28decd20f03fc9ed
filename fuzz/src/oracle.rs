//! The parser's outcome held against the specification's rules, applied here
//! a second time to serde_json's own reading of the same bytes.
//!
//! The rules, as the README's "Wire behaviour" states them: a message that is
//! not JSON is `-32700` (JSON by syntax: a number too large for a float is
//! still JSON); one that is JSON but neither an object nor a non-empty array
//! is `-32600`; an object is a 2.0 request when `"jsonrpc"` is `"2.0"`, a 1.0
//! request when it has no `jsonrpc` but a `method` and an `id` and is not in
//! a batch; `method` is a string; `params`, if present, an array or an object
//! (or `null` in 1.0); `id` a string, `null` or a number a 64-bit float can
//! hold; no member of these four twice. A 1.0 id `null` is a notification.
//! A member name that is not Unicode text (`"\ud800"`) makes the message
//! `-32700`.

use rpc_core::error::{INVALID_REQUEST, PARSE_ERROR};
use rpc_core::fuzzing::{Member, Outcome};
use rpc_core::{Limits, RpcError, Version};
use serde_json::value::RawValue;

use crate::members::Members;

/// Panics unless `outcome`, what the parser made of `input` under `limits`,
/// follows the rules.
pub fn check(input: &[u8], outcome: &Outcome, limits: &Limits) {
    let json = serde_json::from_slice::<&RawValue>(input);
    match outcome {
        Outcome::Refused(error) if error.code() == PARSE_ERROR => {
            if let Ok(json) = json {
                assert!(has_a_name_not_unicode(json.get()), "JSON refused as not JSON");
            }
        }
        Outcome::Refused(error) => {
            assert_eq!(error.code(), INVALID_REQUEST, "{error:?}");
            if !refused_for_a_limit(input, error, limits) {
                let json = json.expect("not JSON refused as an invalid request");
                check_refusal(json.get(), error, limits);
            }
        }
        Outcome::Single(member) => {
            let json = json.expect("not JSON read as a request");
            check_member(json.get(), member, false);
        }
        Outcome::Batch(members) => {
            let json = json.expect("not JSON read as a batch");
            let items: Vec<&RawValue> = serde_json::from_str(json.get()).expect("a batch is an array");
            assert_eq!(items.len(), members.len(), "a batch member lost or added");
            for (item, member) in items.iter().zip(members) {
                check_member(item.get(), member, true);
            }
        }
    }
}

/// Whether an object of the message (or of the batch) has a member name
/// that is not Unicode text (an unpaired surrogate escape such as
/// `"\ud800"`): JSON by syntax, but RFC 8259 (section 8.2) leaves such a
/// name to the receiver, and the parser, which must decode the names to
/// find its members, answers `-32700`. Values are not decoded unless used.
fn has_a_name_not_unicode(json: &str) -> bool {
    let objects: Vec<&RawValue> = match json.as_bytes()[0] {
        b'[' => serde_json::from_str(json).expect("an array"),
        _ => vec![serde_json::from_str(json).expect("JSON")],
    };
    objects
        .iter()
        .any(|o| o.get().starts_with('{') && serde_json::from_str::<Members<'_>>(o.get()).is_err())
}

/// Whether `error` is the size or depth refusal, which comes before any
/// reading; then it must be true.
fn refused_for_a_limit(input: &[u8], error: &RpcError, limits: &Limits) -> bool {
    let reason = error.data().and_then(|d| d.as_str()).unwrap_or_default();
    if reason.starts_with("message of ") {
        assert!(input.len() > limits.message_size(), "{reason}");
        return true;
    }
    if reason.starts_with("message nests deeper") {
        let opening = input.iter().filter(|&&b| b == b'[' || b == b'{').count();
        assert!(opening > limits.depth(), "{reason} with {opening} brackets");
        return true;
    }
    false
}

/// The other refusals of a whole message: not an object or array, an empty
/// or oversized batch.
fn check_refusal(json: &str, error: &RpcError, limits: &Limits) {
    match json.as_bytes()[0] {
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(json).expect("an array");
            assert!(
                items.is_empty() || items.len() > limits.batch_len(),
                "a batch of {} refused whole: {error:?}",
                items.len()
            );
        }
        b'{' => panic!("an object refused whole: {error:?}"),
        _ => {}
    }
}

/// What the rules make of one object: a request of this version, or invalid.
fn judge(members: &Members<'_>, in_batch: bool) -> Option<Version> {
    if ["jsonrpc", "method", "params", "id"]
        .iter()
        .any(|name| members.repeats(name))
    {
        return None;
    }
    let version = match members.get("jsonrpc") {
        Some(v) => (string(v).as_deref() == Some("2.0")).then_some(Version::V2)?,
        None if !in_batch && members.get("method").is_some() && members.get("id").is_some() => Version::V1,
        None => return None,
    };
    string(members.get("method")?)?;
    if let Some(id) = members.get("id") {
        // A string is echoed as sent when it decodes to text (an unpaired
        // surrogate escape does not); a number when a float can hold it.
        let number_fits = || serde_json::from_str::<f64>(id).is_ok();
        let scalar = id == "null" || (id.starts_with('"') && string(id).is_some()) || number_fits();
        if !scalar {
            return None;
        }
    }
    match members.get("params").map(|p| p.as_bytes()[0]) {
        None | Some(b'[' | b'{') => {}
        Some(b'n') if version == Version::V1 => {}
        Some(_) => return None,
    }
    Some(version)
}

fn string(json: &str) -> Option<String> {
    serde_json::from_str(json).ok()
}

/// Panics unless `member` is what the rules make of the object (or other
/// value) `json`.
fn check_member(json: &str, member: &Member, in_batch: bool) {
    let Ok(members) = serde_json::from_str::<Members<'_>>(json) else {
        assert!(
            matches!(member, Member::Invalid { version: Version::V2, id: None, error } if error.code() == INVALID_REQUEST),
            "{json} is not an object but read as {member:?}"
        );
        return;
    };
    let judged = judge(&members, in_batch);
    match member {
        Member::Request {
            version,
            id,
            method,
            params,
        } => {
            assert_eq!(judged, Some(*version), "{json} read as {member:?}");
            assert_eq!(string(members.get("method").unwrap()).as_deref(), Some(method.as_str()));
            match id {
                Some(id) => assert_eq!(members.get("id"), Some(id.as_str()), "the id is not echoed as sent"),
                None => {
                    assert!(members.get("id").is_none() || *version == Version::V1 && members.get("id") == Some("null"))
                }
            }
            match params {
                Some(params) => assert_eq!(members.get("params"), Some(params.as_str())),
                None => assert!(members
                    .get("params")
                    .is_none_or(|p| *version == Version::V1 && p == "null")),
            }
        }
        Member::Invalid { id, error, .. } => {
            assert_eq!(judged, None, "{json}, a request, refused with {error:?}");
            assert_eq!(error.code(), INVALID_REQUEST);
            if let Some(id) = id {
                assert_eq!(
                    members.get("id"),
                    Some(id.as_str()),
                    "an invalid request's id is not echoed as sent"
                );
            }
        }
    }
}
