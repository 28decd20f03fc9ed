//! The one error type of the client.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything a call, notification or batch can fail with.
///
/// The variants tell apart where it went wrong: the connection
/// ([`Error::Transport`], [`Error::Disconnected`]), time ([`Error::Timeout`]),
/// the server's answer ([`Error::Rpc`], [`Error::Decode`]) and this client's
/// own bounds and input ([`Error::TooManyPending`], [`Error::InvalidParams`],
/// [`Error::InvalidUrl`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL is not `http://`, `https://`, `ws://` or `wss://`, or does not parse.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// Connecting, sending or receiving failed (refused connection, failed
    /// handshake, an HTTP status without a JSON-RPC body, ...).
    #[error("transport error: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The WebSocket connection ended (or was reconnecting) before the answer came.
    #[error("the connection closed before the answer came")]
    Disconnected,
    /// No answer within the call's timeout.
    #[error("`{method}` got no answer within {after:?}")]
    Timeout {
        /// The method called.
        method: String,
        /// The timeout that passed.
        after: Duration,
    },
    /// The server answered with a JSON-RPC error object.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The server's answer is not JSON-RPC, or its result is not of the type asked for.
    #[error("cannot decode the answer: {0}")]
    Decode(String),
    /// `limit` calls already wait for their answers on this client.
    #[error("{limit} calls already wait for answers (the client's bound)")]
    TooManyPending {
        /// The bound ([`crate::ClientBuilder::max_pending`]).
        limit: usize,
    },
    /// The params do not serialize to a JSON array or object (or to nothing).
    #[error("params must be an array (tuple, Vec) or an object (struct, map): {0}")]
    InvalidParams(String),
}

impl Error {
    pub(crate) fn transport(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Transport(error.into())
    }

    /// The JSON-RPC error object, if the server answered with one.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            Self::Rpc(error) => Some(error),
            _ => None,
        }
    }
}

/// A JSON-RPC error object from the server: `code`, `message` and optional `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// The error code (-32700 ..= -32600 are the protocol's own).
    pub code: i64,
    /// A short description.
    pub message: String,
    /// Any further information the server sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error object with no `data`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// -32601 Method not found.
    pub fn method_not_found() -> Self {
        Self::new(-32601, "Method not found")
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)?;
        if let Some(data) = &self.data {
            write!(f, " (data: {data})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

/// The result of everything in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
