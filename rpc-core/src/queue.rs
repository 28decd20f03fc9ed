//! A bounded many-to-one queue that allocates nothing until it is used.
//!
//! Every connection has two (server push and channel layer messages) and on
//! most connections they stay empty: tokio's mpsc allocates its first block
//! of slots up front, about a kilobyte per queue; this one allocates a
//! `VecDeque` on the first message. Its one receiver waits on an
//! [`AtomicWaker`]: a connection's loop polls the queue afresh at every turn,
//! and registering costs one compare-and-swap, no lock, nothing to undo when
//! the turn ends (a `Notify` waiter is linked in and out of a locked list).
//! Looking into an empty queue, what most of those polls find, is one atomic
//! load: the lock is taken only when there is something to take.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

struct Shared<T> {
    items: Mutex<VecDeque<T>>,
    /// `items.len()`, written under the lock, read without it.
    len: AtomicUsize,
    capacity: usize,
    senders: AtomicUsize,
    receiver_alive: AtomicBool,
    /// Set by [`Sender::raise_overflow`], read by [`Sender::overflow_raised`].
    overflowed: AtomicBool,
    /// Wakes the receiver: a message arrived, the last sender left, or a
    /// sender raised the overflow flag.
    ready: AtomicWaker,
}

/// The sending side; cheap to clone.
pub struct Sender<T>(Arc<Shared<T>>);

/// The receiving side.
pub struct Queue<T>(Arc<Shared<T>>);

/// Why [`Sender::try_send`] gave the message back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The queue holds `capacity` messages already.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// A queue holding at most `capacity` messages, and its first sender.
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Queue<T>) {
    let shared = Arc::new(Shared {
        items: Mutex::new(VecDeque::new()),
        len: AtomicUsize::new(0),
        capacity: capacity.max(1),
        senders: AtomicUsize::new(1),
        receiver_alive: AtomicBool::new(true),
        overflowed: AtomicBool::new(false),
        ready: AtomicWaker::new(),
    });
    (Sender(shared.clone()), Queue(shared))
}

impl<T> Sender<T> {
    /// Queues `item` without waiting.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        if !self.0.receiver_alive.load(Ordering::Acquire) {
            return Err(TrySendError::Closed(item));
        }
        let mut items = self.0.items.lock().expect("not poisoned");
        if items.len() >= self.0.capacity {
            return Err(TrySendError::Full(item));
        }
        items.push_back(item);
        // Release: a receiver that reads the new length sees the item, and
        // the wake below comes after it (see `Queue::poll_recv`).
        self.0.len.store(items.len(), Ordering::Release);
        drop(items);
        self.0.ready.wake();
        Ok(())
    }

    /// Raises the queue's overflow flag and wakes the receiver: what a sender
    /// does when the queue was full and the receiver must act on it (close a
    /// slow connection, say). The receiver and every sender see the flag in
    /// [`overflow_raised`](Self::overflow_raised).
    pub fn raise_overflow(&self) {
        self.0.overflowed.store(true, Ordering::Release);
        self.0.ready.wake();
    }

    /// True once a sender has called [`raise_overflow`](Self::raise_overflow).
    pub fn overflow_raised(&self) -> bool {
        self.0.overflowed.load(Ordering::Acquire)
    }

    /// True once the receiver is gone.
    pub fn is_closed(&self) -> bool {
        !self.0.receiver_alive.load(Ordering::Acquire)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.0.senders.fetch_add(1, Ordering::AcqRel);
        Sender(self.0.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.ready.wake();
        }
    }
}

impl<T> Queue<T> {
    /// The next message, waiting for one; `None` once every sender is gone
    /// and the queue is empty. Cancel-safe: a dropped call loses nothing.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll: `Pending` registers `cx` to be woken
    /// by the next message (or the last sender leaving).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(ready) = self.ready_now() {
            return Poll::Ready(ready);
        }
        self.0.ready.register(cx.waker());
        // What came between the look above and the registration is seen now.
        match self.ready_now() {
            Some(ready) => Poll::Ready(ready),
            None => Poll::Pending,
        }
    }

    /// A message, or `Some(None)` once no sender is left; `None`: wait.
    fn ready_now(&mut self) -> Option<Option<T>> {
        if let Some(item) = self.try_recv() {
            return Some(Some(item));
        }
        if self.0.senders.load(Ordering::Acquire) == 0 {
            return Some(self.try_recv());
        }
        None
    }

    /// The next message, if one is queued.
    pub fn try_recv(&mut self) -> Option<T> {
        // A sender's push is seen here or, if it comes after this load, it
        // wakes the waker registered before the second look of `poll_recv`.
        if self.0.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut items = self.0.items.lock().expect("not poisoned");
        let item = items.pop_front();
        self.0.len.store(items.len(), Ordering::Release);
        item
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        self.0.receiver_alive.store(false, Ordering::Release);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.0.capacity)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.0.items.lock().map(|q| q.len()).unwrap_or(0);
        f.debug_struct("Queue")
            .field("len", &len)
            .field("capacity", &self.0.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn bounded_in_order_and_closes_both_ways() {
        let (tx, mut rx) = bounded(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), None);
        let tx2 = tx.clone();
        drop(tx);
        tx2.try_send(4).unwrap();
        drop(tx2);
        assert_eq!(rx.recv().await, Some(4), "queued messages outlive the senders");
        assert_eq!(rx.recv().await, None);
        let (tx, rx) = bounded::<u8>(1);
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    }

    #[test]
    fn raising_the_overflow_flag_wakes_the_waiting_receiver_and_every_sender_sees_it() {
        use futures_util::task::{waker, ArcWake};
        struct Wakes(AtomicUsize);
        impl ArcWake for Wakes {
            fn wake_by_ref(this: &Arc<Self>) {
                this.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let (tx, mut rx) = bounded::<u8>(1);
        let other = tx.clone();
        let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
        let waker = waker(wakes.clone());
        assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
        assert!(!other.overflow_raised());
        tx.raise_overflow();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the waiting receiver is woken");
        assert!(other.overflow_raised() && tx.overflow_raised());
        // A message pushed after a look that found none wakes it as well.
        assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
        tx.try_send(9).unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
        assert_eq!(rx.try_recv(), Some(9));
        assert_eq!(rx.try_recv(), None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_when_the_last_sender_leaves() {
        let (tx, mut rx) = bounded::<u8>(4);
        let tx2 = tx.clone();
        let waiting = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        drop(tx);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "one sender is still there");
        drop(tx2);
        let got = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(got.expect("woken").unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wakes_a_waiting_receiver_and_survives_cancelled_waits() {
        let (tx, mut rx) = bounded(1024);
        // A wait that is cancelled must not lose the next message.
        assert!(tokio::time::timeout(Duration::from_millis(10), rx.recv())
            .await
            .is_err());
        let producer = tokio::spawn(async move {
            for i in 0..1000u32 {
                while let Err(TrySendError::Full(_)) = tx.try_send(i) {
                    tokio::task::yield_now().await;
                }
                if i % 100 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        });
        let mut got = Vec::new();
        while let Some(i) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap() {
            got.push(i);
        }
        producer.await.unwrap();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    }
}
