//! Keep-alive ticks for WebSockets: one thread per service sleeps through the
//! ping interval and wakes every connection at once.
//!
//! A tokio timer per connection would do the same, but it keeps a timer
//! pending in the runtime for good, so the runtime waits for I/O with a
//! timeout: the kernel then arms and cancels a timer at every wake-up, which
//! on a virtual machine costs about as much as answering a call. With the
//! ticks coming from a thread, a busy server waits with no timeout at all.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once, Weak};
use std::task::Poll;
use std::time::Duration;

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
    /// Ticks so far, counted before each is notified.
    ticks: AtomicU64,
    period: Option<Duration>,
    started: Once,
}

impl Ticker {
    /// Ticks every `period`; `None` never ticks.
    pub(crate) fn new(period: Option<Duration>) -> Ticker {
        Ticker {
            shared: Arc::new(Shared {
                notify: Notify::new(),
                ticks: AtomicU64::new(0),
                period,
                started: Once::new(),
            }),
        }
    }

    /// The next tick after this call (one that comes before the first poll
    /// is not missed), for a task that polls it at every wake-up: the first
    /// poll registers the task's waker, later ones only compare the tick
    /// count, an atomic load, instead of polling the notification again (its
    /// lock, at every call on a connection). Polled from another task, it
    /// would not wake that one.
    pub(crate) fn next(&self) -> impl Future<Output = ()> + Send + '_ {
        if let Some(period) = self.shared.period {
            self.shared
                .started
                .call_once(|| spawn(period, Arc::downgrade(&self.shared)));
        }
        let shared = &*self.shared;
        let seen = shared.ticks.load(Ordering::Acquire);
        // Made now: tokio's `Notified` hears every `notify_waiters` from
        // its making on, polled or not yet.
        let notified = shared.notify.notified();
        async move {
            let mut notified = std::pin::pin!(notified);
            let mut registered = false;
            std::future::poll_fn(|cx| {
                if shared.ticks.load(Ordering::Acquire) != seen {
                    return Poll::Ready(());
                }
                if registered {
                    return Poll::Pending;
                }
                registered = true;
                notified.as_mut().poll(cx)
            })
            .await
        }
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
                Some(shared) => {
                    shared.ticks.fetch_add(1, Ordering::Release);
                    shared.notify.notify_waiters();
                }
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
    async fn a_tick_before_the_first_poll_or_after_the_first_wait_is_heard() {
        use futures_util::task::{waker, ArcWake};
        use std::sync::atomic::AtomicUsize;
        use std::task::Context;
        struct Wakes(AtomicUsize);
        impl ArcWake for Wakes {
            fn wake_by_ref(this: &Arc<Self>) {
                this.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let ticker = Ticker::new(None);
        let tick = |ticker: &Ticker| {
            ticker.shared.ticks.fetch_add(1, Ordering::Release);
            ticker.shared.notify.notify_waiters();
        };
        let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
        let waker = waker(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        // Made, then ticked, then polled.
        let mut early = std::pin::pin!(ticker.next());
        tick(&ticker);
        assert!(early.as_mut().poll(&mut cx).is_ready());
        // Waiting (registered at the first poll), then ticked from another thread.
        let mut waiting = std::pin::pin!(ticker.next());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        assert!(waiting.as_mut().poll(&mut cx).is_pending(), "no tick yet");
        let other = ticker.clone();
        std::thread::spawn(move || tick(&other)).join().unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the waiting task is woken");
        assert!(waiting.as_mut().poll(&mut cx).is_ready());
    }

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
