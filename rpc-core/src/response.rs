//! Writing responses: each envelope is written straight into one buffer, and
//! the id is copied back as the exact bytes received.

use std::cell::Cell;

use serde::Serialize;

use crate::error::{RpcError, INVALID_REQUEST, METHOD_NOT_FOUND};
use crate::json_writer::JsonBuf;
use crate::message::Version;

/// Not public API: one encoded response, as a method's generated wrapper
/// returns it. Only this module makes one, so its body is always a complete
/// JSON-RPC response written by this crate; nothing outside can build or
/// change one:
///
/// ```compile_fail,E0451
/// let forged = rpc_core::__private::Encoded {
///     body: Default::default(),
///     error_code: None,
/// };
/// ```
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The response JSON.
    body: JsonBuf,
    /// The error code when the response is an error, for HTTP status mapping.
    error_code: Option<i64>,
}

impl Encoded {
    /// The response JSON.
    pub fn body(&self) -> &[u8] {
        self.body.as_bytes()
    }

    /// The error code when the response is an error.
    pub fn error_code(&self) -> Option<i64> {
        self.error_code
    }
}

thread_local! {
    /// A batch member's answer buffer, kept once its text is copied into the
    /// batch's array, for the next answer written on this thread: a batch of
    /// sync methods then writes every member into one buffer.
    static SPARE: Cell<Option<JsonBuf>> = const { Cell::new(None) };
}

/// The largest buffer [`SPARE`] keeps (one per thread).
const SPARE_CAPACITY: usize = 4096;

/// An empty buffer with room for `capacity` bytes: the spare one if it is
/// large enough.
fn spare_buffer(capacity: usize) -> JsonBuf {
    match SPARE.take() {
        Some(mut spare) if spare.capacity() >= capacity => {
            spare.clear();
            spare
        }
        _ => JsonBuf::with_capacity(capacity),
    }
}

/// Keeps `body`, whose text was copied elsewhere, as the spare buffer.
fn recycle(body: JsonBuf) {
    if body.capacity() <= SPARE_CAPACITY {
        SPARE.set(Some(body));
    }
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
    success_in(JsonBuf::with_capacity(48 + id.len() + size_hint), version, id, result)
}

/// [`success`] for a member of a batch, written into the spare buffer that
/// the batch's previous answer left.
pub(crate) fn batch_success<T: Serialize + ?Sized>(
    version: Version,
    id: Option<&str>,
    result: &T,
    size_hint: usize,
) -> Encoded {
    let id = id_text(id);
    success_in(spare_buffer(48 + id.len() + size_hint), version, id, result)
}

fn success_in<T: Serialize + ?Sized>(mut body: JsonBuf, version: Version, id: &str, result: &T) -> Encoded {
    body.push_str(match version {
        Version::V2 => r#"{"jsonrpc":"2.0","result":"#,
        Version::V1 => r#"{"result":"#,
    });
    if let Err(e) = body.write(result) {
        tracing::error!(error = %e, "method result failed to serialize");
        return error(version, Some(id), &RpcError::internal());
    }
    body.push_str(match version {
        Version::V2 => r#","id":"#,
        Version::V1 => r#","error":null,"id":"#,
    });
    body.push_str(id);
    body.push_ascii(b'}');
    Encoded { body, error_code: None }
}

/// The error response carrying `err`; `id` is `null` when not given.
pub(crate) fn error(version: Version, id: Option<&str>, err: &RpcError) -> Encoded {
    let id = id_text(id);
    let mut body = JsonBuf::with_capacity(96 + id.len() + err.message().len());
    body.push_str(match version {
        Version::V2 => r#"{"jsonrpc":"2.0","error":"#,
        Version::V1 => r#"{"result":null,"error":"#,
    });
    body.write(err).expect("an RpcError always serializes");
    body.push_str(r#","id":"#);
    body.push_str(id);
    body.push_ascii(b'}');
    Encoded {
        body,
        error_code: Some(err.code()),
    }
}

/// The answer to one incoming message: a response, or a batch's array of them.
///
/// Only this crate makes one, out of responses it wrote itself, so its body
/// is always UTF-8 JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    body: JsonBuf,
    /// Version and error code of a single response; `None` for a batch.
    single: Option<(Version, Option<i64>)>,
}

/// How HTTP statuses are chosen for error responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusMapping {
    /// 2.0 answers are always 200 (errors live in the body); a 1.0 request's
    /// error keeps the "JSON-RPC over HTTP" draft's status.
    #[default]
    Spec,
    /// The draft's status for every single request's error, as the Python
    /// original does.
    Draft,
}

impl Reply {
    /// The response JSON.
    pub fn body(&self) -> &[u8] {
        self.body.as_bytes()
    }

    /// The response JSON, owned.
    pub fn into_body(self) -> Vec<u8> {
        self.body.into_bytes()
    }

    /// The response JSON as text, without scanning it again: every reply is
    /// written by this crate, as UTF-8 from the start.
    pub fn into_text(self) -> String {
        self.body.into_string()
    }

    /// True when the reply answers a batch.
    pub fn is_batch(&self) -> bool {
        self.single.is_none()
    }

    /// The error code of a single error response.
    pub fn error_code(&self) -> Option<i64> {
        self.single.and_then(|(_, code)| code)
    }

    /// The HTTP status for this reply:
    ///
    /// ```
    /// use channels_rpc::StatusMapping;
    /// # use channels_rpc::{Connection, Consumer, Scope, Transport};
    /// # #[derive(Consumer, Default)] struct C;
    /// # let conn = Connection::for_consumer::<C>(Scope::new(Transport::Http, "/"));
    /// # let app = C::app();
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let v1 = rt.block_on(app.handle(&conn, br#"{"method":"nope","params":[],"id":1}"#)).unwrap();
    /// assert_eq!(v1.http_status(StatusMapping::Spec), 404);
    /// let v2 = rt.block_on(app.handle(&conn, br#"{"jsonrpc":"2.0","method":"nope","id":1}"#)).unwrap();
    /// assert_eq!(v2.http_status(StatusMapping::Spec), 200);
    /// assert_eq!(v2.http_status(StatusMapping::Draft), 404);
    /// ```
    pub fn http_status(&self, mapping: StatusMapping) -> u16 {
        match self.single {
            Some((version, Some(code))) if version == Version::V1 || mapping == StatusMapping::Draft => match code {
                INVALID_REQUEST => 400,
                METHOD_NOT_FOUND => 404,
                _ => 500,
            },
            _ => 200,
        }
    }

    /// The reply to a single request (`version` is the request's).
    pub(crate) fn single(version: Version, encoded: Encoded) -> Self {
        Reply {
            body: encoded.body,
            single: Some((version, encoded.error_code)),
        }
    }
}

/// A batch's answers, gathered into one JSON array.
pub(crate) struct BatchReply {
    body: JsonBuf,
}

impl BatchReply {
    pub(crate) fn with_capacity(members: usize) -> Self {
        BatchReply {
            body: JsonBuf::with_capacity(2 + members * 48),
        }
    }

    pub(crate) fn extend(&mut self, answer: Option<Encoded>) {
        if let Some(answer) = answer {
            self.body.push_ascii(if self.body.is_empty() { b'[' } else { b',' });
            self.body.push_json(&answer.body);
            recycle(answer.body);
        }
    }

    /// The array; `None` when every member was a notification.
    pub(crate) fn finish(mut self) -> Option<Reply> {
        if self.body.is_empty() {
            return None;
        }
        self.body.push_ascii(b']');
        Some(Reply {
            body: self.body,
            single: None,
        })
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
            ok.body(),
            br#"{"jsonrpc":"2.0","result":"pong","id":12345678901234567890.5}"#
        );
        let v1 = success(Version::V1, Some(id), &1, 0);
        assert_eq!(v1.body(), br#"{"result":1,"error":null,"id":12345678901234567890.5}"#);
        let err = error(Version::V1, None, &RpcError::new(-1, "no"));
        assert_eq!(
            err.body(),
            br#"{"result":null,"error":{"code":-1,"message":"no"},"id":null}"#
        );
        assert_eq!(err.error_code, Some(-1));
    }

    #[test]
    fn a_batch_member_is_written_whole_into_the_previous_ones_buffer() {
        let mut batch = BatchReply::with_capacity(2);
        let first = batch_success(Version::V2, Some("1"), "a longer first answer", 0);
        let first_buffer = first.body().as_ptr();
        batch.extend(Some(first));
        let second = batch_success(Version::V1, Some("2"), &7, 0);
        assert_eq!(second.body(), br#"{"result":7,"error":null,"id":2}"#);
        assert_eq!(second.body().as_ptr(), first_buffer, "the spare buffer is reused");
        batch.extend(Some(second));
        assert_eq!(
            batch.finish().unwrap().body(),
            br#"[{"jsonrpc":"2.0","result":"a longer first answer","id":1},{"result":7,"error":null,"id":2}]"#
        );
    }

    #[test]
    fn unserializable_result_is_internal_error() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        let out = success(Version::V2, None, &map, 0);
        assert_eq!(out.error_code, Some(-32603));
    }
}
