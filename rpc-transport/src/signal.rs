//! [`shutdown_on_signal`]: the stop request of a process manager or a
//! terminal, for [`Listening::serve_until`](crate::Listening::serve_until).

/// Completes on SIGTERM (a container stop, systemd, Kubernetes) or Ctrl-C
/// (SIGINT), whichever comes first; elsewhere than Unix, on Ctrl-C. Give it
/// to `serve_until`: running calls finish, WebSockets close with 1001.
///
/// ```no_run
/// use channels_rpc::{shutdown_on_signal, Consumer, Server};
/// # #[derive(Consumer, Default)] struct MyConsumer;
///
/// # async fn run() -> std::io::Result<()> {
/// Server::bind("127.0.0.1:8000")
///     .websocket("/ws/", MyConsumer::app())
///     .listen()
///     .await?
///     .serve_until(shutdown_on_signal())
///     .await
/// # }
/// ```
pub async fn shutdown_on_signal() {
    let name = tokio::select! {
        () = terminate() => "SIGTERM",
        () = interrupt() => "Ctrl-C",
    };
    tracing::info!(signal = name, "shutting down gracefully");
}

async fn interrupt() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "cannot listen for Ctrl-C");
        std::future::pending::<()>().await;
    }
}

#[cfg(unix)]
async fn terminate() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut stream) => {
            stream.recv().await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await;
}
