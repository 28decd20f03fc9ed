//! [`RpcError`]: the error object of a JSON-RPC response, and the standard codes.

use std::borrow::Cow;
use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::Value;

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist or is not available on this transport.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal error; also what a panicking method answers.
pub const INTERNAL_ERROR: i64 = -32603;
/// Application error, the code the Python original gives every exception.
pub const APPLICATION_ERROR: i64 = -32000;
/// A call ran past its timeout (`data`: `{"limit": "call_timeout", "timeout_ms": N}`).
pub const CALL_TIMED_OUT: i64 = -32001;
/// A connection called faster than its rate limit allows (`data`:
/// `{"limit": "rate_limit", "calls_per_second": N, "retry_after_ms": M}`).
pub const RATE_LIMITED: i64 = -32002;

/// The error member of a JSON-RPC response: a code, a message and optional data.
///
/// ```
/// use channels_rpc::RpcError;
///
/// let err = RpcError::application("fake_error");
/// assert_eq!(err.code(), -32000);
/// assert_eq!(
///     serde_json::to_string(&err).unwrap(),
///     r#"{"code":-32000,"message":"fake_error","data":["fake_error"]}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    code: i64,
    message: Cow<'static, str>,
    data: Option<Value>,
}

impl RpcError {
    /// An error with any code and message and no data.
    pub fn new(code: i64, message: impl Into<Cow<'static, str>>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The same error with `data` attached.
    pub fn with_data(mut self, data: impl Into<Value>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// `-32700 Parse error`: the message is not valid JSON.
    pub fn parse_error() -> Self {
        RpcError::new(PARSE_ERROR, "Parse error")
    }

    /// `-32600 Invalid Request`, with the reason as data.
    pub fn invalid_request(reason: impl Into<String>) -> Self {
        RpcError::new(INVALID_REQUEST, "Invalid Request").with_data(reason.into())
    }

    /// `-32601 Method not found`, naming the method as data.
    pub fn method_not_found(method: &str) -> Self {
        RpcError::new(METHOD_NOT_FOUND, "Method not found").with_data(method)
    }

    /// `-32602 Invalid params`, with the detail (which parameter, and why)
    /// as data.
    ///
    /// ```
    /// use channels_rpc::RpcError;
    ///
    /// let err = RpcError::invalid_params("missing parameter `b`");
    /// assert_eq!(
    ///     serde_json::to_string(&err).unwrap(),
    ///     r#"{"code":-32602,"message":"Invalid params","data":"missing parameter `b`"}"#
    /// );
    /// ```
    pub fn invalid_params(detail: impl Into<String>) -> Self {
        RpcError::new(INVALID_PARAMS, "Invalid params").with_data(detail.into())
    }

    /// `-32603 Internal error`, with no detail.
    pub fn internal() -> Self {
        RpcError::new(INTERNAL_ERROR, "Internal error")
    }

    /// `-32001`: the call ran past `limit` and was cancelled.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use channels_rpc::RpcError;
    ///
    /// let err = RpcError::call_timed_out(Duration::from_millis(1500));
    /// assert_eq!(
    ///     serde_json::to_string(&err).unwrap(),
    ///     r#"{"code":-32001,"message":"Call timed out","data":{"limit":"call_timeout","timeout_ms":1500}}"#
    /// );
    /// ```
    pub fn call_timed_out(limit: std::time::Duration) -> Self {
        RpcError::new(CALL_TIMED_OUT, "Call timed out").with_data(serde_json::json!({
            "limit": "call_timeout",
            "timeout_ms": u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
        }))
    }

    /// `-32002`: over the connection's rate of `calls_per_second`; the next
    /// call may come in `retry_after`.
    pub fn rate_limited(calls_per_second: u32, retry_after: std::time::Duration) -> Self {
        RpcError::new(RATE_LIMITED, "Too many calls").with_data(serde_json::json!({
            "limit": "rate_limit",
            "calls_per_second": calls_per_second,
            "retry_after_ms": u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX).max(1),
        }))
    }

    /// The Python original's answer to an exception: code -32000, the message, and
    /// the message again as a one-element `data` array.
    pub fn application(message: impl fmt::Display) -> Self {
        let message = message.to_string();
        let data = Value::Array(vec![Value::String(message.clone())]);
        RpcError::new(APPLICATION_ERROR, message).with_data(data)
    }

    /// The error code.
    pub fn code(&self) -> i64 {
        self.code
    }

    /// The error message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The optional data member.
    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

impl Serialize for RpcError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = if self.data.is_some() { 3 } else { 2 };
        let mut s = serializer.serialize_struct("RpcError", len)?;
        s.serialize_field("code", &self.code)?;
        s.serialize_field("message", &self.message)?;
        if let Some(data) = &self.data {
            s.serialize_field("data", data)?;
        }
        s.end()
    }
}

/// Turns whatever a method returned as its error into an [`RpcError`]: an
/// `RpcError` is kept as it is, any other error becomes
/// [`RpcError::application`] of its `Display`.
pub fn into_rpc_error<E: fmt::Display + 'static>(error: E) -> RpcError {
    let mut slot = Some(error);
    let any: &mut dyn std::any::Any = &mut slot;
    match any.downcast_mut::<Option<RpcError>>() {
        Some(rpc) => rpc.take().expect("slot is filled"),
        None => RpcError::application(slot.expect("slot is filled")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_error_passes_through_and_others_become_application_errors() {
        let kept = into_rpc_error(RpcError::new(-32001, "custom"));
        assert_eq!(kept, RpcError::new(-32001, "custom"));
        let io = into_rpc_error(std::io::Error::other("disk full"));
        assert_eq!(io.code(), APPLICATION_ERROR);
        assert_eq!(io.data(), Some(&serde_json::json!(["disk full"])));
    }
}
