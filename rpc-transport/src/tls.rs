//! [`TlsConfig`]: https and wss on the server's port, with rustls (feature `tls`).
//!
//! The server accepts TCP, then runs the TLS handshake in the connection's
//! own task, bounded by
//! [`tls_handshake_timeout`](crate::ServerConfig::tls_handshake_timeout):
//! a client that stalls mid-handshake, or speaks plain HTTP to the TLS port,
//! is closed without holding up the accept loop or anyone else. ALPN picks
//! the protocol: `h2` is served by hyper-util's auto builder, `http/1.1` (or
//! no ALPN) by HTTP/1.1 with upgrades, so WebSockets work as wss.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::ConfigError;

/// The ALPN protocols offered when the rustls configuration names none:
/// HTTP/2 first, then HTTP/1.1 (which WebSocket upgrades need).
pub const DEFAULT_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A server's TLS settings: a rustls [`ServerConfig`](rustls::ServerConfig),
/// made from PEM files or given as is.
///
/// ```no_run
/// use channels_rpc::{Consumer, Server, ServerConfig, TlsConfig};
///
/// #[derive(Consumer, Default)]
/// struct Api;
///
/// # async fn run() -> std::io::Result<()> {
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let config = ServerConfig::builder().tls(tls).build()?;
/// Server::bind("0.0.0.0:8443")
///     .config(config)
///     .websocket("/ws/", Api::app()) // wss://host:8443/ws/
///     .http("/rpc/", Api::app()) // https://host:8443/rpc/
///     .serve()
///     .await
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let alpn: Vec<_> = self
            .server_config()
            .alpn_protocols
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        f.debug_struct("TlsConfig").field("alpn", &alpn).finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Serves with `config` as is, except that an empty ALPN list becomes
    /// [`DEFAULT_ALPN`] (`h2`, `http/1.1`). A list of your own is kept:
    /// leave `http/1.1` in it for WebSockets.
    pub fn new(config: Arc<rustls::ServerConfig>) -> Self {
        let config = if config.alpn_protocols.is_empty() {
            let mut config = Arc::unwrap_or_clone(config);
            config.alpn_protocols = DEFAULT_ALPN.iter().map(|p| p.to_vec()).collect();
            Arc::new(config)
        } else {
            config
        };
        TlsConfig {
            acceptor: tokio_rustls::TlsAcceptor::from(config),
        }
    }

    /// From a PEM certificate chain (the server's certificate first, then
    /// its intermediates) and a PEM private key (PKCS#8, PKCS#1 or SEC1),
    /// with rustls' safe defaults (TLS 1.2 and 1.3, the ring provider), no
    /// client certificates, and [`DEFAULT_ALPN`].
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, ConfigError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| tls_error(format!("the certificate chain is not valid PEM: {e}")))?;
        let key =
            PrivateKeyDer::from_pem_slice(key).map_err(|e| tls_error(format!("no usable PEM private key: {e}")))?;
        Self::from_der(certs, key)
    }

    /// [`from_pem`](Self::from_pem), reading the two files.
    pub fn from_pem_files(cert_chain: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let (cert_path, key_path) = (cert_chain.as_ref(), key.as_ref());
        let certs = CertificateDer::pem_file_iter(cert_path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                tls_error(format!(
                    "cannot read a certificate chain from {}: {e}",
                    cert_path.display()
                ))
            })?;
        let key = PrivateKeyDer::from_pem_file(key_path)
            .map_err(|e| tls_error(format!("cannot read a private key from {}: {e}", key_path.display())))?;
        Self::from_der(certs, key)
    }

    fn from_der(certs: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Self, ConfigError> {
        if certs.is_empty() {
            return Err(tls_error("the certificate chain holds no certificate"));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| tls_error(format!("the key does not fit the certificate: {e}")))?;
        Ok(Self::new(Arc::new(config)))
    }

    /// The rustls configuration served.
    pub fn server_config(&self) -> &Arc<rustls::ServerConfig> {
        self.acceptor.config()
    }

    pub(crate) fn acceptor(&self) -> &tokio_rustls::TlsAcceptor {
        &self.acceptor
    }
}

fn tls_error(reason: impl Into<String>) -> ConfigError {
    ConfigError::new("tls", reason)
}

/// Whether the handshake on `stream` agreed on HTTP/2.
pub(crate) fn negotiated_h2<S>(stream: &tokio_rustls::server::TlsStream<S>) -> bool {
    stream.get_ref().1.alpn_protocol() == Some(b"h2")
}
