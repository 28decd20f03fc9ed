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
use crate::http::{plain, serve_http, ResponseBody};
use crate::stats::Stats;
use crate::ws::{is_upgrade, serve_upgrade, WsShared};

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
/// # let _ = service;
/// ```
#[derive(Debug)]
pub struct RpcService<C> {
    app: App<C>,
    shared: WsShared,
    http: bool,
    websocket: bool,
    /// Keeps the shutdown channel open when no server owns it.
    _shutdown: Option<Arc<watch::Sender<bool>>>,
}

impl<C> Clone for RpcService<C> {
    fn clone(&self) -> Self {
        RpcService {
            app: self.app.clone(),
            shared: self.shared.clone(),
            http: self.http,
            websocket: self.websocket,
            _shutdown: self._shutdown.clone(),
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
        let mut service = Self::inner(app, config, shutdown, Stats::default());
        service._shutdown = Some(Arc::new(sender));
        service
    }

    pub(crate) fn inner(app: App<C>, config: ServerConfig, shutdown: watch::Receiver<bool>, stats: Stats) -> Self {
        let app = app.limits(config.limits);
        RpcService {
            app,
            shared: WsShared {
                config,
                shutdown,
                stats,
            },
            http: true,
            websocket: true,
            _shutdown: None,
        }
    }

    /// Serves HTTP POST (default true).
    pub fn http(mut self, on: bool) -> Self {
        self.http = on;
        self
    }

    /// Serves WebSocket upgrades (default true).
    pub fn websocket(mut self, on: bool) -> Self {
        self.websocket = on;
        self
    }

    pub(crate) fn serves(&self, upgrade: bool) -> bool {
        if upgrade {
            self.websocket
        } else {
            self.http
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
        let service = self.clone();
        async move {
            let peer = peer.or_else(|| req.extensions().get::<SocketAddr>().copied());
            if is_upgrade(&req) || !service.http {
                if !service.websocket {
                    return plain(StatusCode::NOT_FOUND, "no WebSocket endpoint here\n");
                }
                serve_upgrade(service.app.clone(), service.shared.clone(), req, peer).await
            } else {
                serve_http(&service.app, &service.shared.config, req, peer).await
            }
        }
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
