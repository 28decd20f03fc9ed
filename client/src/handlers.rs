//! What the client does with the server's pushes and calls.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::error::RpcError;

/// A notification the server pushed: its method and params.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The notification's method.
    pub method: String,
    /// Its params (`null` when it had none).
    pub params: Value,
}

type NotifyFn = Arc<dyn Fn(Value) + Send + Sync>;
type AnswerFuture = Pin<Box<dyn Future<Output = Result<Value, RpcError>> + Send>>;
pub(crate) type AnswerFn = Arc<dyn Fn(Value) -> AnswerFuture + Send + Sync>;

/// The registered handlers and the subscribers to all notifications.
pub(crate) struct Handlers {
    notify: RwLock<HashMap<String, NotifyFn>>,
    answer: RwLock<HashMap<String, AnswerFn>>,
    /// `None` once the connection is gone for good: subscribers see the end.
    stream: Mutex<Option<broadcast::Sender<Notification>>>,
    buffer: usize,
}

impl Handlers {
    pub(crate) fn new(buffer: usize) -> Self {
        Self {
            notify: RwLock::default(),
            answer: RwLock::default(),
            stream: Mutex::new(Some(broadcast::channel(buffer).0)),
            buffer,
        }
    }

    pub(crate) fn on(&self, method: String, handler: NotifyFn) {
        self.notify.write().expect("not poisoned").insert(method, handler);
    }

    pub(crate) fn answer<F, Fut>(&self, method: String, handler: F)
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
    {
        let handler: AnswerFn = Arc::new(move |params| Box::pin(handler(params)));
        self.answer.write().expect("not poisoned").insert(method, handler);
    }

    pub(crate) fn answerer(&self, method: &str) -> Option<AnswerFn> {
        self.answer.read().expect("not poisoned").get(method).cloned()
    }

    /// Runs the method's handler, then hands the notification to the subscribers.
    pub(crate) fn notified(&self, method: String, params: Value) {
        let handler = self.notify.read().expect("not poisoned").get(&method).cloned();
        if let Some(handler) = handler {
            // A panicking handler must not take the connection down with it.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(params.clone())));
            if ran.is_err() {
                tracing::error!(%method, "a notification handler panicked");
            }
        }
        if let Some(stream) = &*self.stream.lock().expect("not poisoned") {
            let _ = stream.send(Notification { method, params });
        }
    }

    pub(crate) fn subscribe(&self) -> Notifications {
        let receiver = match &*self.stream.lock().expect("not poisoned") {
            Some(stream) => stream.subscribe(),
            None => broadcast::channel(self.buffer.max(1)).0.subscribe(),
        };
        Notifications { receiver }
    }

    /// Ends every subscriber's stream.
    pub(crate) fn end(&self) {
        self.stream.lock().expect("not poisoned").take();
    }
}

/// Every notification the server pushes, from [`crate::Client::notifications`].
///
/// It holds at most [`crate::ClientBuilder::notification_buffer`] unread
/// notifications; a reader that falls further behind loses the oldest (logged).
#[derive(Debug)]
pub struct Notifications {
    receiver: broadcast::Receiver<Notification>,
}

impl Notifications {
    /// The next notification; `None` once the connection is closed for good.
    pub async fn next(&mut self) -> Option<Notification> {
        loop {
            match self.receiver.recv().await {
                Ok(notification) => return Some(notification),
                Err(broadcast::error::RecvError::Lagged(lost)) => {
                    tracing::warn!(lost, "a notification reader fell behind; the oldest were dropped");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
