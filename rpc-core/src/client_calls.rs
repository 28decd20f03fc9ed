//! Server-to-client calls: the server sends a JSON-RPC request over a
//! connection and waits for the client's response, matched by id.
//!
//! Each connection keeps its calls waiting for an answer in a
//! [`PendingCalls`]: at most [`CallLimits::max_pending`] at once, each for at
//! most [`CallLimits::timeout`]. A waiting call's entry is removed when it is
//! answered, times out or is dropped, so nothing a client does (never
//! answering, answering twice, answering an id it was never sent) leaves an
//! entry behind. When the connection ends every waiting call fails at once
//! with [`ClientCallError::Closed`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use crate::error::RpcError;
use crate::outbound::PushError;

/// The bounds on one connection's calls to its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// How many calls may wait for an answer at once; past it a call fails
    /// at once with [`ClientCallError::TooManyPending`].
    pub max_pending: usize,
    /// How long a call waits for its answer.
    pub timeout: Duration,
}

impl CallLimits {
    /// Calls waiting at once per connection: enough for a handful of
    /// concurrent prompts, small enough that a client that never answers
    /// holds little.
    pub const DEFAULT_MAX_PENDING: usize = 64;
    /// How long a call waits: a person may be answering a prompt.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            max_pending: Self::DEFAULT_MAX_PENDING,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// Why a call to the client failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientCallError {
    /// The client answered with this error.
    #[error("the client answered with an error: {}", .0.message())]
    Client(RpcError),
    /// No answer within the timeout.
    #[error("the client did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection ended before the answer came (or had ended already).
    #[error("the connection is closed")]
    Closed,
    /// As many calls as allowed are already waiting on this connection.
    #[error("too many calls to the client are waiting for an answer (at most {0})")]
    TooManyPending(usize),
    /// The connection cannot carry calls to its client (one HTTP request).
    #[error("this transport cannot call its client")]
    Unsupported,
    /// The request could not be sent (the queue is full, the params do not
    /// serialize to an array or object).
    #[error(transparent)]
    Push(PushError),
    /// The client's result is not what the caller expected.
    #[error("the client's result does not decode: {0}")]
    InvalidResult(String),
}

impl From<ClientCallError> for RpcError {
    /// The client's own error as it sent it; any other failure as an
    /// application error (-32000) saying what happened.
    fn from(error: ClientCallError) -> Self {
        match error {
            ClientCallError::Client(error) => error,
            other => RpcError::application(other),
        }
    }
}

/// What a waiting call receives: the result's JSON text, or the client's error.
type Outcome = Result<Box<RawValue>, RpcError>;

/// The calls of one connection that wait for the client's answer.
#[derive(Debug)]
pub struct PendingCalls {
    limits: CallLimits,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    waiting: rustc_hash::FxHashMap<u64, oneshot::Sender<Outcome>>,
    closed: bool,
}

/// What [`PendingCalls::deliver`] made of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A response to a waiting call, handed to it.
    Delivered,
    /// A response, but to no waiting call (a late, repeated or unknown id): ignored.
    Unmatched,
    /// Not a response: a request, or not JSON-RPC at all.
    NotAResponse,
}

impl PendingCalls {
    /// No calls yet, under `limits`.
    pub fn new(limits: CallLimits) -> Arc<Self> {
        Arc::new(PendingCalls {
            limits,
            state: Mutex::new(State::default()),
        })
    }

    /// The bounds.
    pub fn limits(&self) -> CallLimits {
        self.limits
    }

    /// How many calls wait for an answer now.
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the map consistent (every
        // change is one insert or remove): go on with it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a call: its id and the receiver of its answer, or why not.
    fn register(self: &Arc<Self>) -> Result<Waiting, ClientCallError> {
        let mut state = self.lock();
        if state.closed {
            return Err(ClientCallError::Closed);
        }
        if state.waiting.len() >= self.limits.max_pending {
            return Err(ClientCallError::TooManyPending(self.limits.max_pending));
        }
        state.next_id += 1;
        let id = state.next_id;
        let (sender, receiver) = oneshot::channel();
        state.waiting.insert(id, sender);
        Ok(Waiting {
            calls: self.clone(),
            id,
            receiver,
        })
    }

    /// Fails every waiting call with [`ClientCallError::Closed`] and refuses
    /// new ones: the connection has ended.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        // Dropping the senders wakes each call with "closed".
        state.waiting.clear();
    }

    /// Hands `text` to the call it answers, if it is a response (a JSON
    /// object with an `id` and a `result` or an `error`, and no `method`).
    pub fn deliver(&self, text: &str) -> Delivery {
        let Ok(response) = serde_json::from_str::<Response<'_>>(text) else {
            return Delivery::NotAResponse;
        };
        if response.method.is_some() {
            return Delivery::NotAResponse;
        }
        let outcome = match (response.result, response.error) {
            (_, Some(error)) if error.get() != "null" => Err(client_error(&error)),
            (Some(result), _) => Ok(result),
            _ => return Delivery::NotAResponse,
        };
        let Some(id) = response.id.and_then(|id| id.get().parse::<u64>().ok()) else {
            tracing::debug!("a response from the client with an id the server never sends: ignored");
            return Delivery::Unmatched;
        };
        let Some(sender) = self.lock().waiting.remove(&id) else {
            tracing::debug!(id, "a response from the client to no waiting call: ignored");
            return Delivery::Unmatched;
        };
        // The call may have given up in between: then nobody is told.
        let _ = sender.send(outcome);
        Delivery::Delivered
    }
}

/// The client's error object as an [`RpcError`]; one that is not a valid
/// error object is -32603, with what it was in `data`.
fn client_error(error: &RawValue) -> RpcError {
    #[derive(Deserialize)]
    struct ErrorObject {
        code: i64,
        message: String,
        data: Option<serde_json::Value>,
    }
    match serde_json::from_str::<ErrorObject>(error.get()) {
        Ok(e) => {
            let mut out = RpcError::new(e.code, e.message);
            if let Some(data) = e.data {
                out = out.with_data(data);
            }
            out
        }
        Err(_) => RpcError::internal().with_data(error.get().chars().take(256).collect::<String>()),
    }
}

/// A response's members; `result` and `error` keep `null` apart from absent.
#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    error: Option<Box<RawValue>>,
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
}

fn present<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(de).map(Some)
}

/// A registered call; dropping it (answered, timed out, cancelled) removes its entry.
struct Waiting {
    calls: Arc<PendingCalls>,
    id: u64,
    receiver: oneshot::Receiver<Outcome>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.calls.lock().waiting.remove(&self.id);
    }
}

/// Calls `method(params)` on the client: `send` writes the request text;
/// then waits for the answer within the limits of `calls`.
pub(crate) async fn call<T: DeserializeOwned>(
    calls: &Arc<PendingCalls>,
    method: &str,
    params: &(impl serde::Serialize + ?Sized),
    send: impl FnOnce(String) -> Result<(), PushError>,
) -> Result<T, ClientCallError> {
    let mut waiting = calls.register()?;
    let request = crate::outbound::request_text(method, params, waiting.id).map_err(ClientCallError::Push)?;
    send(request).map_err(|e| match e {
        PushError::Closed => ClientCallError::Closed,
        other => ClientCallError::Push(other),
    })?;
    let timeout = calls.limits.timeout;
    let outcome = match tokio::time::timeout(timeout, &mut waiting.receiver).await {
        Err(_) => return Err(ClientCallError::Timeout(timeout)),
        Ok(Err(_closed)) => return Err(ClientCallError::Closed),
        Ok(Ok(outcome)) => outcome,
    };
    let result = outcome.map_err(ClientCallError::Client)?;
    serde_json::from_str(result.get()).map_err(|e| ClientCallError::InvalidResult(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_pending: usize, timeout_ms: u64) -> CallLimits {
        CallLimits {
            max_pending,
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[tokio::test]
    async fn an_answer_reaches_its_call_and_a_second_one_is_ignored() {
        let calls = PendingCalls::new(CallLimits::default());
        let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel();
        let task = {
            let calls = calls.clone();
            tokio::spawn(async move {
                call::<i64>(&calls, "add", &[1, 2], |text| {
                    sent_tx.send(text).unwrap();
                    Ok(())
                })
                .await
            })
        };
        let request = sent_rx.recv().await.unwrap();
        assert_eq!(request, r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#);
        assert_eq!(calls.waiting(), 1);
        assert_eq!(
            calls.deliver(r#"{"jsonrpc":"2.0","result":3,"id":1}"#),
            Delivery::Delivered
        );
        assert_eq!(task.await.unwrap(), Ok(3));
        assert_eq!(
            calls.deliver(r#"{"jsonrpc":"2.0","result":3,"id":1}"#),
            Delivery::Unmatched
        );
        assert_eq!(
            calls.deliver(r#"{"jsonrpc":"2.0","result":3,"id":"x"}"#),
            Delivery::Unmatched
        );
        assert_eq!(calls.waiting(), 0);
    }

    #[tokio::test]
    async fn requests_and_other_messages_are_not_responses() {
        let calls = PendingCalls::new(CallLimits::default());
        for text in [
            r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
            r#"{"jsonrpc":"2.0","method":"m","result":1,"id":1}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"[{"jsonrpc":"2.0","result":1,"id":1}]"#,
            "not json",
        ] {
            assert_eq!(calls.deliver(text), Delivery::NotAResponse, "{text}");
        }
    }

    #[tokio::test]
    async fn the_clients_error_is_an_rpc_error_and_null_result_is_a_result() {
        let calls = PendingCalls::new(CallLimits::default());
        let ask = |calls: Arc<PendingCalls>| async move { call::<Option<u8>>(&calls, "m", &[0], |_| Ok(())).await };
        let task = tokio::spawn(ask(calls.clone()));
        tokio::task::yield_now().await;
        while calls.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        calls.deliver(r#"{"jsonrpc":"2.0","error":{"code":7,"message":"no","data":[1]},"id":1}"#);
        let error = task.await.unwrap().unwrap_err();
        assert_eq!(
            error,
            ClientCallError::Client(RpcError::new(7, "no").with_data(serde_json::json!([1])))
        );
        assert_eq!(RpcError::from(error).code(), 7);

        let task = tokio::spawn(ask(calls.clone()));
        while calls.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        // A JSON-RPC 1.0 answer: `error` null, `result` null.
        assert_eq!(
            calls.deliver(r#"{"result":null,"error":null,"id":2}"#),
            Delivery::Delivered
        );
        assert_eq!(task.await.unwrap(), Ok(None));
    }

    #[tokio::test]
    async fn no_answer_times_out_and_leaves_no_entry() {
        let calls = PendingCalls::new(limits(4, 50));
        let error = call::<u8>(&calls, "m", &[0], |_| Ok(())).await.unwrap_err();
        assert_eq!(error, ClientCallError::Timeout(Duration::from_millis(50)));
        assert_eq!(calls.waiting(), 0);
        // The late answer is ignored.
        assert_eq!(
            calls.deliver(r#"{"jsonrpc":"2.0","result":1,"id":1}"#),
            Delivery::Unmatched
        );
    }

    #[tokio::test]
    async fn calls_past_the_bound_fail_at_once_and_closing_fails_the_waiting_ones() {
        let calls = PendingCalls::new(limits(2, 60_000));
        let spawn =
            |calls: Arc<PendingCalls>| tokio::spawn(async move { call::<u8>(&calls, "m", &[0], |_| Ok(())).await });
        let (a, b) = (spawn(calls.clone()), spawn(calls.clone()));
        while calls.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            call::<u8>(&calls, "m", &[0], |_| Ok(())).await,
            Err(ClientCallError::TooManyPending(2))
        );
        calls.close();
        assert_eq!(a.await.unwrap(), Err(ClientCallError::Closed));
        assert_eq!(b.await.unwrap(), Err(ClientCallError::Closed));
        assert_eq!(calls.waiting(), 0);
        assert_eq!(
            call::<u8>(&calls, "m", &[0], |_| Ok(())).await,
            Err(ClientCallError::Closed)
        );
    }

    #[tokio::test]
    async fn a_cancelled_call_leaves_no_entry() {
        let calls = PendingCalls::new(CallLimits::default());
        use futures_util::FutureExt;
        let mut future = Box::pin(call::<u8>(&calls, "m", &[0], |_| Ok(())));
        assert!(future.as_mut().now_or_never().is_none(), "waits for the answer");
        assert_eq!(calls.waiting(), 1);
        drop(future);
        assert_eq!(calls.waiting(), 0);
    }
}
