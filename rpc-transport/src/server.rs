//! [`Server`]: HTTP and WebSocket on one port, routed by path to consumers,
//! with graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rpc_core::{App, ChannelLayer, Consumer};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::asset::Asset;
use crate::config::ServerConfig;
use crate::response::plain;
use crate::service::{BoxedResponse, RpcService};
use crate::shutdown::shutdown_signal;
use crate::stats::{ConnectionGuard, Stats};
use crate::watchdog::{Activity, Timeouts, Watch, Watched};

/// One mounted consumer, with its type erased.
trait Endpoint: Send + Sync {
    fn serves(&self, upgrade: bool) -> bool;
    fn respond(&self, req: Request<Incoming>, peer: SocketAddr, upgrade: bool) -> BoxedResponse;
}

impl Endpoint for Asset {
    fn serves(&self, upgrade: bool) -> bool {
        !upgrade
    }

    fn respond(&self, req: Request<Incoming>, _: SocketAddr, _: bool) -> BoxedResponse {
        Box::pin(std::future::ready(Asset::respond(self, &req)))
    }
}

impl<C: Consumer> Endpoint for RpcService<C> {
    fn serves(&self, upgrade: bool) -> bool {
        RpcService::serves(self, upgrade)
    }

    fn respond(&self, req: Request<Incoming>, peer: SocketAddr, upgrade: bool) -> BoxedResponse {
        self.respond_boxed(req, peer, upgrade)
    }
}

type MakeEndpoint = Box<dyn FnOnce(&ServerConfig, &watch::Receiver<bool>, &Stats) -> Arc<dyn Endpoint> + Send>;

/// Builds a server: bind an address, mount consumers on paths, serve.
///
/// Safe by default (each limit is a [`ServerConfig`] setting):
/// - a request's head must arrive within 10 s of the connection's start or
///   of its first byte after an idle spell, on HTTP/1.1 and h2c alike, the
///   protocol sniffing included (`header_read_timeout`);
/// - an HTTP connection with no request in progress is closed after 60 s
///   (`keep_alive_timeout`);
/// - past 10,000 open connections, HTTP and WebSocket together, new ones are
///   closed as soon as they are accepted, without a response: a 503 would mean
///   reading the request first, holding the descriptor the cap is there to
///   save; accepting resumes as soon as one closes (`max_connections`);
/// - a WebSocket handshake from another site's page is refused with 403
///   before the consumer's connect hook runs ([`AllowedOrigins`](crate::AllowedOrigins));
/// - no CORS headers unless [`Cors`](crate::Cors) is configured.
///
/// ```no_run
/// use channels_rpc::{Consumer, Server};
///
/// #[derive(Consumer, Default)]
/// struct MyConsumer;
///
/// # async fn run() -> std::io::Result<()> {
/// Server::bind("127.0.0.1:8000")
///     .websocket("/ws/", MyConsumer::app())
///     .http("/rpc/", MyConsumer::app())
///     .serve()
///     .await
/// # }
/// ```
pub struct Server {
    addr: String,
    config: ServerConfig,
    routes: Vec<(String, MakeEndpoint)>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths: Vec<_> = self.routes.iter().map(|(p, _)| p.as_str()).collect();
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("config", &self.config)
            .field("paths", &paths)
            .finish()
    }
}

/// The route key of a path: without trailing slashes, so `/rpc` and `/rpc/` match.
fn route_key(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    }
}

impl Server {
    /// A server that will listen on `addr` (`"127.0.0.1:0"` picks a free port).
    pub fn bind(addr: impl Into<String>) -> Self {
        Server {
            addr: addr.into(),
            config: ServerConfig::default(),
            routes: Vec::new(),
        }
    }

    /// Sets the configuration (limits, timers) for every route.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Serves consumer `C` over WebSocket at `path`.
    pub fn websocket<C: Consumer>(self, path: &str, app: App<C>) -> Self {
        self.mount(path, app, false, true)
    }

    /// Serves consumer `C` over HTTP POST at `path`.
    pub fn http<C: Consumer>(self, path: &str, app: App<C>) -> Self {
        self.mount(path, app, true, false)
    }

    /// Serves a static [`Asset`] (a page, a script) on GET and HEAD at
    /// `path`. A consumer mounted at the same path still gets WebSocket
    /// upgrades there.
    pub fn asset(mut self, path: &str, asset: Asset) -> Self {
        let make: MakeEndpoint = Box::new(move |_, _, _| Arc::new(asset));
        self.routes.push((route_key(path).to_owned(), make));
        self
    }

    fn mount<C: Consumer>(mut self, path: &str, app: App<C>, http: bool, websocket: bool) -> Self {
        let make: MakeEndpoint = Box::new(move |config, shutdown, stats| {
            Arc::new(RpcService::mounted(
                app,
                config.clone(),
                shutdown.clone(),
                stats.clone(),
                (http, websocket),
            ))
        });
        self.routes.push((route_key(path).to_owned(), make));
        self
    }

    /// Binds the address; the result tells the port and then serves.
    pub async fn listen(self) -> io::Result<Listening> {
        let listener = TcpListener::bind(&self.addr).await?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let stats = Stats::default();
        let mut routes: Vec<(String, Vec<Arc<dyn Endpoint>>)> = Vec::new();
        let client = self.config.client_path().map(|path| {
            let make: MakeEndpoint = Box::new(|_, _, _| Arc::new(Asset::client_script()));
            (route_key(path).to_owned(), make)
        });
        for (path, make) in self.routes.into_iter().chain(client) {
            let endpoint = make(&self.config, &shutdown_rx, &stats);
            match routes.iter_mut().find(|(known, _)| *known == path) {
                Some((_, endpoints)) => endpoints.push(endpoint),
                None => routes.push((path, vec![endpoint])),
            }
        }
        Ok(Listening {
            listener,
            router: Arc::new(Router { routes }),
            config: self.config,
            shutdown_tx,
            stats,
        })
    }

    /// Binds and serves until the process ends.
    pub async fn serve(self) -> io::Result<()> {
        self.listen().await?.serve().await
    }

    /// Binds and serves until `signal` completes, then shuts down gracefully.
    pub async fn serve_until(self, signal: impl Future<Output = ()> + Send) -> io::Result<()> {
        self.listen().await?.serve_until(signal).await
    }
}

/// The endpoints by path. A server mounts a handful of paths: comparing them
/// in turn is quicker than hashing the request's path.
struct Router {
    routes: Vec<(String, Vec<Arc<dyn Endpoint>>)>,
}

impl Router {
    fn respond(&self, req: Request<Incoming>, peer: SocketAddr) -> BoxedResponse {
        let upgrade = crate::ws::is_upgrade(&req);
        let key = route_key(req.uri().path());
        let Some((_, endpoints)) = self.routes.iter().find(|(path, _)| path == key) else {
            return Box::pin(async { plain(StatusCode::NOT_FOUND, "no JSON-RPC endpoint here\n") });
        };
        let endpoint = endpoints
            .iter()
            .find(|e| e.serves(upgrade))
            .or_else(|| endpoints.first())
            .expect("a route has an endpoint");
        endpoint.respond(req, peer, upgrade)
    }
}

/// A bound server, ready to serve.
pub struct Listening {
    listener: TcpListener,
    router: Arc<Router>,
    config: ServerConfig,
    shutdown_tx: watch::Sender<bool>,
    stats: Stats,
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("addr", &self.listener.local_addr().ok())
            .finish()
    }
}

impl Listening {
    /// The address bound, with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Live connection counts.
    pub fn stats(&self) -> Stats {
        self.stats.clone()
    }

    /// The channel layer, to send to groups from outside any connection.
    pub fn layer(&self) -> Arc<dyn ChannelLayer> {
        self.config.channel_layer().clone()
    }

    /// Serves until the process ends.
    pub async fn serve(self) -> io::Result<()> {
        self.serve_until(std::future::pending()).await
    }

    /// Serves in a new task; the handle stops it.
    pub fn spawn(self) -> ServerHandle {
        let addr = self.local_addr();
        let stats = self.stats();
        let layer = self.layer();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(self.serve_until(async {
            let _ = stopped.await;
        }));
        ServerHandle {
            addr,
            stats,
            layer,
            stop: Some(stop),
            task,
        }
    }

    /// Serves until `signal` completes, then shuts down gracefully: stops
    /// accepting, lets running calls finish, closes WebSockets with 1001.
    pub async fn serve_until(self, signal: impl Future<Output = ()> + Send) -> io::Result<()> {
        let Listening {
            listener,
            router,
            config,
            shutdown_tx,
            stats,
        } = self;
        // HTTP/1.1 alone skips the protocol sniffing that h2c needs on every
        // read. Neither has a hyper timer: the watchdog times connections out.
        let http1 = {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.header_read_timeout(None);
            builder
        };
        let auto = config.h2c().then(|| {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http1().header_read_timeout(None);
            builder
        });
        let timeouts = Timeouts::new(&config);
        let max_connections = config.max_connections();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            // Out of file descriptors, say: wait, do not spin.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    };
                    // Past the cap, close at once: nothing is read or written,
                    // the client sees the connection closed.
                    if stats.connections() + stats.websockets() >= max_connections {
                        tracing::debug!(%peer, max_connections, "connection refused: too many open");
                        drop(stream);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let activity = Arc::new(Activity::default());
                    let router = router.clone();
                    let watched = activity.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let busy = watched.request();
                        let response = router.respond(req, peer);
                        async move {
                            let response = response.await;
                            drop(busy);
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let guard = stats.connection();
                    let io = TokioIo::new(Watched::new(stream, activity.clone()));
                    let shutdown = shutdown_tx.subscribe();
                    let watch = (Watch::new(activity), timeouts.clone());
                    match &auto {
                        Some(auto) => {
                            let connection = auto.serve_connection_with_upgrades(io, service).into_owned();
                            spawn_connection(connection, shutdown, guard, watch, |c| c.graceful_shutdown());
                        }
                        None => {
                            let connection = http1.serve_connection(io, service).with_upgrades();
                            spawn_connection(connection, shutdown, guard, watch, |c| c.graceful_shutdown());
                        }
                    }
                }
                () = &mut signal => break,
            }
        }
        drop(listener);
        let _ = shutdown_tx.send(true);
        let closed = stats.all_closed();
        if tokio::time::timeout(config.shutdown_timeout() + Duration::from_secs(1), closed)
            .await
            .is_err()
        {
            tracing::warn!("shutdown timed out with connections still open");
        }
        Ok(())
    }
}

/// Serves one accepted connection in its own task; on shutdown, lets it
/// finish the request in progress and close (`graceful`); past a timeout of
/// the watchdog's, shutting down or not, drops it.
fn spawn_connection<F, E>(
    connection: F,
    shutdown: watch::Receiver<bool>,
    guard: ConnectionGuard,
    (mut watch, timeouts): (Watch, Timeouts),
    graceful: fn(Pin<&mut F>),
) where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    tokio::spawn(async move {
        let _guard = guard;
        let mut connection = std::pin::pin!(connection);
        let mut shutdown = std::pin::pin!(shutdown_signal(shutdown));
        let mut stopping = false;
        let mut tick = std::pin::pin!(timeouts.ticker.next());
        tick.as_mut().enable();
        let ended = std::future::poll_fn(|cx| {
            loop {
                if let Poll::Ready(ended) = connection.as_mut().poll(cx) {
                    return Poll::Ready(Ok(ended));
                }
                if stopping || shutdown.as_mut().poll(cx).is_pending() {
                    break;
                }
                // Shutting down: the connection finishes its request and closes.
                stopping = true;
                graceful(connection.as_mut());
            }
            while tick.as_mut().poll(cx).is_ready() {
                tick.set(timeouts.ticker.next());
                tick.as_mut().enable();
                if let Some(expired) = watch.check(&timeouts) {
                    return Poll::Ready(Err(expired));
                }
            }
            Poll::Pending
        })
        .await;
        match ended {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "connection ended with an error"),
            Err(expired) => tracing::debug!(?expired, "connection timed out"),
        }
    });
}

/// A server running in its own task.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stats: Stats,
    layer: Arc<dyn ChannelLayer>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Live connection counts.
    pub fn stats(&self) -> Stats {
        self.stats.clone()
    }

    /// The channel layer, to send to groups from outside any connection.
    pub fn layer(&self) -> Arc<dyn ChannelLayer> {
        self.layer.clone()
    }

    /// Shuts down gracefully and waits until it is done.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.map_err(io::Error::other)?
    }
}
