//! Keep-alive ticks for WebSockets: one thread per service sleeps through the
//! ping interval and wakes every connection at once.
//!
//! A tokio timer per connection would do the same, but it keeps a timer
//! pending in the runtime for good, so the runtime waits for I/O with a
//! timeout: the kernel then arms and cancels a timer at every wake-up, which
//! on a virtual machine costs about as much as answering a call. With the
//! ticks coming from a thread, a busy server waits with no timeout at all.

use std::sync::{Arc, Once, Weak};
use std::time::Duration;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// The source of ping ticks shared by a service's WebSockets. Cheap to clone;
/// its thread starts with the first WebSocket, so an HTTP-only service has none.
#[derive(Debug, Clone)]
pub(crate) struct Ticker {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    notify: Notify,
    period: Option<Duration>,
    started: Once,
}

impl Ticker {
    /// Ticks every `period`; `None` never ticks.
    pub(crate) fn new(period: Option<Duration>) -> Ticker {
        Ticker {
            shared: Arc::new(Shared {
                notify: Notify::new(),
                period,
                started: Once::new(),
            }),
        }
    }

    /// The next tick. Pin it and call `enable` so that a tick that comes
    /// before its first poll is not missed.
    pub(crate) fn next(&self) -> Notified<'_> {
        if let Some(period) = self.shared.period {
            self.shared
                .started
                .call_once(|| spawn(period, Arc::downgrade(&self.shared)));
        }
        self.shared.notify.notified()
    }
}

/// The thread: it ends at its first tick after the last `Ticker` is dropped.
fn spawn(period: Duration, ticks: Weak<Shared>) {
    let spawned = std::thread::Builder::new()
        .name("rpc-ws-ticker".to_owned())
        .stack_size(64 * 1024)
        .spawn(move || loop {
            std::thread::sleep(period);
            match ticks.upgrade() {
                Some(shared) => shared.notify.notify_waiters(),
                None => break,
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "no ticker thread: WebSockets will not be pinged");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ticks_every_period_and_never_without_one() {
        let ticker = Ticker::new(Some(Duration::from_millis(20)));
        for _ in 0..3 {
            let tick = ticker.next();
            tokio::time::timeout(Duration::from_secs(5), tick)
                .await
                .expect("a tick within 5 s");
        }
        let silent = Ticker::new(None);
        let waited = tokio::time::timeout(Duration::from_millis(100), silent.next()).await;
        assert!(waited.is_err(), "no period, no tick");
    }
}
