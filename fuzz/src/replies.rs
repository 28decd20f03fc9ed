//! The dispatcher's reply held against what the parser read: who is
//! answered, in which version, with which id, and that every reply is JSON
//! a serde_json client can read.

use channels_rpc::{Reply, Version};
use rpc_core::fuzzing::{Member, Outcome};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::members::Members;

/// Panics unless `reply` answers exactly the members of `outcome` that are
/// answered (calls and invalid requests, not notifications), each once,
/// with its version's envelope and its id as sent.
pub fn check(outcome: &Outcome, reply: Option<&Reply>) {
    let mut expected: Vec<(Version, String)> = match outcome {
        Outcome::Refused(_) => vec![(Version::V2, "null".to_owned())],
        Outcome::Single(member) => answered(member).into_iter().collect(),
        Outcome::Batch(members) => members.iter().filter_map(answered).collect(),
    };
    let Some(reply) = reply else {
        assert!(expected.is_empty(), "no reply, but {expected:?} are due one");
        return;
    };
    assert!(!expected.is_empty(), "a reply to notifications only");
    let body = reply.body();
    serde_json::from_slice::<Value>(body).expect("a reply a serde_json client can read");
    let mut got: Vec<(Version, String)> = if matches!(outcome, Outcome::Batch(_)) {
        assert!(reply.is_batch());
        let members: Vec<&RawValue> = serde_json::from_slice(body).expect("a batch reply is an array");
        members.iter().map(|m| envelope(m.get())).collect()
    } else {
        vec![envelope(std::str::from_utf8(body).expect("UTF-8"))]
    };
    expected.sort_by(|a, b| a.1.cmp(&b.1));
    got.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(got, expected, "the answers' versions and ids");
}

/// The version and id text of the answer `member` gets, if any.
fn answered(member: &Member) -> Option<(Version, String)> {
    match member {
        Member::Request { id: None, .. } => None,
        Member::Request {
            version, id: Some(id), ..
        } => Some((*version, id.clone())),
        Member::Invalid { version, id, .. } => Some((*version, id.clone().unwrap_or_else(|| "null".to_owned()))),
    }
}

/// One response object's version and id text; panics unless it has the
/// members its version requires.
fn envelope(json: &str) -> (Version, String) {
    let response: Members<'_> = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    let (result, error) = (response.get("result"), response.get("error"));
    let version = match response.get("jsonrpc") {
        Some("\"2.0\"") => {
            assert!(result.is_some() != error.is_some(), "{json}");
            Version::V2
        }
        Some(other) => panic!("jsonrpc {other} in {json}"),
        None => {
            assert!(result.is_some() && error.is_some(), "{json}");
            Version::V1
        }
    };
    assert!(
        response.len() == 3,
        "{json}: members other than jsonrpc, result, error and id"
    );
    if let Some(error) = error.filter(|&e| e != "null") {
        let error: Value = serde_json::from_str(error).unwrap();
        assert!(error["code"].is_i64() && error["message"].is_string(), "{json}");
    }
    let id = response.get("id").unwrap_or_else(|| panic!("{json} has no id"));
    (version, id.to_owned())
}

/// Whether two replies to one message say the same: both none, or the same
/// bytes; a batch's answers compared in any order (they come in the order
/// their calls finish, which the specification leaves free), each byte for byte.
pub fn same(a: Option<&Reply>, b: Option<&Reply>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) if a.is_batch() && b.is_batch() => batch_members(a) == batch_members(b),
        (Some(a), Some(b)) => a.is_batch() == b.is_batch() && a.body() == b.body(),
        _ => false,
    }
}

fn batch_members(reply: &Reply) -> Vec<String> {
    let members: Vec<&RawValue> = serde_json::from_slice(reply.body()).expect("a batch reply is an array");
    let mut members: Vec<String> = members.iter().map(|m| m.get().to_owned()).collect();
    members.sort();
    members
}
