//! [`Server`]: HTTP and WebSocket on one port, routed by path to consumers,
//! with graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
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
use crate::read_signal::ReadSignal;
use crate::response::{plain, ResponseBody};
use crate::service::{BoxedResponse, RpcService};
use crate::shutdown::shutdown_signal;
use crate::stats::{ConnectionGuard, Stats};
use crate::watchdog::{Activity, Busy, Expired, Timeouts, Watch, Watched};

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
/// - with TLS (feature `tls`, [`ServerConfigBuilder::tls`](crate::ServerConfigBuilder)),
///   a handshake must complete within 10 s of the accept, in the
///   connection's own task (`tls_handshake_timeout`);
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
        let protocols = Arc::new(Protocols::new());
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
                    let mut service = Routed {
                        router: router.clone(),
                        peer,
                        activity: activity.clone(),
                        read_signal: None,
                    };
                    let connection = Accepted {
                        shutdown: shutdown_tx.subscribe(),
                        guard: stats.connection(),
                        protocols: protocols.clone(),
                        timeouts: timeouts.clone(),
                    };
                    let io = Watched::new(stream, activity.clone());
                    #[cfg(feature = "tls")]
                    if let Some(tls) = config.tls() {
                        let handshake = (tls.clone(), config.tls_handshake_timeout());
                        tokio::spawn(connection.serve_tls(io, handshake, service, activity));
                        continue;
                    }
                    // Plain TCP: a WebSocket upgrade may ask whether its socket
                    // has had bytes (TLS buffers what it decrypts, so its
                    // socket's readiness would tell nothing).
                    let signal = Arc::new(ReadSignal::default());
                    let io = io.signalling(signal.clone());
                    service.read_signal = Some(signal);
                    let auto = config.h2c();
                    tokio::spawn(connection.serve(TokioIo::new(io), auto, service, Watch::new(activity)));
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

/// The HTTP protocols a connection may speak.
struct Protocols {
    /// HTTP/1.1 alone skips the protocol sniffing that h2c needs on every
    /// read. Neither builder has a hyper timer: the watchdog times
    /// connections out.
    http1: hyper::server::conn::http1::Builder,
    /// HTTP/1.1 and HTTP/2, told apart by the connection preface: for h2c,
    /// and for TLS connections whose ALPN agreed on `h2`.
    auto: auto::Builder<TokioExecutor>,
}

impl Protocols {
    fn new() -> Self {
        let mut http1 = hyper::server::conn::http1::Builder::new();
        http1.header_read_timeout(None);
        let mut auto = auto::Builder::new(TokioExecutor::new());
        auto.http1().header_read_timeout(None);
        Protocols { http1, auto }
    }
}

/// A connection's service: routes each request, and tells the watchdog
/// while one is in progress.
#[derive(Clone)]
struct Routed {
    router: Arc<Router>,
    peer: SocketAddr,
    activity: Arc<Activity>,
    /// Handed to a WebSocket upgrade of this connection (plain TCP only).
    read_signal: Option<Arc<ReadSignal>>,
}

impl hyper::service::Service<Request<Incoming>> for Routed {
    type Response = http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = RoutedResponse;

    fn call(&self, mut req: Request<Incoming>) -> RoutedResponse {
        let busy = self.activity.request();
        // Only a GET can be a WebSocket upgrade: a POST (every HTTP call)
        // is not looked into.
        if let Some(signal) = &self.read_signal {
            if req.method() == http::Method::GET && req.headers().contains_key(http::header::UPGRADE) {
                req.extensions_mut().insert(signal.clone());
            }
        }
        RoutedResponse {
            response: self.router.respond(req, self.peer),
            busy: Some(busy),
        }
    }
}

/// A response in progress; the request counts as busy until it is ready.
struct RoutedResponse {
    response: BoxedResponse,
    busy: Option<Busy>,
}

impl Future for RoutedResponse {
    type Output = Result<http::Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = std::task::ready!(self.response.as_mut().poll(cx));
        self.busy = None;
        Poll::Ready(Ok(response))
    }
}

/// What an accepted connection's task needs besides its I/O.
struct Accepted {
    shutdown: watch::Receiver<bool>,
    /// Counts the connection, handshake included, towards `max_connections`.
    guard: ConnectionGuard,
    protocols: Arc<Protocols>,
    timeouts: Timeouts,
}

impl Accepted {
    /// Serves HTTP on `io`: HTTP/1.1 with upgrades, or (`auto`) HTTP/1.1 and
    /// HTTP/2 by their preface.
    async fn serve<I>(self, io: I, auto: bool, service: Routed, watch: Watch)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let Accepted {
            shutdown,
            guard,
            protocols,
            timeouts,
        } = self;
        let watch = (watch, timeouts);
        if auto {
            let connection = protocols.auto.serve_connection_with_upgrades(io, service).into_owned();
            drive_connection(connection, shutdown, guard, watch, |c| c.graceful_shutdown()).await;
        } else {
            let connection = protocols.http1.serve_connection(io, service).with_upgrades();
            drive_connection(connection, shutdown, guard, watch, |c| c.graceful_shutdown()).await;
        }
    }

    /// Runs the TLS handshake, bounded by its timeout and cut short by
    /// shutdown, then serves the protocol ALPN agreed on. A failed or stalled
    /// handshake (a plain-HTTP client, a port scanner) closes the connection
    /// and is logged at debug: a client can make many.
    #[cfg(feature = "tls")]
    async fn serve_tls(
        self,
        io: Watched<tokio::net::TcpStream>,
        (tls, timeout): (crate::tls::TlsConfig, Duration),
        service: Routed,
        activity: Arc<Activity>,
    ) {
        let peer = service.peer;
        let handshake = tokio::time::timeout(timeout, tls.acceptor().accept(io));
        let stream = tokio::select! {
            done = handshake => match done {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, ?timeout, "TLS handshake timed out");
                    return;
                }
            },
            () = shutdown_signal(self.shutdown.clone()) => return,
        };
        let h2 = crate::tls::negotiated_h2(&stream);
        // The header read timeout starts now.
        self.serve(TokioIo::new(stream), h2, service, Watch::new(activity))
            .await;
    }
}

/// Serves one accepted connection; on shutdown, lets it finish the request
/// in progress and close (`graceful`) within the shutdown timeout; past
/// that, or past a timeout of the watchdog's, drops it (a call still running
/// is cancelled).
async fn drive_connection<F, E>(
    connection: F,
    shutdown: watch::Receiver<bool>,
    guard: ConnectionGuard,
    (mut watch, timeouts): (Watch, Timeouts),
    graceful: fn(Pin<&mut F>),
) where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let _guard = guard;
    let mut connection = std::pin::pin!(connection);
    let mut shutdown = std::pin::pin!(shutdown_signal(shutdown));
    let mut stopping = false;
    // Set when the shutdown begins: the end of the connection's time to finish.
    let mut finish_by: Option<Pin<Box<tokio::time::Sleep>>> = None;
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
            finish_by = Some(Box::pin(tokio::time::sleep(timeouts.shutdown)));
        }
        if finish_by
            .as_mut()
            .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready())
        {
            return Poll::Ready(Err(Expired::Shutdown));
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
