//! [`ReadSignal`]: whether a plain TCP connection's last read found nothing
//! and nothing has arrived since, which a WebSocket connection's loop asks
//! before it lets tungstenite read (`ws::next_frame`): tungstenite clears
//! its whole read buffer at every attempt, and the socket itself cannot be
//! asked once hyper has wrapped it for the upgrade.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, ReadBuf};

/// Off during HTTP (the connection's I/O pays one load per read); on once
/// the connection is a WebSocket. Then each read that finds nothing arms
/// it, and the socket's readiness, which wakes the signal in place of the
/// reader, disarms it.
#[derive(Debug, Default)]
pub(crate) struct ReadSignal {
    active: AtomicBool,
    /// The last read found nothing and the socket has not woken since.
    nothing_new: AtomicBool,
    reader: AtomicWaker,
}

impl ReadSignal {
    /// From now on reads are tracked (the connection is a WebSocket).
    pub(crate) fn activate(&self) {
        self.active.store(true, Ordering::Release);
    }

    /// Whether reads are tracked.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Reads `io`, telling the signal whether the read found nothing; the
    /// socket then wakes the signal, which wakes `cx`.
    pub(crate) fn poll_read<R: AsyncRead + Unpin>(
        self: &Arc<Self>,
        io: &mut R,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Armed before the read: a wake during it disarms.
        self.nothing_new.store(true, Ordering::Release);
        self.reader.register(cx.waker());
        let waker = Waker::from(self.clone());
        let polled = Pin::new(io).poll_read(&mut Context::from_waker(&waker), buf);
        if polled.is_ready() {
            self.nothing_new.store(false, Ordering::Release);
        }
        polled
    }

    /// Ready when bytes may have arrived since the last read found none;
    /// `Pending` registers `cx` to be woken when they do.
    pub(crate) fn poll_arrived(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.nothing_new.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        self.reader.register(cx.waker());
        // A wake between the load and the registration is seen here.
        if self.nothing_new.load(Ordering::Acquire) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

impl Wake for ReadSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.nothing_new.store(false, Ordering::Release);
        self.reader.wake();
    }
}
