//! [`RpcService`]: a consumer as a `tower::Service`, to mount on any hyper or
//! axum router. The [`Server`](crate::Server) routes to these too.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use rpc_core::{App, Consumer};
use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::http::{serve_request, serve_with_cors, HttpHost};
use crate::response::{plain, ResponseBody};
use crate::stats::Stats;
use crate::ticker::Ticker;
use crate::ws::{is_upgrade, serve_upgrade, WsShared};

/// A response future, boxed, as the server's router keeps it.
pub(crate) type BoxedResponse = Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>;

/// The boxed future of a response.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

/// Serves one consumer's JSON-RPC over HTTP POST and WebSocket upgrades.
///
/// ```
/// use channels_rpc::{Consumer, RpcService};
///
/// #[derive(Consumer, Default)]
/// struct Api;
///
/// // Mount it on your own router, e.g. axum's `route_service("/rpc", service)`.
/// let service = RpcService::new(Api::app());
/// // Its WebSockets outlive their HTTP connections: keep a handle to close
/// // them (with 1001, after their running calls) when the router stops.
/// let shutdown = service.shutdown_handle();
/// # let _ = (service, shutdown);
/// ```
#[derive(Debug)]
pub struct RpcService<C> {
    /// Shared, so that a clone per request is one reference count.
    inner: Arc<Inner<C>>,
}

#[derive(Debug)]
struct Inner<C> {
    app: App<C>,
    /// Shared by every WebSocket of this service: one `Arc` clone per
    /// connection, not a copy of the configuration.
    shared: Arc<WsShared>,
    http: bool,
    websocket: bool,
    /// The shutdown signal of a standalone service; a server's services
    /// have their server's.
    own_shutdown: Option<Arc<watch::Sender<bool>>>,
}

impl<C> Clone for RpcService<C> {
    fn clone(&self) -> Self {
        RpcService {
            inner: self.inner.clone(),
        }
    }
}

impl<C: Consumer> RpcService<C> {
    /// Serves `app` over both HTTP and WebSocket with the default configuration.
    pub fn new(app: App<C>) -> Self {
        Self::with_config(app, ServerConfig::default())
    }

    /// Serves `app` with `config`.
    pub fn with_config(app: App<C>, config: ServerConfig) -> Self {
        let (sender, shutdown) = watch::channel(false);
        Self::build(
            app,
            config,
            shutdown,
            Stats::default(),
            (true, true),
            Some(Arc::new(sender)),
        )
    }

    /// A service of the server's, on its shutdown signal and counters.
    pub(crate) fn mounted(
        app: App<C>,
        config: ServerConfig,
        shutdown: watch::Receiver<bool>,
        stats: Stats,
        (http, websocket): (bool, bool),
    ) -> Self {
        Self::build(app, config, shutdown, stats, (http, websocket), None)
    }

    fn build(
        app: App<C>,
        config: ServerConfig,
        shutdown: watch::Receiver<bool>,
        stats: Stats,
        (http, websocket): (bool, bool),
        own_shutdown: Option<Arc<watch::Sender<bool>>>,
    ) -> Self {
        let app = app.limits(config.limits());
        RpcService {
            inner: Arc::new(Inner {
                app,
                shared: Arc::new(WsShared {
                    ticker: Ticker::new(config.ping_interval()),
                    config,
                    shutdown,
                    stats,
                }),
                http,
                websocket,
                own_shutdown,
            }),
        }
    }

    /// The same service answering HTTP POST or not (default: it does).
    pub fn http(self, on: bool) -> Self {
        let websocket = self.inner.websocket;
        self.with_flags(on, websocket)
    }

    /// The same service answering WebSocket upgrades or not (default: it does).
    pub fn websocket(self, on: bool) -> Self {
        let http = self.inner.http;
        self.with_flags(http, on)
    }

    fn with_flags(self, http: bool, websocket: bool) -> Self {
        let inner = &self.inner;
        RpcService {
            inner: Arc::new(Inner {
                app: inner.app.clone(),
                shared: inner.shared.clone(),
                http,
                websocket,
                own_shutdown: inner.own_shutdown.clone(),
            }),
        }
    }

    /// The handle that shuts this service (and its clones) down: for a
    /// service mounted on a router of your own, whose graceful shutdown
    /// knows nothing of the WebSockets it upgraded.
    pub fn shutdown_handle(&self) -> ServiceShutdown {
        ServiceShutdown {
            signal: self
                .inner
                .own_shutdown
                .clone()
                .expect("only a `Server` holds services without their own shutdown, and never hands them out"),
            stats: self.inner.shared.stats.clone(),
            timeout: self.inner.shared.config.shutdown_timeout(),
        }
    }

    /// Live counts of this service's WebSockets (`connections` stays 0:
    /// the router that mounts the service owns the connections).
    pub fn stats(&self) -> Stats {
        self.inner.shared.stats.clone()
    }

    pub(crate) fn serves(&self, upgrade: bool) -> bool {
        if upgrade {
            self.inner.websocket
        } else {
            self.inner.http
        }
    }

    /// Answers one request from `peer`.
    pub fn respond<B>(
        &self,
        req: Request<B>,
        peer: Option<SocketAddr>,
    ) -> impl Future<Output = Response<ResponseBody>> + Send + 'static
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let upgrade = is_upgrade(&req);
        self.respond_to(req, peer, upgrade)
    }

    /// [`respond`](Self::respond) once the router has seen whether `req` is
    /// an upgrade.
    pub(crate) fn respond_to<B>(
        &self,
        req: Request<B>,
        peer: Option<SocketAddr>,
        upgrade: bool,
    ) -> impl Future<Output = Response<ResponseBody>> + Send + 'static
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let service = self.inner.clone();
        async move {
            let peer = peer.or_else(|| req.extensions().get::<SocketAddr>().copied());
            if upgrade || !service.http {
                if !service.websocket {
                    return plain(StatusCode::NOT_FOUND, "no WebSocket endpoint here\n");
                }
                if *service.shared.shutdown.borrow() {
                    return plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
                }
                serve_upgrade(service.app.clone(), service.shared.clone(), req, peer).await
            } else if let Some(cors) = service.shared.config.cors_layer() {
                serve_with_cors(cors, service.clone(), req, peer).await
            } else {
                serve_request(service, req, peer).await
            }
        }
    }

    /// The response future for a request the server routed here, boxed.
    /// HTTP requests box the HTTP future alone: it is small.
    pub(crate) fn respond_boxed(
        &self,
        req: Request<hyper::body::Incoming>,
        peer: SocketAddr,
        upgrade: bool,
    ) -> BoxedResponse {
        if upgrade || !self.inner.http {
            return Box::pin(self.respond_to(req, Some(peer), upgrade));
        }
        if let Some(cors) = self.inner.shared.config.cors_layer() {
            return Box::pin(serve_with_cors(cors, self.inner.clone(), req, Some(peer)));
        }
        // `Box::new` of the call, not `Box::pin`: the future is then written
        // straight into the allocation instead of being built and copied.
        Box::into_pin(Box::new(serve_request(self.inner.clone(), req, Some(peer))))
    }
}

impl<C: Consumer> HttpHost<C> for Arc<Inner<C>> {
    fn app(&self) -> &App<C> {
        &self.app
    }

    fn config(&self) -> &ServerConfig {
        &self.shared.config
    }
}

impl<C, B> tower_service::Service<Request<B>> for RpcService<C>
where
    C: Consumer,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        let response = self.respond(req, None);
        Box::pin(async move { Ok(response.await) })
    }
}

/// Shuts a standalone [`RpcService`] down: made by
/// [`RpcService::shutdown_handle`].
///
/// Mounted on axum (or any router), an `RpcService`'s WebSockets run in
/// their own tasks once upgraded: the router's graceful shutdown neither
/// waits for them nor closes them. Call [`shutdown`](Self::shutdown) after
/// (or while) the router stops.
#[derive(Debug, Clone)]
pub struct ServiceShutdown {
    signal: Arc<watch::Sender<bool>>,
    stats: Stats,
    timeout: std::time::Duration,
}

impl ServiceShutdown {
    /// Shuts down gracefully and waits until every WebSocket is closed:
    /// each stops reading, lets its running calls finish (within the
    /// configuration's `shutdown_timeout`), sends their replies and closes
    /// with 1001. New upgrades are answered 503 from now on; HTTP POST is
    /// still answered while the router serves it.
    pub async fn shutdown(self) {
        self.signal.send_replace(true);
        // The drain is bounded by `shutdown_timeout`; a second more covers
        // the close handshakes.
        let closed = self.stats.all_closed();
        if tokio::time::timeout(self.timeout + std::time::Duration::from_secs(1), closed)
            .await
            .is_err()
        {
            tracing::warn!("service shutdown timed out with WebSockets still open");
        }
    }
}
