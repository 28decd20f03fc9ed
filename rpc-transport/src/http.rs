//! JSON-RPC over HTTP: one POST body in, one response out.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::Either;
use futures_util::FutureExt;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;
use rpc_core::{Answer, App, Connection, Consumer, Scope, Transport};
use tower_http::cors::CorsLayer;
use tower_layer::Layer;
use tower_service::Service;

use crate::config::ServerConfig;

pub use crate::response::ResponseBody;
use crate::response::{plain, rejected};

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
/// 204 for notifications, JSON answers with the configured status mapping,
/// through the CORS layer when one is configured.
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
    match config.cors_layer() {
        None => serve_request((app, config), req, peer).await,
        Some(cors) => serve_with_cors(cors, (app, config), req, peer).await,
    }
}

/// [`serve_request`] inside tower-http's CORS layer. A preflight for a method
/// other than POST is refused here, before the layer would answer it.
pub(crate) fn serve_with_cors<C, B, H>(
    cors: &CorsLayer,
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
    let refused = req.method() == Method::OPTIONS
        && req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|m| m.as_bytes() != b"POST");
    if refused {
        let response = plain(StatusCode::FORBIDDEN, "CORS preflight: only POST is allowed\n");
        return Either::Left(std::future::ready(response));
    }
    let inner = OneCall(Some(move |req| serve_request(host, req, peer).map(Ok::<_, Infallible>)));
    let mut service = cors.layer(inner);
    let call = service.call(req);
    Either::Right(call.map(|answered| match answered {
        Ok(response) => response,
        Err(never) => match never {},
    }))
}

/// A service answering one request with a function: what the CORS layer wraps
/// for each request, so that the request's future is not boxed a second time.
struct OneCall<F>(Option<F>);

impl<F, Fut, B> Service<Request<B>> for OneCall<F>
where
    F: FnOnce(Request<B>) -> Fut,
    Fut: Future<Output = Result<Response<ResponseBody>, Infallible>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Fut;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Fut {
        (self.0.take().expect("called once"))(req)
    }
}

/// One request without CORS. The request is split before the future is
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
    let span = tracing::debug_span!(
        "connection",
        transport = "http",
        peer = %crate::ws::DisplayPeer(peer),
        path = head.uri.path(),
    );
    let answer = async move {
        let config = host.config();
        if let Some(refused) = refuse(config, &head, &body) {
            return refused;
        }
        let body = match read_body(body, config).await {
            Some(Ok(body)) => body,
            Some(Err(BodyError::TooLarge)) => return too_large(),
            Some(Err(BodyError::Unreadable)) => {
                return plain(StatusCode::BAD_REQUEST, "could not read the request body\n")
            }
            None => return body_timed_out(),
        };
        let mut scope = http_scope(head, peer);
        let consumer = C::new(&scope);
        if let Err(reject) = consumer.connect(&mut scope).await {
            return rejected(reject);
        }
        let connection = Connection::new(consumer, scope).with_layer(config.channel_layer().clone(), None);
        let middleware = host.app().dispatcher().middleware();
        middleware.connected(&connection);
        let _ended = Ended {
            middleware,
            connection: &connection,
        };
        middleware.message_in(&connection, &body);
        // Sync methods answer at once: no future of theirs is kept in this one.
        let reply = match host.app().start(&connection, &body) {
            Answer::Ready(reply) => reply,
            Answer::Pending(future) => future.await,
        };
        if let Some(reply) = &reply {
            middleware.message_out(&connection, reply.body());
        }
        match reply {
            None => plain(StatusCode::NO_CONTENT, ""),
            Some(reply) => json(reply.http_status(config.status_mapping()), reply.into_body()),
        }
    };
    tracing::Instrument::instrument(answer, span)
}

/// Tells the middlewares that an HTTP request's connection ended, however it
/// ends: answered, or dropped by hyper in the middle of a call (the client
/// went away, or the shutdown's time ran out), so that every
/// `on_connect` has its `on_disconnect`.
struct Ended<'a> {
    middleware: &'a rpc_core::middleware::Middlewares,
    connection: &'a Connection,
}

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        self.middleware.disconnected(self.connection, None);
    }
}

/// The answer to a request that goes no further: not a POST, a declared body
/// over the limit.
fn refuse<B: Body>(config: &ServerConfig, head: &http::request::Parts, body: &B) -> Option<Response<ResponseBody>> {
    if head.method != Method::POST {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "JSON-RPC over HTTP takes POST\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Some(response);
    }
    // A declared Content-Length is the body's lower bound: too large, say so now.
    if body.size_hint().lower() > config.limits().message_size() as u64 {
        return Some(too_large());
    }
    None
}

/// The scope of one request. The URI and the headers move into it: no copy
/// per request.
fn http_scope(head: http::request::Parts, peer: Option<SocketAddr>) -> Scope {
    let mut scope = Scope::for_uri(Transport::Http, head.uri);
    *scope.headers_mut() = head.headers;
    scope.set_peer(peer);
    scope
}

/// The whole body within the size limit, or `None` past the body read
/// timeout. A body that came with its head (the usual small request) is read
/// at once, with no timer; only one still arriving is timed.
async fn read_body<B>(body: B, config: &ServerConfig) -> Option<Result<Bytes, BodyError>>
where
    B: Body<Data = Bytes>,
{
    let mut collect = std::pin::pin!(collect_body(body, config.limits().message_size()));
    let first = std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(collected) => Some(collected),
        Poll::Pending => tokio::time::timeout(config.body_read_timeout(), collect).await.ok(),
    }
}

/// Why a request body was not read whole.
#[derive(Debug, PartialEq)]
enum BodyError {
    /// Its data passed the limit: the rest is not read.
    TooLarge,
    /// The body failed (the connection broke, a malformed chunk).
    Unreadable,
}

/// The data of `body`, at most `limit` bytes of it. One chunk, the usual
/// request's, is kept as it came; more are joined into one buffer.
/// (http-body-util's `Limited` and `collect` do the same with a list of
/// chunks allocated for every body: `bench/instructions.sh` counted 15,571
/// instructions per HTTP `ping` with them and 15,313 with this.)
async fn collect_body<B: Body<Data = Bytes>>(body: B, limit: usize) -> Result<Bytes, BodyError> {
    let mut body = std::pin::pin!(body);
    let mut first = None;
    let mut joined: Option<bytes::BytesMut> = None;
    let mut len = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let Ok(data) = frame.map_err(|_| BodyError::Unreadable)?.into_data() else {
            continue; // trailers
        };
        len += data.len();
        if len > limit {
            return Err(BodyError::TooLarge);
        }
        match (&mut joined, first.take()) {
            (Some(joined), _) => joined.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(earlier)) => {
                let mut both = bytes::BytesMut::with_capacity(len);
                both.extend_from_slice(&earlier);
                both.extend_from_slice(&data);
                joined = Some(both);
            }
        }
    }
    Ok(match joined {
        Some(joined) => joined.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// 408, and the connection closes: its body is still arriving.
fn body_timed_out() -> Response<ResponseBody> {
    let mut response = plain(StatusCode::REQUEST_TIMEOUT, "request body not received in time\n");
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn too_large() -> Response<ResponseBody> {
    plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n")
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::HeaderMap;
    use http_body::Frame;
    use http_body_util::StreamBody;

    use super::{collect_body, BodyError};

    type Chunk = Result<Frame<Bytes>, &'static str>;

    /// A body that yields `frames`, then ends.
    fn body(frames: Vec<Chunk>) -> StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Chunk>>> {
        StreamBody::new(futures_util::stream::iter(frames))
    }

    fn data(text: &'static str) -> Chunk {
        Ok(Frame::data(Bytes::from_static(text.as_bytes())))
    }

    #[tokio::test]
    async fn one_chunk_is_kept_as_it_came_and_more_are_joined() {
        let chunk = Bytes::from_static(b"{\"id\":1}");
        let one = collect_body(body(vec![Ok(Frame::data(chunk.clone()))]), 64)
            .await
            .unwrap();
        assert_eq!(one, chunk);
        assert_eq!(one.as_ptr(), chunk.as_ptr(), "not copied");
        let three = collect_body(body(vec![data("[1,"), data("2,"), data("3]")]), 64).await;
        assert_eq!(three.unwrap(), Bytes::from_static(b"[1,2,3]"));
        let trailers = Ok(Frame::trailers(HeaderMap::new()));
        let with_trailers = collect_body(body(vec![data("[1]"), trailers]), 64).await;
        assert_eq!(with_trailers.unwrap(), Bytes::from_static(b"[1]"));
        let empty = collect_body(http_body_util::Empty::<Bytes>::new(), 64).await;
        assert_eq!(empty.unwrap(), Bytes::new());
    }

    #[tokio::test]
    async fn the_limit_is_on_the_whole_body_and_a_failed_body_is_unreadable() {
        let at_limit = collect_body(body(vec![data("1234"), data("5678")]), 8).await;
        assert_eq!(at_limit.unwrap(), Bytes::from_static(b"12345678"));
        let over = collect_body(body(vec![data("1234"), data("56789")]), 8).await;
        assert_eq!(over, Err(BodyError::TooLarge));
        let failed = collect_body(body(vec![data("12"), Err("reset")]), 8).await;
        assert_eq!(failed, Err(BodyError::Unreadable));
    }
}
