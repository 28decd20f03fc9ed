//! Not public API: the message parser for the fuzz targets of `fuzz/`
//! (feature `fuzzing`), with a way to read by serde_json alone, so that a
//! target can check that the scanner and serde_json read every message alike.

use crate::error::RpcError;
use crate::limits::Limits;

use super::{parse_by, Entry, Message, Reader, Version};

/// What the parser made of a message, as owned values: two readers agree
/// when their outcomes are equal.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The whole message is answered with this one error (not JSON, too
    /// large or deep, empty or oversized batch, not an object or array).
    Refused(RpcError),
    /// One object.
    Single(Member),
    /// A batch's members, in order.
    Batch(Vec<Member>),
}

/// One object of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    /// A call (`id` is `Some`) or a notification.
    Request {
        /// The protocol version it speaks.
        version: Version,
        /// The id's JSON text as received; `None` for a notification.
        id: Option<String>,
        /// The method name, unescaped.
        method: String,
        /// The JSON text of `params` (an array or an object), if any.
        params: Option<String>,
    },
    /// An invalid request and the error it is answered with.
    Invalid {
        /// The version of its answer.
        version: Version,
        /// The id its answer carries (`None`: `null`).
        id: Option<String>,
        /// The `-32600` error.
        error: RpcError,
    },
}

/// Reads `input` as the dispatcher does: the scanner for the usual shapes,
/// serde_json for the rest.
pub fn read(input: &[u8], limits: &Limits) -> Outcome {
    outcome(parse_by(input, limits, Reader::ScannerFirst))
}

/// Reads `input` with serde_json alone.
pub fn read_by_serde(input: &[u8], limits: &Limits) -> Outcome {
    outcome(parse_by(input, limits, Reader::SerdeOnly))
}

fn outcome(message: Result<Message<'_>, RpcError>) -> Outcome {
    match message {
        Err(error) => Outcome::Refused(error),
        Ok(Message::Single(entry)) => Outcome::Single(member(entry)),
        Ok(Message::Batch(entries)) => Outcome::Batch(entries.into_iter().map(member).collect()),
    }
}

fn member(entry: Entry<'_>) -> Member {
    match entry {
        Entry::Request(request) => Member::Request {
            version: request.version,
            id: request.id.map(str::to_owned),
            method: request.method.into_owned(),
            params: request.params.map(str::to_owned),
        },
        Entry::Invalid { version, id, error } => Member::Invalid {
            version,
            id: id.map(str::to_owned),
            error,
        },
    }
}
