//! The HTTP connection watchdog: the header-read and keep-alive idle timeouts.
//!
//! hyper's own header-read timeout covers HTTP/1 only, after the h2c sniff,
//! and arms a tokio timer per request (a boxed sleep, and a runtime that then
//! waits for I/O with a timeout). Here a connection instead tells what it does
//! through a few atomics: requests start and end, bytes arrive while idle; a
//! ticker thread (as for WebSocket pings) wakes the connections a few times
//! per timeout and each checks how long it has been in its state:
//!
//! - waiting for a request's head (from the accept, which covers the h2c
//!   sniff, or from the first byte after an idle spell): the header read timeout;
//! - idle, no request in progress: the keep-alive timeout;
//! - a request in progress: no limit here (method timeouts are the call's).
//!
//! A connection over its limit is closed. The tick is an eighth of the
//! shorter timeout, so a connection is closed between its timeout and that
//! plus a quarter.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::config::ServerConfig;
use crate::read_signal::ReadSignal;
use crate::ticker::Ticker;

/// The shortest tick, so that tiny timeouts do not make the thread spin.
const MIN_TICK: Duration = Duration::from_millis(5);

/// What a connection is doing, shared by its I/O, its requests and its watchdog.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    /// The requests in progress (low 32 bits) and a generation (high 32 bits)
    /// bumped at every change of state, so that the watchdog sees changes
    /// between its ticks: one atomic add per request start and end.
    state: AtomicU64,
    /// With no request in progress: idle (true) or reading a head (false).
    idle: AtomicBool,
}

const BUSY: u64 = 1;
const BUSY_MASK: u64 = (1 << 32) - 1;
const GENERATION: u64 = 1 << 32;

impl Activity {
    /// A request's head has arrived: it is in progress until the guard drops.
    #[inline]
    pub(crate) fn request(self: &Arc<Self>) -> Busy {
        self.state.fetch_add(GENERATION + BUSY, Ordering::Relaxed);
        Busy(self.clone())
    }

    #[inline]
    fn on_read(&self) {
        if self.idle.load(Ordering::Relaxed) && self.busy() == 0 {
            self.idle.store(false, Ordering::Relaxed);
            self.state.fetch_add(GENERATION, Ordering::Relaxed);
        }
    }

    fn busy(&self) -> u64 {
        self.state.load(Ordering::Relaxed) & BUSY_MASK
    }

    fn generation(&self) -> u32 {
        (self.state.load(Ordering::Relaxed) >> 32) as u32
    }
}

/// A request in progress; dropped when its response is ready (or the request
/// is cancelled).
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    #[inline]
    fn drop(&mut self) {
        // One less in progress, one more generation (wrapping past the top).
        let before = self.0.state.fetch_add(GENERATION - BUSY, Ordering::Relaxed);
        if before & BUSY_MASK == BUSY {
            self.0.idle.store(true, Ordering::Relaxed);
        }
    }
}

/// A connection's I/O that reports arriving bytes to its [`Activity`], and
/// (plain TCP) whether a read found nothing to its [`ReadSignal`].
#[derive(Debug)]
pub(crate) struct Watched<S> {
    io: S,
    activity: Arc<Activity>,
    signal: Option<Arc<ReadSignal>>,
}

impl<S> Watched<S> {
    pub(crate) fn new(io: S, activity: Arc<Activity>) -> Self {
        Watched {
            io,
            activity,
            signal: None,
        }
    }

    /// The same, telling `signal` about its reads once it is active.
    pub(crate) fn signalling(mut self, signal: Arc<ReadSignal>) -> Self {
        self.signal = Some(signal);
        self
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    #[inline]
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = match &this.signal {
            Some(signal) if signal.is_active() => signal.poll_read(&mut this.io, cx, buf),
            _ => Pin::new(&mut this.io).poll_read(cx, buf),
        };
        if buf.filled().len() > before {
            this.activity.on_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    #[inline]
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    #[inline]
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    #[inline]
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    #[inline]
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    #[inline]
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The timeouts and the ticks of a server's HTTP connections.
#[derive(Debug, Clone)]
pub(crate) struct Timeouts {
    header_read: Duration,
    keep_alive: Duration,
    /// How long a connection may take to finish once the shutdown began.
    pub(crate) shutdown: Duration,
    pub(crate) ticker: Ticker,
}

impl Timeouts {
    pub(crate) fn new(config: &ServerConfig) -> Self {
        let header_read = config.header_read_timeout();
        let keep_alive = config.keep_alive_timeout();
        let tick = (header_read.min(keep_alive) / 8).max(MIN_TICK);
        Timeouts {
            header_read,
            keep_alive,
            shutdown: config.shutdown_timeout(),
            ticker: Ticker::new(Some(tick)),
        }
    }
}

/// One connection's view at the ticks: how long it has been in its state.
#[derive(Debug)]
pub(crate) struct Watch {
    activity: Arc<Activity>,
    seen: u32,
    /// When the state last changed, as far as the ticks tell.
    since: tokio::time::Instant,
}

/// Why a watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// No complete request head in time.
    HeaderRead,
    /// Idle for too long.
    KeepAlive,
    /// Still busy when the shutdown's time ran out.
    Shutdown,
}

impl Watch {
    pub(crate) fn new(activity: Arc<Activity>) -> Self {
        Watch {
            seen: activity.generation(),
            activity,
            since: tokio::time::Instant::now(),
        }
    }

    /// At a tick: the timeout this connection is past, if any.
    pub(crate) fn check(&mut self, timeouts: &Timeouts) -> Option<Expired> {
        let now = tokio::time::Instant::now();
        let generation = self.activity.generation();
        if generation != self.seen {
            self.seen = generation;
            self.since = now;
            return None;
        }
        if self.activity.busy() > 0 {
            return None;
        }
        let (limit, expired) = if self.activity.idle.load(Ordering::Relaxed) {
            (timeouts.keep_alive, Expired::KeepAlive)
        } else {
            (timeouts.header_read, Expired::HeaderRead)
        };
        (now.duration_since(self.since) >= limit).then_some(expired)
    }
}
