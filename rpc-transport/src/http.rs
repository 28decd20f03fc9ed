//! JSON-RPC over HTTP: one POST body in, one response out.

use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use rpc_core::{Answer, App, Connection, Consumer, Reject, Scope, Transport};

use crate::config::ServerConfig;

/// The response body of every answer.
pub type ResponseBody = Full<Bytes>;

/// Headers that only serve the WebSocket handshake itself; the scope of the
/// connection that follows does not keep them (`sec-websocket-protocol`,
/// the subprotocols offered, stays).
const HANDSHAKE_ONLY: [header::HeaderName; 5] = [
    header::CONNECTION,
    header::UPGRADE,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_EXTENSIONS,
];

/// The scope of a WebSocket connection from its upgrade request. The header
/// values are copied: hyper's own point into its read buffer, which they would
/// keep alive (kilobytes) for as long as the connection lasts.
pub(crate) fn websocket_scope<B>(req: &Request<B>, peer: Option<SocketAddr>) -> Scope {
    let mut scope = Scope::new(Transport::WebSocket, req.uri().path());
    scope.set_query(req.uri().query().map(str::to_owned));
    let headers = scope.headers_mut();
    for (name, value) in req.headers().iter().filter(|(name, _)| !HANDSHAKE_ONLY.contains(name)) {
        let mut owned = HeaderValue::from_bytes(value.as_bytes()).expect("a valid value stays valid");
        owned.set_sensitive(value.is_sensitive());
        headers.append(name.clone(), owned);
    }
    scope.set_peer(peer);
    scope
}

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
    response
}

#[inline]
fn json(status: u16, body: Vec<u8>) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// What serving HTTP needs: the app and the configuration, borrowed (a test
/// communicator) or shared (a service, whose future must own them).
pub(crate) trait HttpHost<C>: Send {
    fn app(&self) -> &App<C>;
    fn config(&self) -> &ServerConfig;
}

impl<C: Consumer> HttpHost<C> for (&App<C>, &ServerConfig) {
    fn app(&self) -> &App<C> {
        self.0
    }

    fn config(&self) -> &ServerConfig {
        self.1
    }
}

/// Serves one HTTP JSON-RPC request: POST only, body within the size limit,
/// 204 for notifications, JSON answers with the configured status mapping.
pub async fn serve_http<C, B>(
    app: &App<C>,
    config: &ServerConfig,
    req: Request<B>,
    peer: Option<SocketAddr>,
) -> Response<ResponseBody>
where
    C: Consumer,
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    serve_request((app, config), req, peer).await
}

/// [`serve_http`] for any host. The request is split before the future is
/// made, and every synchronous step is a plain function, so the future holds
/// little more than the request head while the body arrives and the
/// connection while a method runs: under 1 KiB, not several, for a server
/// that boxes one per request.
pub(crate) fn serve_request<C, B, H>(
    host: H,
    req: Request<B>,
    peer: Option<SocketAddr>,
) -> impl Future<Output = Response<ResponseBody>>
where
    C: Consumer,
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    H: HttpHost<C>,
{
    let (head, body) = req.into_parts();
    async move {
        let config = host.config();
        if let Some(refused) = refuse(config, &head, &body) {
            return refused;
        }
        let body = match Limited::new(body, config.limits.message_size()).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(config, &head.headers),
            Err(_) => {
                let response = plain(StatusCode::BAD_REQUEST, "could not read the request body\n");
                return decorated(config, &head.headers, response);
            }
        };
        let mut connection = http_connection::<C>(head, peer, config);
        if let Err(reject) = connection.connect::<C>().await {
            return decorated(config, connection.scope().headers(), rejected(reject));
        }
        // Sync methods answer at once: no future of theirs is kept in this one.
        let reply = match host.app().start(&connection, &body) {
            Answer::Ready(reply) => reply,
            Answer::Pending(future) => future.await,
        };
        let mut response = match reply {
            None => plain(StatusCode::NO_CONTENT, ""),
            Some(reply) => json(reply.http_status(config.status_mapping), reply.into_body()),
        };
        if let Some(cors) = &config.cors {
            cors.decorate(connection.scope().headers().get(header::ORIGIN), &mut response);
        }
        response
    }
}

/// The answer to a request that goes no further: a preflight, not a POST,
/// a declared body over the limit.
fn refuse<B: Body>(config: &ServerConfig, head: &http::request::Parts, body: &B) -> Option<Response<ResponseBody>> {
    if let Some(preflight) = config.cors.as_ref().and_then(|c| c.preflight(head)) {
        return Some(preflight);
    }
    if head.method != Method::POST {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "JSON-RPC over HTTP takes POST\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Some(decorated(config, &head.headers, response));
    }
    // A declared Content-Length is the body's lower bound: too large, say so now.
    if body.size_hint().lower() > config.limits.message_size() as u64 {
        return Some(too_large(config, &head.headers));
    }
    None
}

/// The connection of one request, its consumer made from its scope. The URI
/// and the headers move into the scope: no copy per request.
fn http_connection<C: Consumer>(
    head: http::request::Parts,
    peer: Option<SocketAddr>,
    config: &ServerConfig,
) -> Connection {
    let mut scope = Scope::for_uri(Transport::Http, head.uri);
    *scope.headers_mut() = head.headers;
    scope.set_peer(peer);
    let consumer = C::new(&scope);
    Connection::new(consumer, scope).with_layer(config.layer.clone(), None)
}

fn too_large(config: &ServerConfig, request_headers: &HeaderMap) -> Response<ResponseBody> {
    let response = plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    decorated(config, request_headers, response)
}

/// `response` with the CORS headers for the request's `Origin`, when CORS is
/// on. The origin is looked up at the end, so the future does not carry it.
fn decorated(
    config: &ServerConfig,
    request_headers: &HeaderMap,
    mut response: Response<ResponseBody>,
) -> Response<ResponseBody> {
    if let Some(cors) = &config.cors {
        cors.decorate(request_headers.get(header::ORIGIN), &mut response);
    }
    response
}
