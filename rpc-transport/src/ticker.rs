//! Keep-alive ticks for WebSockets: one thread per service sleeps through the
//! ping interval and wakes every connection at once.
//!
//! A tokio timer per connection would do the same, but it keeps a timer
//! pending in the runtime for good, so the runtime waits for I/O with a
//! timeout: the kernel then arms and cancels a timer at every wake-up, which
//! on a virtual machine costs about as much as answering a call. With the
//! ticks coming from a thread, a busy server waits with no timeout at all.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// The source of ping ticks shared by a service's WebSockets. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Ticker {
    notify: Arc<Notify>,
}

impl Ticker {
    /// Ticks every `period`; `None` never ticks. The thread ends at its first
    /// tick after the last clone is dropped.
    pub(crate) fn start(period: Option<Duration>) -> Ticker {
        let notify = Arc::new(Notify::new());
        if let Some(period) = period {
            let ticks = Arc::downgrade(&notify);
            let spawned = std::thread::Builder::new()
                .name("rpc-ws-ticker".to_owned())
                .stack_size(64 * 1024)
                .spawn(move || loop {
                    std::thread::sleep(period);
                    match ticks.upgrade() {
                        Some(notify) => notify.notify_waiters(),
                        None => break,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "no ticker thread: WebSockets will not be pinged");
            }
        }
        Ticker { notify }
    }

    /// The next tick. Pin it and call `enable` so that a tick that comes
    /// before its first poll is not missed.
    pub(crate) fn next(&self) -> Notified<'_> {
        self.notify.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ticks_every_period_and_never_without_one() {
        let ticker = Ticker::start(Some(Duration::from_millis(20)));
        for _ in 0..3 {
            let tick = ticker.next();
            tokio::time::timeout(Duration::from_secs(5), tick)
                .await
                .expect("a tick within 5 s");
        }
        let silent = Ticker::start(None);
        let waited = tokio::time::timeout(Duration::from_millis(100), silent.next()).await;
        assert!(waited.is_err(), "no period, no tick");
    }
}
