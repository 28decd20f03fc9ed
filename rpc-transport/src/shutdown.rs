//! The shutdown signal as connections await it.

use std::future::Future;
use std::task::Poll;

use tokio::sync::watch;

/// Completes when the server shuts down (or is gone), for a task that polls
/// it on every wake-up, for as long as it lives. The first poll registers the
/// task's waker; later polls only read the signal's version, an atomic load,
/// instead of polling the notification again (a lock each time). Made for one
/// task: polled from another, it would not wake that one.
pub(crate) fn shutdown_signal(shutdown: watch::Receiver<bool>) -> impl Future<Output = ()> + Send + 'static {
    let version = shutdown.clone();
    let mut signal = shutdown;
    async move {
        let mut changed = std::pin::pin!(signal.changed());
        let mut registered = false;
        std::future::poll_fn(|cx| {
            // A closed channel (`Err`) means shutdown as well.
            if registered && !version.has_changed().unwrap_or(true) {
                return Poll::Pending;
            }
            registered = true;
            changed.as_mut().poll(cx).map(|_| ())
        })
        .await
    }
}
