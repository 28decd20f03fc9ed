//! [`Cors`]: which browser origins may call the HTTP endpoint.

use std::time::Duration;

use http::{header, HeaderValue, Method, Response, StatusCode};

use crate::http::{plain, ResponseBody};

/// Cross-origin settings for JSON-RPC over HTTP. Off unless configured
/// ([`ServerConfig::cors`](crate::ServerConfig::cors)).
///
/// ```
/// use channels_rpc::{Cors, ServerConfig};
///
/// let config = ServerConfig::default().cors(Cors::origins(["https://app.example"]));
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Option<Vec<HeaderValue>>,
    max_age: Duration,
}

impl Cors {
    /// Any origin may call (`Access-Control-Allow-Origin: *`).
    pub fn any() -> Self {
        Cors {
            origins: None,
            max_age: Duration::from_secs(600),
        }
    }

    /// Only these origins may call (`https://host[:port]`).
    pub fn origins<'a>(origins: impl IntoIterator<Item = &'a str>) -> Self {
        Cors {
            origins: Some(
                origins
                    .into_iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok())
                    .collect(),
            ),
            max_age: Duration::from_secs(600),
        }
    }

    /// How long browsers may cache a preflight answer (default 10 minutes).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The `Access-Control-Allow-Origin` value for this request, if allowed.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin?;
        match &self.origins {
            None => Some(HeaderValue::from_static("*")),
            Some(list) => list.iter().any(|o| o == origin).then(|| origin.clone()),
        }
    }

    /// Answers a preflight request, if this is one.
    pub(crate) fn preflight(&self, req: &http::request::Parts) -> Option<Response<ResponseBody>> {
        if req.method != Method::OPTIONS || !req.headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
            return None;
        }
        let mut response = plain(StatusCode::NO_CONTENT, "");
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("origin"));
        if let Some(origin) = self.allow_origin(req.headers.get(header::ORIGIN)) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
            let requested = req.headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                requested.unwrap_or(HeaderValue::from_static("content-type")),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(self.max_age.as_secs()),
            );
        }
        Some(response)
    }

    /// Adds the CORS headers an actual response needs.
    pub(crate) fn decorate(&self, origin: Option<&HeaderValue>, response: &mut Response<ResponseBody>) {
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("origin"));
        if let Some(origin) = self.allow_origin(origin) {
            response
                .headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
    }
}
