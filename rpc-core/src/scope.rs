//! [`Scope`]: what is known about a connection, like the scope of Django Channels.

use std::net::SocketAddr;

use http::uri::PathAndQuery;
use http::{Extensions, HeaderMap, Uri};

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
    target: Target,
    headers: HeaderMap,
    peer: Option<SocketAddr>,
    subprotocol: Option<String>,
    extensions: Extensions,
}

/// The path and query the connection was made to.
#[derive(Debug)]
enum Target {
    /// Given as text.
    Text { path: String, query: Option<String> },
    /// The request's own path and query, shared rather than copied.
    Uri(PathAndQuery),
}

impl Default for Target {
    fn default() -> Self {
        Target::Text {
            path: String::new(),
            query: None,
        }
    }
}

impl Scope {
    /// A scope for a connection on `path` with no headers yet.
    pub fn new(transport: Transport, path: impl Into<String>) -> Self {
        Scope {
            transport: Some(transport),
            target: Target::Text {
                path: path.into(),
                query: None,
            },
            ..Scope::default()
        }
    }

    /// A scope for a request to `uri`: its path and query are kept as the
    /// URI holds them, without a copy (they share the request's buffer, so
    /// keep such a scope no longer than the request).
    ///
    /// ```
    /// use channels_rpc::{Scope, Transport};
    ///
    /// let mut scope = Scope::for_uri(Transport::Http, "/rpc/?v=2".parse().unwrap());
    /// assert_eq!((scope.path(), scope.query()), ("/rpc/", Some("v=2")));
    /// scope.set_query(None);
    /// assert_eq!((scope.path(), scope.query()), ("/rpc/", None));
    /// ```
    pub fn for_uri(transport: Transport, uri: Uri) -> Self {
        let target = match uri.into_parts().path_and_query {
            Some(path_and_query) => Target::Uri(path_and_query),
            None => Target::Text {
                path: "/".to_owned(),
                query: None,
            },
        };
        Scope {
            transport: Some(transport),
            target,
            ..Scope::default()
        }
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport.unwrap_or(Transport::InProcess)
    }

    /// The request path, without the query string.
    pub fn path(&self) -> &str {
        match &self.target {
            Target::Text { path, .. } => path,
            Target::Uri(uri) => uri.path(),
        }
    }

    /// The raw query string, without the `?`.
    pub fn query(&self) -> Option<&str> {
        match &self.target {
            Target::Text { query, .. } => query.as_deref(),
            Target::Uri(uri) => uri.query(),
        }
    }

    /// Sets the query string.
    pub fn set_query(&mut self, query: Option<String>) {
        let path = self.path().to_owned();
        self.target = Target::Text { path, query };
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
