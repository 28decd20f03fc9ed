//! [`Scope`]: what is known about a connection, like the scope of Django Channels.

use std::net::SocketAddr;

use http::{Extensions, HeaderMap};

/// How a connection reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A WebSocket connection.
    WebSocket,
    /// One HTTP request.
    Http,
    /// Driven in-process, e.g. by a test communicator.
    InProcess,
}

/// The connection's scope: path, query, headers, cookies, peer and
/// subprotocol, plus typed extensions a connect hook or middleware can fill
/// (the place for an authenticated user).
///
/// ```
/// use channels_rpc::{Scope, Transport};
///
/// let mut scope = Scope::new(Transport::Http, "/rpc/");
/// scope.headers_mut().insert("cookie", "session=abc; theme=dark".parse().unwrap());
/// scope.extensions_mut().insert(42u32);
/// assert_eq!(scope.cookie("theme"), Some("dark"));
/// assert_eq!(scope.extensions().get::<u32>(), Some(&42));
/// ```
#[derive(Debug, Default)]
pub struct Scope {
    transport: Option<Transport>,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    peer: Option<SocketAddr>,
    subprotocol: Option<String>,
    extensions: Extensions,
}

impl Scope {
    /// A scope for a connection on `path` with no headers yet.
    pub fn new(transport: Transport, path: impl Into<String>) -> Self {
        Scope {
            transport: Some(transport),
            path: path.into(),
            ..Scope::default()
        }
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport.unwrap_or(Transport::InProcess)
    }

    /// The request path, without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string, without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// Sets the query string.
    pub fn set_query(&mut self, query: Option<String>) {
        self.query = query;
    }

    /// All request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The request headers, to fill them.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The first value of header `name`, if it is valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of cookie `name` from the `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// The peer's address, when the transport has one.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Sets the peer's address.
    pub fn set_peer(&mut self, peer: Option<SocketAddr>) {
        self.peer = peer;
    }

    /// The WebSocket subprotocol chosen for the connection.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// Sets the chosen subprotocol.
    pub fn set_subprotocol(&mut self, subprotocol: Option<String>) {
        self.subprotocol = subprotocol;
    }

    /// Typed values attached to the connection.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Typed values attached to the connection, to add to them.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }
}
