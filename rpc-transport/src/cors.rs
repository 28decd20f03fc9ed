//! [`Cors`]: which browser origins may call the HTTP endpoint, served by
//! tower-http's [`CorsLayer`] mounted around the HTTP path.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::ConfigError;

/// Cross-origin settings for JSON-RPC over HTTP, off unless configured
/// ([`ServerConfigBuilder::cors`](crate::config::ServerConfigBuilder::cors)).
/// The server mounts tower-http's [`CorsLayer`] made of them around its HTTP
/// path (WebSocket handshakes have their own origin check); without CORS
/// nothing is added to a request's path.
///
/// What it answers:
/// - any `OPTIONS` request is a preflight, answered 200 by the layer, without
///   calling a method; a preflight asking for a method other than `POST`
///   (`Access-Control-Request-Method`) is refused with 403 and no CORS headers;
/// - `Access-Control-Allow-Methods: POST`; `Access-Control-Allow-Headers`:
///   `content-type` unless [`allow_headers`](Self::allow_headers) says more.
///   The request's headers are never mirrored;
/// - `Access-Control-Allow-Origin`: `*` for [`any`](Self::any), else the
///   request's origin when listed and nothing when not (the call itself is
///   still answered: the browser enforces CORS);
/// - `Access-Control-Allow-Credentials: true` only when
///   [`allow_credentials`](Self::allow_credentials) is on, which needs a list
///   of origins (browsers refuse credentials with `*`);
/// - `Vary: origin` when the answer depends on the origin (a list of
///   origins), appended to any `Vary` the response already has, never replacing it.
///
/// ```
/// use channels_rpc::{Cors, ServerConfig};
/// use std::time::Duration;
///
/// let cors = Cors::origins(["https://app.example", "http://localhost:3000"])
///     .expect("valid origins")
///     .allow_credentials(true)
///     .max_age(Duration::from_secs(3600));
/// let config = ServerConfig::builder().cors(cors).build().expect("valid configuration");
/// # let _ = config;
/// assert!(Cors::origins(["app.example"]).is_err(), "an origin has a scheme");
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Option<Arc<[HeaderValue]>>,
    credentials: bool,
    headers: Vec<HeaderName>,
    expose: Vec<HeaderName>,
    max_age: Duration,
}

impl Cors {
    /// How long browsers may cache a preflight answer: 10 minutes.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

    fn new(origins: Option<Arc<[HeaderValue]>>) -> Self {
        Cors {
            origins,
            credentials: false,
            headers: vec![http::header::CONTENT_TYPE],
            expose: Vec::new(),
            max_age: Self::DEFAULT_MAX_AGE,
        }
    }

    /// Any origin may call (`Access-Control-Allow-Origin: *`), without credentials.
    pub fn any() -> Self {
        Self::new(None)
    }

    /// Only these origins may call: each exactly `scheme://host[:port]`, as
    /// browsers send it (no path, no trailing slash). A malformed one is an
    /// error naming it.
    pub fn origins<I, S>(origins: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list = origins
            .into_iter()
            .map(|o| parse_origin(o.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(Some(list.into())))
    }

    /// Lets browsers send cookies and credentials (default off). Needs a list
    /// of origins: with [`any`](Self::any) the configuration is refused at build.
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// The request headers a browser may send (default: `content-type`).
    /// Replaces the list; a malformed name is an error.
    pub fn allow_headers<I, S>(mut self, headers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.headers = header_names("cors.allow_headers", headers)?;
        Ok(self)
    }

    /// The response headers a page may read (default none).
    pub fn expose_headers<I, S>(mut self, headers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.expose = header_names("cors.expose_headers", headers)?;
        Ok(self)
    }

    /// How long browsers may cache a preflight answer (default [`Self::DEFAULT_MAX_AGE`]).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// tower-http's layer for these settings, e.g. to put the same policy in
    /// front of an [`RpcService`](crate::RpcService) on your own router. An
    /// error for a combination browsers refuse (credentials with any origin).
    pub fn layer(&self) -> Result<CorsLayer, ConfigError> {
        let allow_origin = match &self.origins {
            None if self.credentials => {
                return Err(ConfigError::new(
                    "cors",
                    "credentials cannot be allowed for any origin (`*`): list the origins",
                ))
            }
            None => AllowOrigin::any(),
            // A predicate over a shared list: cloning the layer per request
            // costs a reference count, not a copy of the list.
            Some(list) => {
                let list = list.clone();
                AllowOrigin::predicate(move |origin, _| list.contains(origin))
            }
        };
        Ok(CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods(Method::POST)
            .allow_headers(self.headers.clone())
            .expose_headers(self.expose.clone())
            .allow_credentials(self.credentials)
            .max_age(self.max_age))
    }
}

fn parse_origin(origin: &str) -> Result<HeaderValue, ConfigError> {
    let bad = |why: &str| ConfigError::new("cors.origins", format!("{origin:?}: {why}"));
    if origin == "*" {
        return Err(bad("use Cors::any() for any origin"));
    }
    let uri: http::Uri = origin.parse().map_err(|_| bad("not an origin"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(bad("an origin is scheme://host[:port]"));
    };
    if !matches!(scheme, "http" | "https") || authority.as_str().contains('@') {
        return Err(bad("an origin is http(s)://host[:port]"));
    }
    // `Uri` fills in `/` for an empty path: the text must end at the authority.
    if origin.len() != scheme.len() + 3 + authority.as_str().len() {
        return Err(bad("an origin has no path, query or trailing slash"));
    }
    HeaderValue::from_str(&origin.to_ascii_lowercase()).map_err(|_| bad("not a header value"))
}

fn header_names<I, S>(setting: &'static str, names: I) -> Result<Vec<HeaderName>, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    names
        .into_iter()
        .map(|name| {
            let name = name.as_ref();
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConfigError::new(setting, format!("{name:?} is not a header name")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_origins_and_combinations_are_errors() {
        for bad in [
            "app.example",
            "https://app.example/",
            "https://app.example/path",
            "ftp://app.example",
            "*",
            "https://user@app.example",
            "",
        ] {
            assert!(Cors::origins(["https://ok.example", bad]).is_err(), "{bad:?} accepted");
        }
        assert!(Cors::origins(["https://ok.example:8443", "http://localhost:3000"]).is_ok());
        assert!(Cors::any().allow_credentials(true).layer().is_err());
        assert!(Cors::any().allow_headers(["bad header"]).is_err());
    }

    #[tokio::test]
    async fn vary_is_appended_to_the_inner_answers() {
        use http::{header, Request, Response};
        use tower::{ServiceBuilder, ServiceExt};

        let layer = Cors::origins(["https://app.example"]).unwrap().layer().unwrap();
        let service = ServiceBuilder::new()
            .layer(layer)
            .service_fn(|_req: Request<()>| async {
                let mut response = Response::new(String::new());
                response
                    .headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                Ok::<_, std::convert::Infallible>(response)
            });
        let request = Request::post("/rpc/")
            .header(header::ORIGIN, "https://app.example")
            .body(())
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        let vary: Vec<_> = response.headers().get_all(header::VARY).iter().collect();
        assert_eq!(vary, ["accept-encoding", "origin"]);
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
    }
}
