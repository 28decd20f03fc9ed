//! The response body and the small responses every module sends.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use rpc_core::Reject;

/// The response body of every answer.
pub type ResponseBody = Full<Bytes>;

/// A response with a status and a plain-text or empty body.
#[inline]
pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    if !text.is_empty() {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

/// The answer to a connection the consumer's connect hook refused.
pub(crate) fn rejected(reject: Reject) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(reject.reason)));
    *response.status_mut() = StatusCode::from_u16(reject.status).unwrap_or(StatusCode::FORBIDDEN);
    if response.status() == StatusCode::UNAUTHORIZED {
        // RFC 9110: a 401 names the scheme that would be accepted.
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
