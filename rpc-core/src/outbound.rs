//! Server push: a [`ConnectionHandle`] sends notifications to one connection
//! through a bounded queue that its transport drains.

use std::sync::Arc;

use serde::Serialize;

use crate::client_calls::{self, CallLimits, ClientCallError, PendingCalls};
use crate::json_writer::JsonBuf;
use crate::queue::{self, Queue, TrySendError};

/// Why a push failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The connection is gone.
    #[error("the connection is closed")]
    Closed,
    /// The peer does not read fast enough: its queue is full, and the
    /// connection is being closed.
    #[error("the connection's outbound queue is full; closing it")]
    Full,
    /// The connection cannot receive pushes (one HTTP request).
    #[error("this transport cannot push messages")]
    Unsupported,
    /// `params` did not serialize to a JSON array or object.
    #[error("notification params must serialize to a JSON array or object")]
    InvalidParams,
}

/// Sends JSON-RPC notifications to one connection, and calls its client
/// ([`call_client`](Self::call_client)), from inside a method
/// ([`RpcContext::notify`](crate::RpcContext::notify)) or from anywhere else.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    queue: queue::Sender<String>,
    calls: Arc<PendingCalls>,
}

/// The transport's end of a connection's queue. Dropping it (the connection
/// ended) fails the calls still waiting for the client's answer.
#[derive(Debug)]
pub struct Outbox {
    /// Messages to send, each one JSON text. A push that finds it full
    /// wakes its receiver with [`ConnectionHandle::overflowed`] set.
    pub queue: Queue<String>,
    calls: Arc<PendingCalls>,
}

impl Outbox {
    /// Fails the calls still waiting for the client's answer, and refuses
    /// new ones: the client has said it is closing, and answers nothing more.
    pub fn close_client_calls(&self) {
        self.calls.close();
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.calls.close();
    }
}

impl ConnectionHandle {
    /// A handle and the outbox it fills, holding at most `capacity` messages,
    /// with the default [`CallLimits`].
    pub fn channel(capacity: usize) -> (ConnectionHandle, Outbox) {
        Self::channel_with(capacity, CallLimits::default())
    }

    /// A handle and its outbox, holding at most `capacity` messages, whose
    /// calls to the client are bounded by `limits`.
    pub fn channel_with(capacity: usize, limits: CallLimits) -> (ConnectionHandle, Outbox) {
        let (queue, receiver) = queue::bounded(capacity);
        let calls = PendingCalls::new(limits);
        let handle = ConnectionHandle {
            queue,
            calls: calls.clone(),
        };
        (handle, Outbox { queue: receiver, calls })
    }

    /// Calls `method(params)` on the client and waits for its result: the
    /// server sends a JSON-RPC request with an id of its own and matches the
    /// client's response by it. Fails when the client answers with an error
    /// ([`ClientCallError::Client`], which converts to that same
    /// [`RpcError`](crate::RpcError)), does not answer within
    /// [`CallLimits::timeout`], when [`CallLimits::max_pending`] calls are
    /// already waiting, and at once when the connection ends.
    ///
    /// ```
    /// use channels_rpc::ConnectionHandle;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let (handle, mut outbox) = ConnectionHandle::channel(8);
    /// let client = async {
    ///     let request = outbox.queue.recv().await.unwrap();
    ///     assert_eq!(request, r#"{"jsonrpc":"2.0","method":"confirm","params":["sure?"],"id":1}"#);
    ///     handle.deliver_response(r#"{"jsonrpc":"2.0","result":true,"id":1}"#);
    /// };
    /// let (answer, ()) = tokio::join!(handle.call_client::<bool, _>("confirm", &["sure?"]), client);
    /// assert_eq!(answer, Ok(true));
    /// # });
    /// ```
    pub async fn call_client<T, P>(&self, method: &str, params: &P) -> Result<T, ClientCallError>
    where
        T: serde::de::DeserializeOwned,
        P: Serialize + ?Sized,
    {
        client_calls::call(&self.calls, method, params, |text| self.send_raw(text)).await
    }

    /// Hands a message from the client to the call it answers, if it is a
    /// response to one (see [`PendingCalls::deliver`]); transports call it.
    pub fn deliver_response(&self, text: &str) -> crate::client_calls::Delivery {
        self.calls.deliver(text)
    }

    /// How many calls to the client wait for an answer now.
    pub fn pending_client_calls(&self) -> usize {
        self.calls.waiting()
    }

    /// Sends the notification `method(params)`.
    ///
    /// ```
    /// use channels_rpc::ConnectionHandle;
    ///
    /// let (handle, mut outbox) = ConnectionHandle::channel(8);
    /// handle.notify("chat.message", &["hi"]).unwrap();
    /// let sent = outbox.queue.try_recv().unwrap();
    /// assert_eq!(sent, r#"{"jsonrpc":"2.0","method":"chat.message","params":["hi"]}"#);
    /// ```
    pub fn notify<P: Serialize + ?Sized>(&self, method: &str, params: &P) -> Result<(), PushError> {
        self.send_raw(notification_text(method, params)?)
    }

    /// Sends a message that is already JSON text.
    pub fn send_raw(&self, json: String) -> Result<(), PushError> {
        match self.queue.try_send(json) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(_)) => Err(PushError::Closed),
            Err(TrySendError::Full(_)) => {
                self.queue.raise_overflow();
                Err(PushError::Full)
            }
        }
    }

    /// True once a push found the queue full: the peer does not read fast
    /// enough, and the transport closes the connection. The push that
    /// raised it woke the outbox's receiver.
    ///
    /// ```
    /// use channels_rpc::ConnectionHandle;
    ///
    /// let (handle, _outbox) = ConnectionHandle::channel(1);
    /// handle.notify("tick", &[1]).unwrap();
    /// assert!(!handle.overflowed());
    /// assert!(handle.notify("tick", &[2]).is_err());
    /// assert!(handle.overflowed());
    /// ```
    pub fn overflowed(&self) -> bool {
        self.queue.overflow_raised()
    }

    /// True once the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}

/// `{"jsonrpc":"2.0","method":M,"params":P}` as bytes.
pub fn encode_notification<P: Serialize + ?Sized>(method: &str, params: &P) -> Result<Vec<u8>, PushError> {
    notification(method, params).map(JsonBuf::into_bytes)
}

/// `{"jsonrpc":"2.0","method":M,"params":P}` as text.
pub(crate) fn notification_text<P: Serialize + ?Sized>(method: &str, params: &P) -> Result<String, PushError> {
    notification(method, params).map(JsonBuf::into_string)
}

/// `{"jsonrpc":"2.0","method":M,"params":P,"id":ID}` as text.
pub(crate) fn request_text<P: Serialize + ?Sized>(method: &str, params: &P, id: u64) -> Result<String, PushError> {
    let mut out = method_and_params(method, params)?;
    out.push_str(r#","id":"#);
    out.write(&id).map_err(|_| PushError::InvalidParams)?;
    out.push_ascii(b'}');
    Ok(out.into_string())
}

fn notification<P: Serialize + ?Sized>(method: &str, params: &P) -> Result<JsonBuf, PushError> {
    let mut out = method_and_params(method, params)?;
    out.push_ascii(b'}');
    Ok(out)
}

/// `{"jsonrpc":"2.0","method":M,"params":P`, the object left open.
fn method_and_params<P: Serialize + ?Sized>(method: &str, params: &P) -> Result<JsonBuf, PushError> {
    let mut out = JsonBuf::with_capacity(64 + method.len());
    out.push_str(r#"{"jsonrpc":"2.0","method":"#);
    out.write(method).map_err(|_| PushError::InvalidParams)?;
    out.push_str(r#","params":"#);
    let start = out.len();
    out.write(params).map_err(|_| PushError::InvalidParams)?;
    if !matches!(out.byte_at(start), Some(b'[' | b'{')) {
        return Err(PushError::InvalidParams);
    }
    Ok(out)
}

impl From<PushError> for crate::RpcError {
    fn from(e: PushError) -> Self {
        crate::RpcError::application(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_signals_overflow_and_closed_queue_says_so() {
        let (handle, outbox) = ConnectionHandle::channel(1);
        handle.notify("a", &[1]).unwrap();
        assert!(!handle.overflowed());
        assert_eq!(handle.notify("a", &[2]), Err(PushError::Full));
        assert!(handle.overflowed());
        assert_eq!(handle.notify("a", &3), Err(PushError::InvalidParams));
        drop(outbox);
        assert_eq!(handle.notify("a", &[4]), Err(PushError::Closed));
        assert!(handle.is_closed());
    }
}
