//! Live connection counts, so shutdown can wait for them and tests can check
//! that nothing leaks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Counts of live connections.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    inner: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    connections: AtomicUsize,
    websockets: AtomicUsize,
    changed: Notify,
}

/// Decrements its count when dropped.
#[derive(Debug)]
pub(crate) struct ConnectionGuard {
    stats: Stats,
    websocket: bool,
}

impl Stats {
    /// Open TCP connections (HTTP, including those upgraded to WebSocket until their task ends).
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::Acquire)
    }

    /// Open WebSocket connections.
    pub fn websockets(&self) -> usize {
        self.inner.websockets.load(Ordering::Acquire)
    }

    pub(crate) fn connection(&self) -> ConnectionGuard {
        self.inner.connections.fetch_add(1, Ordering::AcqRel);
        ConnectionGuard {
            stats: self.clone(),
            websocket: false,
        }
    }

    pub(crate) fn websocket(&self) -> ConnectionGuard {
        self.inner.websockets.fetch_add(1, Ordering::AcqRel);
        ConnectionGuard {
            stats: self.clone(),
            websocket: true,
        }
    }

    /// Waits until no connection of either kind is left.
    pub(crate) async fn all_closed(&self) {
        loop {
            let changed = self.inner.changed.notified();
            if self.websockets() == 0 && self.connections() == 0 {
                return;
            }
            changed.await;
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let counter = if self.websocket {
            &self.stats.inner.websockets
        } else {
            &self.stats.inner.connections
        };
        counter.fetch_sub(1, Ordering::AcqRel);
        self.stats.inner.changed.notify_waiters();
    }
}
