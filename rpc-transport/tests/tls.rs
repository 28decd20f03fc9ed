//! https and wss on one port (feature `tls`), against a certificate made here
//! with rcgen: jsonrpsee's HTTP and WebSocket clients, tungstenite and a hyper
//! h2 client trust it as their only root; a stalled handshake and a plain-HTTP
//! client are cut off without hurting the TLS clients beside them.
#![cfg(feature = "tls")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use channels_rpc::{json, rpc_method, Consumer, Server, ServerConfig, ServerHandle, TlsConfig, Value};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::rpc_params;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

/// The consumer served over TLS.
#[derive(Consumer, Default)]
struct Api;

/// Adds two integers.
#[rpc_method]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// A certificate for `localhost`, its key, and a client configuration that
/// trusts it alone.
struct Pki {
    cert_pem: String,
    key_pem: String,
    roots: rustls::RootCertStore,
}

impl Pki {
    fn new() -> Self {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(certified.cert.der().clone())
            .expect("the certificate as a root");
        Pki {
            cert_pem: certified.cert.pem(),
            key_pem: certified.signing_key.serialize_pem(),
            roots,
        }
    }

    fn tls(&self) -> TlsConfig {
        TlsConfig::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).expect("a TLS configuration")
    }

    /// A client configuration trusting only this certificate, offering `alpn`.
    fn client(&self, alpn: &[&[u8]]) -> rustls::ClientConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("default protocol versions")
            .with_root_certificates(self.roots.clone())
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config
    }
}

async fn serve(tls: TlsConfig, config: ServerConfig) -> ServerHandle {
    let config = config.into_builder().tls(tls).build().expect("a valid configuration");
    Server::bind("127.0.0.1:0")
        .config(config)
        .websocket("/ws/", Api::app())
        .http("/rpc/", Api::app())
        .listen()
        .await
        .expect("bind")
        .spawn()
}

async fn start(pki: &Pki) -> ServerHandle {
    serve(pki.tls(), ServerConfig::default()).await
}

async fn https_call(pki: &Pki, port: u16) -> Result<i64, jsonrpsee_core::ClientError> {
    let client = jsonrpsee_http_client::HttpClientBuilder::default()
        .with_custom_cert_store(pki.client(&[]))
        .build(format!("https://localhost:{port}/rpc/"))
        .expect("a client");
    client.request("add", rpc_params![40, 2]).await
}

/// Opens a TLS connection to the server, offering `alpn`.
async fn tls_connect(
    pki: &Pki,
    port: u16,
    alpn: &[&[u8]],
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(pki.client(alpn)));
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").expect("a server name");
    connector.connect(name, tcp).await
}

/// Reads until the server closes the connection; what it sent, or the error.
async fn read_until_closed(socket: &mut TcpStream, within: Duration) -> Result<Vec<u8>, String> {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(within, socket.read_to_end(&mut seen)).await;
    match read {
        Err(_) => Err(format!("still open after {within:?}")),
        Ok(Ok(_)) => Ok(seen),
        // A reset is a clean close too.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(seen),
        Ok(Err(e)) => Err(e.to_string()),
    }
}

#[tokio::test]
async fn jsonrpsee_http_client_calls_over_https_and_plain_http_is_refused() {
    let pki = Pki::new();
    let server = start(&pki).await;
    let port = server.local_addr().port();
    assert_eq!(https_call(&pki, port).await.expect("an answer over https"), 42);

    // The same client over plain http gets no answer from the TLS port.
    let plain = jsonrpsee_http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(5))
        .build(format!("http://localhost:{port}/rpc/"))
        .expect("a client");
    let refused: Result<i64, _> = plain.request("add", rpc_params![1, 2]).await;
    assert!(refused.is_err(), "plain http answered on the TLS port: {refused:?}");
    assert_eq!(https_call(&pki, port).await.expect("https still answers"), 42);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_client_without_the_root_is_refused() {
    let pki = Pki::new();
    let server = start(&pki).await;
    let stranger = Pki::new();
    let refused = tls_connect(&stranger, server.local_addr().port(), &[b"http/1.1"]).await;
    assert!(
        refused.is_err(),
        "a client trusting another root completed the handshake"
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn jsonrpsee_ws_client_calls_over_wss() {
    let pki = Pki::new();
    let server = start(&pki).await;
    let client = jsonrpsee_ws_client::WsClientBuilder::default()
        .with_custom_cert_store(pki.client(&[]))
        .build(format!("wss://localhost:{}/ws/", server.local_addr().port()))
        .await
        .expect("a wss connection");
    let sum: i64 = client.request("add", rpc_params![20, 22]).await.expect("an answer");
    assert_eq!(sum, 42);
    assert_eq!(server.stats().websockets(), 1);
    drop(client);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn tungstenite_over_wss_calls_and_is_closed_with_1001_on_shutdown() {
    let pki = Pki::new();
    let server = start(&pki).await;
    let url = format!("wss://localhost:{}/ws/", server.local_addr().port());
    // tungstenite's rustls connector offers no ALPN: the server serves HTTP/1.1.
    let connector = Connector::Rustls(Arc::new(pki.client(&[])));
    let (mut socket, response) = tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector))
        .await
        .expect("a wss handshake");
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    let call = json!({"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": 7}).to_string();
    socket.send(Message::text(call)).await.expect("send");
    let reply = socket.next().await.expect("a reply").expect("a frame");
    let reply: Value = serde_json::from_str(reply.to_text().expect("text")).expect("JSON");
    assert_eq!(reply, json!({"jsonrpc": "2.0", "result": 3, "id": 7}));

    let shutdown = tokio::spawn(server.shutdown());
    let close = loop {
        match socket.next().await {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(close.expect("a close frame with a code").code, CloseCode::Away);
    drop(socket);
    shutdown.await.expect("join").expect("shutdown");
}

/// An HTTP request over a TLS connection with hyper's client; answers the
/// response's version and JSON body.
async fn post_over<F, S>(send: F, uri: &str) -> (http::Version, Value)
where
    F: FnOnce(http::Request<Full<Bytes>>) -> S,
    S: std::future::Future<Output = hyper::Result<http::Response<hyper::body::Incoming>>>,
{
    let body = json!({"jsonrpc": "2.0", "method": "add", "params": [2, 3], "id": 1}).to_string();
    let request = http::Request::post(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a request");
    let response = send(request).await.expect("a response");
    let version = response.version();
    let body = response.into_body().collect().await.expect("a body").to_bytes();
    (version, serde_json::from_slice(&body).expect("JSON"))
}

#[tokio::test]
async fn alpn_h2_is_served_as_http2_and_http11_as_http11() {
    let pki = Pki::new();
    let server = start(&pki).await;
    let port = server.local_addr().port();
    let expected = json!({"jsonrpc": "2.0", "result": 5, "id": 1});
    let uri = format!("https://localhost:{port}/rpc/");

    let tls = tls_connect(&pki, port, &[b"h2", b"http/1.1"])
        .await
        .expect("a handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut h2, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
        .await
        .expect("an h2 connection");
    tokio::spawn(connection);
    let answered = post_over(|r| h2.send_request(r), &uri).await;
    assert_eq!(answered, (http::Version::HTTP_2, expected.clone()));

    let tls = tls_connect(&pki, port, &[b"http/1.1"]).await.expect("a handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut http1, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("an HTTP/1.1 connection");
    tokio::spawn(connection);
    let answered = post_over(|r| http1.send_request(r), &uri).await;
    assert_eq!(answered, (http::Version::HTTP_11, expected));
    drop((h2, http1));
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_stalled_handshake_is_cut_off_within_its_bound_and_others_are_served_meanwhile() {
    let pki = Pki::new();
    let bound = Duration::from_secs(1);
    let config = ServerConfig::builder()
        .tls_handshake_timeout(bound)
        .build()
        .expect("a valid configuration");
    let server = serve(pki.tls(), config).await;
    let port = server.local_addr().port();

    // One client sends nothing; another sends the start of a TLS record
    // (a handshake record header promising 512 bytes) and stops.
    let started = Instant::now();
    let mut silent = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let mut partial = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .expect("write");

    // Meanwhile TLS clients are served at once.
    for _ in 0..3 {
        assert_eq!(https_call(&pki, port).await.expect("an answer"), 42);
    }
    assert!(
        started.elapsed() < bound,
        "the TLS calls waited for the stalled handshakes"
    );

    for socket in [&mut silent, &mut partial] {
        let closed = read_until_closed(socket, bound * 4).await;
        assert!(closed.is_ok(), "a stalled handshake was not cut off: {closed:?}");
        let elapsed = started.elapsed();
        assert!(
            elapsed >= bound,
            "cut off after {elapsed:?}, before its bound {bound:?}"
        );
    }
    assert!(started.elapsed() < bound * 4);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn after_the_handshake_the_header_read_timeout_applies() {
    let pki = Pki::new();
    let limit = Duration::from_millis(300);
    let config = ServerConfig::builder()
        .header_read_timeout(limit)
        .build()
        .expect("a valid configuration");
    let server = serve(pki.tls(), config).await;
    let mut tls = tls_connect(&pki, server.local_addr().port(), &[b"http/1.1"])
        .await
        .expect("a handshake");
    let handshaken = Instant::now();
    // No request follows: the connection is closed past the header read timeout.
    let mut seen = Vec::new();
    let read = tokio::time::timeout(limit * 5, tls.read_to_end(&mut seen)).await;
    assert!(
        read.is_ok(),
        "a TLS connection without a request was still open after {:?}",
        limit * 5
    );
    assert!(handshaken.elapsed() >= limit, "closed after {:?}", handshaken.elapsed());
    assert!(seen.is_empty(), "{:?}", String::from_utf8_lossy(&seen));
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn shutdown_ends_handshakes_in_progress_at_once() {
    let pki = Pki::new();
    // The default handshake timeout is 10 s; shutdown must not wait for it.
    let server = start(&pki).await;
    let mut silent = TcpStream::connect(server.local_addr()).await.expect("connect");
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.stats().connections() == 0 {
        assert!(Instant::now() < deadline, "the connection was never counted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    server.shutdown().await.expect("shutdown");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    let closed = read_until_closed(&mut silent, Duration::from_secs(2)).await;
    assert!(closed.is_ok(), "the handshaking client was left open: {closed:?}");
}

#[tokio::test]
async fn a_plain_http_client_on_the_tls_port_is_closed_without_an_answer() {
    let pki = Pki::new();
    let server = start(&pki).await;
    let port = server.local_addr().port();
    // A TLS WebSocket stays open throughout: the plain client must not hurt it.
    let wss = jsonrpsee_ws_client::WsClientBuilder::default()
        .with_custom_cert_store(pki.client(&[]))
        .build(format!("wss://localhost:{port}/ws/"))
        .await
        .expect("a wss connection");

    let mut plain = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let body = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
    let request = format!(
        "POST /rpc/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    plain.write_all(request.as_bytes()).await.expect("write");
    // Closed at once (well inside the handshake timeout), and never answered
    // in plain HTTP: at most a TLS alert record (content type 21).
    let seen = read_until_closed(&mut plain, Duration::from_secs(2))
        .await
        .expect("the plain client was not closed");
    assert!(
        seen.is_empty() || seen[0] == 21,
        "a plain client got {:?}",
        String::from_utf8_lossy(&seen)
    );

    let sum: i64 = wss
        .request("add", rpc_params![2, 2])
        .await
        .expect("the wss client still served");
    assert_eq!(sum, 4);
    assert_eq!(https_call(&pki, port).await.expect("https still served"), 42);
    drop(wss);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_connection_cap_counts_tls_connections() {
    let pki = Pki::new();
    let config = ServerConfig::builder()
        .max_connections(1)
        .build()
        .expect("a valid configuration");
    let server = serve(pki.tls(), config).await;
    let port = server.local_addr().port();
    let held = tls_connect(&pki, port, &[b"http/1.1"])
        .await
        .expect("the first connection");
    assert_eq!(server.stats().connections(), 1);

    // Past the cap the server closes before the handshake completes.
    let refused = tls_connect(&pki, port, &[b"http/1.1"]).await;
    assert!(refused.is_err(), "a second TLS connection was accepted past a cap of 1");

    drop(held);
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.stats().connections() > 0 {
        assert!(Instant::now() < deadline, "the closed connection is still counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(https_call(&pki, port).await.expect("served once below the cap"), 42);
    server.shutdown().await.expect("shutdown");
}

#[test]
fn pem_files_load_and_bad_ones_say_what_is_wrong() {
    let pki = Pki::new();
    let pem = PemFiles::new(&pki, "load");
    let (cert, key) = (pem.path("cert.pem"), pem.path("key.pem"));

    let tls = TlsConfig::from_pem_files(&cert, &key).expect("PEM files load");
    let alpn: Vec<&[u8]> = tls.server_config().alpn_protocols.iter().map(Vec::as_slice).collect();
    assert_eq!(alpn, [&b"h2"[..], b"http/1.1"]);

    let missing = TlsConfig::from_pem_files(pem.path("nope.pem"), &key).unwrap_err();
    assert_eq!(missing.setting(), "tls");
    assert!(missing.to_string().contains("nope.pem"), "{missing}");

    // The key of another certificate.
    let other = Pki::new();
    let mismatched = TlsConfig::from_pem(pki.cert_pem.as_bytes(), other.key_pem.as_bytes()).unwrap_err();
    assert!(mismatched.to_string().contains("does not fit"), "{mismatched}");

    let not_pem = TlsConfig::from_pem(b"hello", pki.key_pem.as_bytes()).unwrap_err();
    assert!(not_pem.to_string().contains("no certificate"), "{not_pem}");
}

#[test]
fn a_rustls_config_of_your_own_keeps_its_alpn_or_gets_the_default() {
    let pki = Pki::new();
    let server_config = |alpn: &[&[u8]]| {
        let mut config = (*pki.tls().server_config().clone()).clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    };
    let default = TlsConfig::new(server_config(&[]));
    assert_eq!(
        default.server_config().alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    let own = TlsConfig::new(server_config(&[b"http/1.1"]));
    assert_eq!(own.server_config().alpn_protocols, [b"http/1.1".to_vec()]);
    let zero = ServerConfig::builder()
        .tls_handshake_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(zero.setting(), "tls_handshake_timeout");
}

/// The facade's `examples/spec_server`, which `cargo test --workspace` builds
/// (with `tls`, as this crate's tests turn it on) next to this test's directory.
fn spec_server() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/PROFILE/deps")
        .join("examples/spec_server");
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace`",
        path.display()
    );
    path
}

/// The certificate and key as PEM files in a directory of their own.
struct PemFiles(std::path::PathBuf);

impl PemFiles {
    fn new(pki: &Pki, tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("channels-rpc-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        std::fs::write(dir.join("cert.pem"), &pki.cert_pem).expect("write the certificate");
        std::fs::write(dir.join("key.pem"), &pki.key_pem).expect("write the key");
        PemFiles(dir)
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for PemFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn spec_server_serves_https_with_its_tls_flags() {
    use tokio::io::AsyncBufReadExt;
    let pki = Pki::new();
    let pem = PemFiles::new(&pki, "spec");
    let mut child = tokio::process::Command::new(spec_server())
        .args(["--addr", "127.0.0.1:0", "--tls-cert"])
        .arg(pem.path("cert.pem"))
        .arg("--tls-key")
        .arg(pem.path("key.pem"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spec_server starts");
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = stdout.next_line().await.expect("stdout").expect("a first line");
    let port = first
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("first line was {first:?}"));
    assert_eq!(https_call(&pki, port).await.expect("an answer over https"), 42);
    let mut plain = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let seen = read_until_closed(&mut plain, Duration::from_secs(2))
        .await
        .expect("plain HTTP closed");
    assert!(!seen.starts_with(b"HTTP/"), "plain HTTP was answered");
    child.kill().await.expect("stop spec_server");
}

#[test]
fn spec_server_refuses_a_certificate_without_its_key() {
    let pem = PemFiles::new(&Pki::new(), "half");
    let output = std::process::Command::new(spec_server())
        .args(["--addr", "127.0.0.1:0", "--tls-cert"])
        .arg(pem.path("cert.pem"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spec_server runs");
    assert!(
        !output.status.success(),
        "spec_server started with a certificate and no key"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-key"), "{stderr}");
}
