//! [`AllowedOrigins`]: which web pages may open a WebSocket, checked once per
//! handshake before the consumer's connect hook runs.

use http::{header, HeaderMap};

use crate::error::ConfigError;

/// The `Origin`s allowed to open a WebSocket, modelled on Django Channels'
/// `OriginValidator` (`channels/security/websocket.py`). A refused handshake
/// answers 403 before the consumer is made or its connect hook runs.
///
/// A handshake is allowed when any of these holds, in this order:
/// - it has no `Origin` header and missing origins are allowed (the default:
///   browsers always send one, other clients usually none);
/// - the list holds `*`;
/// - its origin is the server's own: the `Origin`'s host and port equal the
///   request's `Host` (ports compared after filling in the scheme's default),
///   unless turned off with `allow_same_origin(false)`;
/// - it matches a pattern of the list:
///   - `https://app.example.com`, `http://localhost:8000`: this scheme, host
///     and port (80 for http/ws, 443 for https/wss when none is written);
///   - `https://*.example.com`, `https://.example.com`: this scheme and port,
///     a host pattern as below;
///   - `app.example.com`: this host, any scheme and port;
///   - `*.example.com`: any subdomain of example.com (not example.com itself);
///   - `.example.com`: example.com and any subdomain (Django's style).
///
/// Everything else is refused, `Origin: null` (sandboxed pages, files) included.
///
/// Where it differs from Channels: Channels refuses a handshake without an
/// `Origin` unless the list holds `*`, and has no same-origin rule (its
/// `AllowedHostsOriginValidator` takes the hosts from `ALLOWED_HOSTS`). Here a
/// missing `Origin` is allowed by default, as non-browser clients (the Rust,
/// Python and command-line clients) send none and cannot be tricked by a page
/// into a cross-site request, and a page may always reach the server that
/// served it, so that a server needs no configuration to be safe from
/// cross-site WebSocket hijacking. Both rules can be turned off. A pattern with
/// a port but no scheme (`example.com:8000`) is refused as ambiguous: write the scheme.
///
/// ```
/// use channels_rpc::ServerConfig;
///
/// let config = ServerConfig::builder()
///     .allowed_origins(["https://app.example.com", "*.example.org", "http://localhost:3000"])
///     .build()
///     .expect("valid patterns");
/// # let _ = config;
/// assert!(ServerConfig::builder().allowed_origins(["https://x.com/path"]).build().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct AllowedOrigins {
    any: bool,
    patterns: Vec<Pattern>,
    missing: bool,
    same_origin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// With a scheme, the port is pinned too (written or the scheme's default).
    scheme: Option<(String, Option<u16>)>,
    host: HostPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// This host.
    Exact(String),
    /// `*.example.com`: subdomains only; holds `.example.com`.
    Subdomains(String),
    /// `.example.com`: the domain and its subdomains; holds `.example.com`.
    Domain(String),
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(exact) => host == exact,
            HostPattern::Subdomains(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
            HostPattern::Domain(suffix) => host.ends_with(suffix.as_str()) || host == &suffix[1..],
        }
    }
}

/// An origin as a browser sends it: `scheme://host[:port]`, lowercased.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Splits `host[:port]` (`[v6]:port` too); `None` if the port is not a number.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &authority[..end + 2];
        match &rest[end + 1..] {
            "" => (host, None),
            port => (host, Some(port.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) => Some(port.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'[' | b']' | b':'))
}

impl Origin {
    fn parse(raw: &str) -> Option<Origin> {
        let (scheme, authority) = raw.split_once("://")?;
        if scheme.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return None;
        }
        let (host, port) = split_authority(authority)?;
        if !valid_host(host) {
            return None;
        }
        let scheme = scheme.to_ascii_lowercase();
        let port = port.or_else(|| default_port(&scheme));
        Some(Origin {
            host: host.to_ascii_lowercase(),
            scheme,
            port,
        })
    }
}

impl Pattern {
    fn parse(raw: &str) -> Result<Pattern, ConfigError> {
        let bad = |why: &str| ConfigError::new("allowed_origins", format!("{raw:?}: {why}"));
        let lower = raw.trim().to_ascii_lowercase();
        let (scheme, authority) = match lower.split_once("://") {
            Some((scheme, authority)) => (Some(scheme), authority),
            None => (None, lower.as_str()),
        };
        if authority.contains(['/', '?', '#', '@']) {
            return Err(bad("an origin is scheme://host[:port], with no path"));
        }
        let (host, port) = split_authority(authority).ok_or_else(|| bad("the port is not a number"))?;
        let host = if let Some(domain) = host.strip_prefix("*.") {
            HostPattern::Subdomains(format!(".{domain}"))
        } else if host.starts_with('.') {
            HostPattern::Domain(host.to_owned())
        } else {
            HostPattern::Exact(host.to_owned())
        };
        let name = match &host {
            HostPattern::Exact(h) => h.as_str(),
            HostPattern::Subdomains(s) | HostPattern::Domain(s) => &s[1..],
        };
        if !valid_host(name) || name.starts_with('.') {
            return Err(bad("not a host name"));
        }
        let scheme = match scheme {
            Some("") => return Err(bad("empty scheme")),
            Some(scheme) => Some((scheme.to_owned(), port.or_else(|| default_port(scheme)))),
            None if port.is_some() => {
                return Err(bad("a port needs a scheme: write scheme://host:port"));
            }
            None => None,
        };
        Ok(Pattern { scheme, host })
    }

    fn matches(&self, origin: &Origin) -> bool {
        if let Some((scheme, port)) = &self.scheme {
            if *scheme != origin.scheme || *port != origin.port {
                return false;
            }
        }
        self.host.matches(&origin.host)
    }
}

impl Default for AllowedOrigins {
    /// No pattern: handshakes without an `Origin` and same-origin ones only.
    fn default() -> Self {
        AllowedOrigins {
            any: false,
            patterns: Vec::new(),
            missing: true,
            same_origin: true,
        }
    }
}

impl AllowedOrigins {
    /// Any origin (`*`): the check is off.
    pub fn any() -> Self {
        AllowedOrigins {
            any: true,
            ..AllowedOrigins::default()
        }
    }

    /// These patterns besides the defaults (see the type's documentation);
    /// an error names the first malformed one.
    pub fn list<I, S>(patterns: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut origins = AllowedOrigins::default();
        for pattern in patterns {
            let pattern = pattern.as_ref();
            if pattern.trim() == "*" {
                origins.any = true;
            } else {
                origins.patterns.push(Pattern::parse(pattern)?);
            }
        }
        Ok(origins)
    }

    /// Whether a handshake without an `Origin` header is allowed (default yes).
    pub fn allow_missing(mut self, allow: bool) -> Self {
        self.missing = allow;
        self
    }

    /// Whether an `Origin` naming the request's own `Host` is allowed (default yes).
    pub fn allow_same_origin(mut self, allow: bool) -> Self {
        self.same_origin = allow;
        self
    }

    /// Whether a handshake without an `Origin` is allowed.
    pub fn allows_missing(&self) -> bool {
        self.missing
    }

    /// Whether same-origin handshakes are allowed.
    pub fn allows_same_origin(&self) -> bool {
        self.same_origin
    }

    /// Whether a handshake with these request headers may go on.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let mut origins = headers.get_all(header::ORIGIN).iter();
        let Some(origin) = origins.next() else {
            return self.missing || self.any;
        };
        if self.any {
            return true;
        }
        if origins.next().is_some() {
            return false;
        }
        let Some(origin) = origin.to_str().ok().and_then(Origin::parse) else {
            return false;
        };
        if self.same_origin && is_same_origin(&origin, headers) {
            return true;
        }
        self.patterns.iter().any(|p| p.matches(&origin))
    }
}

/// The `Origin`'s host and port are the `Host` header's (its port defaulting
/// to the origin scheme's).
fn is_same_origin(origin: &Origin, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Some((host, port)) = split_authority(host) else {
        return false;
    };
    host.eq_ignore_ascii_case(&origin.host) && port.or_else(|| default_port(&origin.scheme)) == origin.port
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn default_allows_missing_and_same_origin_only() {
        let o = AllowedOrigins::default();
        assert!(o.allows(&headers(None, "api.example.com")));
        assert!(o.allows(&headers(Some("https://api.example.com"), "api.example.com")));
        assert!(o.allows(&headers(Some("http://localhost:8000"), "localhost:8000")));
        assert!(o.allows(&headers(Some("https://api.example.com"), "API.example.com:443")));
        assert!(!o.allows(&headers(Some("http://localhost:8001"), "localhost:8000")));
        assert!(!o.allows(&headers(Some("https://evil.example"), "api.example.com")));
        assert!(!o.allows(&headers(Some("null"), "api.example.com")));
        let strict = AllowedOrigins::default().allow_missing(false).allow_same_origin(false);
        assert!(!strict.allows(&headers(None, "a.com")));
        assert!(!strict.allows(&headers(Some("https://a.com"), "a.com")));
    }

    #[test]
    fn patterns_like_channels() {
        let o = AllowedOrigins::list([
            "https://app.example.com",
            "http://localhost:3000",
            "*.example.org",
            ".example.net",
            "https://*.example.io",
            "plain.example.dev",
        ])
        .unwrap();
        let h = |origin| headers(Some(origin), "server.internal");
        assert!(o.allows(&h("https://app.example.com")));
        assert!(o.allows(&h("https://app.example.com:443")));
        assert!(o.allows(&h("HTTPS://APP.EXAMPLE.COM")));
        assert!(!o.allows(&h("http://app.example.com")), "scheme differs");
        assert!(!o.allows(&h("https://app.example.com:8443")), "port differs");
        assert!(!o.allows(&h("https://app.example.com.evil.com")));
        assert!(o.allows(&h("http://localhost:3000")));
        assert!(!o.allows(&h("http://localhost:3001")));
        assert!(o.allows(&h("https://a.example.org")));
        assert!(o.allows(&h("http://a.b.example.org:9000")));
        assert!(!o.allows(&h("https://example.org")), "*. is subdomains only");
        assert!(!o.allows(&h("https://badexample.org")));
        assert!(o.allows(&h("https://example.net")));
        assert!(o.allows(&h("https://x.example.net")));
        assert!(!o.allows(&h("https://xexample.net")));
        assert!(o.allows(&h("https://x.example.io")));
        assert!(!o.allows(&h("http://x.example.io")));
        assert!(o.allows(&h("http://plain.example.dev:1234")));
        assert!(!o.allows(&h("https://evil.example")));
        assert!(!o.allows(&h("https://app.example.com/path")));
        assert!(AllowedOrigins::list(["*"]).unwrap().allows(&h("null")));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for bad in [
            "https://x.com/",
            "https://x.com/path",
            "x.com:80",
            "https://x.com:port",
            "",
            "://x.com",
            "https://",
            "*.",
        ] {
            let err = AllowedOrigins::list([bad]).expect_err(bad);
            assert_eq!(err.setting(), "allowed_origins");
        }
    }
}
