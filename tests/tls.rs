//! `examples/spec_server.rs --tls-cert PATH --tls-key PATH` as a user runs
//! it, with a certificate made here by rcgen. (The transport's own TLS tests
//! are rpc-transport/tests/tls.rs.)

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The built example, next to this test binary's directory.
fn spec_server() -> PathBuf {
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

/// A certificate for `localhost` and its key, written as PEM files.
struct PemFiles {
    dir: PathBuf,
    cert_der: Vec<u8>,
}

impl PemFiles {
    fn new(tag: &str) -> Self {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
        let dir = std::env::temp_dir().join(format!("channels-rpc-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        std::fs::write(dir.join("cert.pem"), certified.cert.pem()).expect("write the certificate");
        std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).expect("write the key");
        PemFiles {
            dir,
            cert_der: certified.cert.der().to_vec(),
        }
    }

    fn arg(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for PemFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn spec_server_refuses_a_certificate_without_its_key() {
    let pem = PemFiles::new("half");
    let output = Command::new(spec_server())
        .args(["--addr", "127.0.0.1:0", "--tls-cert", &pem.arg("cert.pem")])
        .stdin(Stdio::null())
        .output()
        .expect("spec_server runs");
    assert!(
        !output.status.success(),
        "spec_server started with a certificate and no key"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

#[tokio::test]
#[cfg_attr(
    not(feature = "tls"),
    ignore = "spec_server serves TLS only when built with `--features tls` (as `cargo test --workspace` builds it)"
)]
async fn spec_server_serves_https_with_its_tls_flags() {
    #[cfg(feature = "tls")]
    with_tls::spec_server_serves_https_with_its_tls_flags().await;
}

#[cfg(feature = "tls")]
mod with_tls {
    use std::sync::Arc;

    use channels_rpc::rustls;
    use jsonrpsee_core::client::ClientT;
    use jsonrpsee_core::rpc_params;
    use tokio::io::AsyncBufReadExt;

    use super::{spec_server, PemFiles};

    pub(super) async fn spec_server_serves_https_with_its_tls_flags() {
        let pem = PemFiles::new("spec");
        let mut child = tokio::process::Command::new(spec_server())
            .args(["--addr", "127.0.0.1:0"])
            .args(["--tls-cert", &pem.arg("cert.pem"), "--tls-key", &pem.arg("key.pem")])
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

        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(pem.cert_der.clone().into())
            .expect("the certificate as a root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = jsonrpsee_http_client::HttpClientBuilder::default()
            .with_custom_cert_store(tls)
            .build(format!("https://localhost:{port}/rpc/"))
            .expect("a client");
        let difference: i64 = client
            .request("subtract", rpc_params![42, 23])
            .await
            .expect("an answer over https");
        assert_eq!(difference, 19);

        // The same port does not answer plain http.
        let plain = jsonrpsee_http_client::HttpClientBuilder::default()
            .build(format!("http://localhost:{port}/rpc/"))
            .expect("a client");
        let refused: Result<i64, _> = plain.request("subtract", rpc_params![42, 23]).await;
        assert!(refused.is_err(), "plain http answered: {refused:?}");
        child.kill().await.expect("stop spec_server");
    }
}
