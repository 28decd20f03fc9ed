//! [`Asset`]: a static file held in memory, served on GET and HEAD with an
//! `ETag`, so browsers revalidate it with `If-None-Match` and get `304 Not
//! Modified` while it is unchanged. The JavaScript client of channels-rpc is
//! one ([`Asset::client_script`]); a page of your own is another.
//!
//! ```
//! use channels_rpc::{Asset, Consumer, Server, ServerConfig};
//!
//! #[derive(Consumer, Default)]
//! struct Chat;
//!
//! let server = Server::bind("127.0.0.1:0")
//!     .config(ServerConfig::builder().serve_client("/channels-rpc.js").build().unwrap())
//!     .asset("/", Asset::html("<!doctype html><title>chat</title><script type=module src=/app.js></script>"))
//!     .websocket("/ws/", Chat::app());
//! # let _ = server;
//! ```

use std::convert::Infallible;
use std::hash::{DefaultHasher, Hasher};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::response::ResponseBody;

/// The JavaScript client, `js/channels-rpc.js` in the repository.
const CLIENT_SCRIPT: &str = include_str!("../../js/channels-rpc.js");

/// A static file served from memory: its bytes, content type and `ETag`.
/// Cloning it is a reference count.
#[derive(Debug, Clone)]
pub struct Asset {
    body: Bytes,
    etag: HeaderValue,
    headers: HeaderMap,
}

impl Asset {
    /// An asset of `content_type` (e.g. `"image/svg+xml"`). Its `ETag` is a
    /// hash of the bytes; `Cache-Control: no-cache` makes browsers revalidate
    /// it on each use, so a new version shows at once and an unchanged one
    /// costs a `304`.
    ///
    /// # Panics
    /// If `content_type` is not a valid header value.
    pub fn new(content_type: &str, body: impl Into<Bytes>) -> Self {
        let body = body.into();
        let mut hasher = DefaultHasher::new();
        hasher.write(&body);
        let etag = HeaderValue::try_from(format!("\"{:016x}-{:x}\"", hasher.finish(), body.len()))
            .expect("hex digits are a valid header value");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::try_from(content_type).expect("a valid content type"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::ETAG, etag.clone());
        Asset { body, etag, headers }
    }

    /// An HTML page (`text/html; charset=utf-8`).
    pub fn html(page: impl Into<Bytes>) -> Self {
        Self::new("text/html; charset=utf-8", page)
    }

    /// A JavaScript module (`text/javascript; charset=utf-8`, RFC 9239).
    pub fn javascript(script: impl Into<Bytes>) -> Self {
        Self::new("text/javascript; charset=utf-8", script)
    }

    /// The channels-rpc JavaScript client, an ES module exporting `connect`.
    /// Usually served through
    /// [`ServerConfigBuilder::serve_client`](crate::ServerConfigBuilder::serve_client).
    pub fn client_script() -> Self {
        Self::javascript(Bytes::from_static(CLIENT_SCRIPT.as_bytes()))
    }

    /// The same asset with one more response header, such as a
    /// `Content-Security-Policy` for a page.
    ///
    /// # Panics
    /// If `name` or `value` is not valid in a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::try_from(name).expect("a valid header name");
        let value = HeaderValue::try_from(value).expect("a valid header value");
        self.headers.insert(name, value);
        self
    }

    /// The bytes served.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The `ETag` sent with it.
    pub fn etag(&self) -> &HeaderValue {
        &self.etag
    }

    /// The response to a request for this asset: `200` with the body on GET
    /// (headers only on HEAD), `304` when `If-None-Match` names its `ETag`,
    /// `405` with `Allow: GET, HEAD` for any other method.
    pub fn respond<B>(&self, req: &Request<B>) -> Response<ResponseBody> {
        let head = req.method() == Method::HEAD;
        if !head && req.method() != Method::GET {
            let mut response = Response::new(Full::new(Bytes::from_static(b"GET or HEAD only\n")));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        if self.matches(req.headers().get_all(header::IF_NONE_MATCH)) {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            let headers = response.headers_mut();
            headers.insert(header::ETAG, self.etag.clone());
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            return response;
        }
        let body = if head { Bytes::new() } else { self.body.clone() };
        let mut response = Response::new(Full::new(body));
        *response.headers_mut() = self.headers.clone();
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        response
    }

    /// Whether an `If-None-Match` header names this asset: `*`, or one of its
    /// comma-separated tags equal to the `ETag` by the weak comparison
    /// (RFC 9110, 13.1.2: a `W/` prefix is ignored).
    fn matches(&self, values: http::header::GetAll<'_, HeaderValue>) -> bool {
        let ours = self.etag.as_bytes();
        values.iter().any(|value| {
            value.as_bytes().split(|&b| b == b',').any(|tag| {
                let tag = tag.trim_ascii();
                let tag = tag.strip_prefix(b"W/").unwrap_or(tag);
                tag == b"*" || tag == ours
            })
        })
    }
}

impl<B> tower_service::Service<Request<B>> for Asset {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<ResponseBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        std::future::ready(Ok(self.respond(&req)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(asset: &Asset, if_none_match: Option<&str>) -> Response<ResponseBody> {
        let mut req = Request::get("/x");
        if let Some(tag) = if_none_match {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        asset.respond(&req.body(()).unwrap())
    }

    #[test]
    fn a_matching_etag_is_not_modified_and_others_get_the_body() {
        let asset = Asset::javascript("export const x = 1;\n");
        let tag = asset.etag().to_str().unwrap().to_owned();
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
        assert_eq!(get(&asset, None).status(), StatusCode::OK);
        assert_eq!(get(&asset, Some(&tag)).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            get(&asset, Some(&format!("W/{tag}"))).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            get(&asset, Some(&format!("\"old\", {tag}"))).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(get(&asset, Some("*")).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(get(&asset, Some("\"old\"")).status(), StatusCode::OK);
    }

    #[test]
    fn the_etag_changes_with_the_bytes() {
        assert_ne!(Asset::html("a").etag(), Asset::html("b").etag());
        assert_eq!(Asset::html("a").etag(), Asset::html("a").etag());
    }

    #[test]
    fn only_get_and_head_are_served() {
        let asset = Asset::html("<p>hi</p>");
        let post = asset.respond(&Request::post("/").body(()).unwrap());
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[header::ALLOW], "GET, HEAD");
        let head = asset.respond(&Request::head("/").body(()).unwrap());
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()[header::CONTENT_LENGTH], "9");
    }
}
