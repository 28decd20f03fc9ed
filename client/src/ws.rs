//! WebSocket: one connection task owns the socket; calls wait on answers
//! matched by id; pushes and server calls go to the handlers; a dropped
//! connection fails what waits and reconnects with backoff.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::builder::ClientBuilder;
use crate::error::{Error, Result, RpcError};
use crate::handlers::Handlers;
use crate::message::{parse, response, Incoming};
use crate::{Client, Inner};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Answer = oneshot::Sender<Result<Value>>;

/// Messages queued for the connection task before it applies backpressure.
const OUTGOING_QUEUE: usize = 1024;

enum Command {
    Send(String),
    Close,
}

/// What the calls and the connection task share.
struct Shared {
    state: Mutex<State>,
    next_id: AtomicU64,
    max_pending: usize,
}

#[derive(Default)]
struct State {
    connected: bool,
    pending: HashMap<u64, Answer>,
}

impl Shared {
    /// Registers answers for `count` ids from a fresh range; the first id.
    fn register(&self, answers: Vec<Answer>) -> Result<u64> {
        let mut state = self.state.lock().expect("not poisoned");
        if !state.connected {
            return Err(Error::Disconnected);
        }
        if state.pending.len() + answers.len() > self.max_pending {
            return Err(Error::TooManyPending {
                limit: self.max_pending,
            });
        }
        let first = self.next_id.fetch_add(answers.len() as u64, Ordering::Relaxed);
        state.pending.extend((first..).zip(answers));
        Ok(first)
    }

    fn forget(&self, ids: impl IntoIterator<Item = u64>) {
        let mut state = self.state.lock().expect("not poisoned");
        for id in ids {
            state.pending.remove(&id);
        }
    }

    fn answered(&self, id: u64, outcome: Result<Value>) {
        let answer = self.state.lock().expect("not poisoned").pending.remove(&id);
        match answer {
            Some(answer) => {
                let _ = answer.send(outcome);
            }
            None => tracing::debug!(id, "an answer to no waiting call (late or unknown id): ignored"),
        }
    }

    /// Marks the connection down and fails every waiting call.
    fn disconnected(&self) {
        let pending = {
            let mut state = self.state.lock().expect("not poisoned");
            state.connected = false;
            std::mem::take(&mut state.pending)
        };
        for (_, answer) in pending {
            let _ = answer.send(Err(Error::Disconnected));
        }
    }

    fn set_connected(&self) {
        self.state.lock().expect("not poisoned").connected = true;
    }

    fn is_connected(&self) -> bool {
        self.state.lock().expect("not poisoned").connected
    }
}

/// Removes its calls' entries when they are answered, time out or are dropped.
struct PendingGuard<'a> {
    shared: &'a Shared,
    ids: std::ops::Range<u64>,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.forget(self.ids.clone());
    }
}

/// The client side of the connection task.
pub(crate) struct WsTransport {
    shared: Arc<Shared>,
    outgoing: mpsc::Sender<Command>,
    /// The connection task, awaited by [`WsTransport::close`].
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl WsTransport {
    /// Sends `message` (a request or a batch with `ids` ids) and waits for the answers.
    pub(crate) async fn exchange(
        &self,
        message: &Value,
        ids: usize,
        timeout: Duration,
        method: &str,
    ) -> Result<Vec<Result<Value>>> {
        let (answers, receivers): (Vec<_>, Vec<_>) = (0..ids).map(|_| oneshot::channel()).unzip();
        let first = self.shared.register(answers)?;
        let _guard = PendingGuard {
            shared: &self.shared,
            ids: first..first + ids as u64,
        };
        let message = renumber(message, first).to_string();
        // Queueing counts against the timeout too: a stuck connection cannot hold a call longer.
        let sent_and_answered = async {
            self.send(message).await?;
            let all = receivers
                .into_iter()
                .map(|receiver| async { receiver.await.unwrap_or(Err(Error::Disconnected)) });
            Ok(futures_util::future::join_all(all).await)
        };
        tokio::time::timeout(timeout, sent_and_answered)
            .await
            .map_err(|_| Error::Timeout {
                method: method.to_owned(),
                after: timeout,
            })?
    }

    /// Sends a notification (or anything needing no answer).
    pub(crate) async fn send(&self, text: String) -> Result<()> {
        if !self.shared.is_connected() {
            return Err(Error::Disconnected);
        }
        self.outgoing
            .send(Command::Send(text))
            .await
            .map_err(|_| Error::Disconnected)
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.shared.is_connected()
    }

    pub(crate) fn pending(&self) -> usize {
        self.shared.state.lock().expect("not poisoned").pending.len()
    }

    /// Sends what is queued, closes the connection and waits until its task has ended.
    pub(crate) async fn close(&self) {
        let _ = self.outgoing.send(Command::Close).await;
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}

/// Gives the calls in `message` (ids 0, 1, ... as the batch numbered them) the ids from `first`.
fn renumber(message: &Value, first: u64) -> Value {
    let mut message = message.clone();
    let mut next = first;
    let mut number = |item: &mut Value| {
        if let Some(id) = item.get_mut("id") {
            *id = next.into();
            next += 1;
        }
    };
    match &mut message {
        Value::Array(items) => items.iter_mut().for_each(&mut number),
        item => number(item),
    }
    message
}

/// Settings the connection task keeps for reconnecting.
struct Settings {
    config: ClientBuilder,
    handlers: Arc<Handlers>,
    server_calls: Arc<Semaphore>,
}

async fn open(config: &ClientBuilder) -> Result<Socket> {
    let mut request = config
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::InvalidUrl {
            url: config.url.clone(),
            reason: e.to_string(),
        })?;
    for (name, value) in &config.headers {
        request.headers_mut().append(name, value.clone());
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(ws_config), true);
    match tokio::time::timeout(config.connect_timeout, connecting).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(error)) => Err(Error::transport(error)),
        Err(_) => Err(Error::transport(format!(
            "no WebSocket connection within {:?}",
            config.connect_timeout
        ))),
    }
}

/// Opens the connection and starts its task.
pub(crate) async fn connect(config: ClientBuilder) -> Result<Client> {
    let socket = open(&config).await?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            connected: true,
            pending: HashMap::new(),
        }),
        next_id: AtomicU64::new(1),
        max_pending: config.max_pending,
    });
    let handlers = Arc::new(Handlers::new(config.notification_buffer));
    let (outgoing, commands) = mpsc::channel(OUTGOING_QUEUE);
    let timeout = config.timeout;
    let settings = Settings {
        server_calls: Arc::new(Semaphore::new(config.max_server_calls)),
        config,
        handlers: handlers.clone(),
    };
    let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
        let task = tokio::spawn(run(socket, shared.clone(), commands, settings, weak.clone()));
        Inner {
            transport: crate::Transport::Ws(WsTransport {
                shared,
                outgoing,
                task: tokio::sync::Mutex::new(Some(task)),
            }),
            timeout,
            handlers,
        }
    });
    Ok(Client { inner })
}

enum Ended {
    /// The connection dropped (or the server closed it).
    Dropped,
    /// The client closed it or every handle was dropped.
    Closed,
}

async fn run(
    mut socket: Socket,
    shared: Arc<Shared>,
    mut commands: mpsc::Receiver<Command>,
    settings: Settings,
    client: Weak<Inner>,
) {
    let (answers, mut answered) = mpsc::channel(OUTGOING_QUEUE);
    loop {
        let ended = serve(&mut socket, &shared, &mut commands, &settings, &answers, &mut answered).await;
        shared.disconnected();
        let backoff = match (ended, settings.config.reconnect) {
            (Ended::Dropped, Some(backoff)) => backoff,
            _ => break,
        };
        tracing::info!(url = %settings.config.url, "WebSocket connection dropped; reconnecting");
        let Some(reopened) = reopen(&settings.config, backoff, &mut commands).await else {
            break;
        };
        socket = reopened;
        shared.set_connected();
        if let (Some(hook), Some(inner)) = (&settings.config.on_reconnect, client.upgrade()) {
            tokio::spawn(hook(Client { inner }));
        }
    }
    settings.handlers.end();
}

/// Serves one connection until it drops or the client closes it.
async fn serve(
    socket: &mut Socket,
    shared: &Shared,
    commands: &mut mpsc::Receiver<Command>,
    settings: &Settings,
    answers: &mpsc::Sender<String>,
    answered: &mut mpsc::Receiver<String>,
) -> Ended {
    loop {
        let outgoing = tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    received(text.as_bytes(), shared, settings, answers);
                    continue;
                }
                Some(Ok(Message::Binary(bytes))) => {
                    received(&bytes, shared, settings, answers);
                    continue;
                }
                Some(Ok(Message::Close(_))) | None => return Ended::Dropped,
                Some(Err(error)) => {
                    tracing::debug!(%error, "WebSocket error");
                    return Ended::Dropped;
                }
                Some(Ok(_)) => continue,
            },
            command = commands.recv() => match command {
                Some(Command::Send(text)) => text,
                Some(Command::Close) | None => {
                    let _ = socket.close(None).await;
                    return Ended::Closed;
                }
            },
            Some(answer) = answered.recv() => answer,
        };
        if socket.send(Message::text(outgoing)).await.is_err() {
            return Ended::Dropped;
        }
    }
}

/// Hands each message of a frame to the waiting call, the handlers or an answerer.
fn received(frame: &[u8], shared: &Shared, settings: &Settings, answers: &mpsc::Sender<String>) {
    let messages = match parse(frame) {
        Ok(messages) => messages,
        Err(error) => {
            tracing::warn!(%error, "ignored a message from the server");
            return;
        }
    };
    for message in messages {
        match message {
            Incoming::Response { id: Some(id), outcome } => shared.answered(id, outcome),
            Incoming::Response { id: None, outcome } => {
                tracing::warn!(?outcome, "the server answered without an id");
            }
            Incoming::Notification { method, params } => settings.handlers.notified(method, params),
            Incoming::Call { id, method, params } => answer(id, &method, params, settings, answers),
        }
    }
}

/// Answers a server-to-client call from its handler, in a task of its own.
fn answer(id: Value, method: &str, params: Value, settings: &Settings, answers: &mpsc::Sender<String>) {
    let answers = answers.clone();
    let Ok(permit) = settings.server_calls.clone().try_acquire_owned() else {
        let busy = RpcError::new(-32000, "the client is answering too many calls");
        let _ = answers.try_send(response(id, Err(busy)).to_string());
        return;
    };
    let handler = settings.handlers.answerer(method);
    tokio::spawn(async move {
        let outcome = match handler {
            Some(handler) => std::panic::AssertUnwindSafe(handler(params))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(RpcError::new(-32603, "the client's handler panicked"))),
            None => Err(RpcError::method_not_found()),
        };
        let _ = answers.send(response(id, outcome).to_string()).await;
        drop(permit);
    });
}

/// Reconnects with backoff; `None` when the attempts run out or the client closes.
async fn reopen(
    config: &ClientBuilder,
    backoff: crate::Backoff,
    commands: &mut mpsc::Receiver<Command>,
) -> Option<Socket> {
    for attempt in 0.. {
        if backoff.max_attempts.is_some_and(|max| attempt >= max) {
            tracing::warn!(url = %config.url, attempt, "giving up reconnecting");
            return None;
        }
        let sleep = tokio::time::sleep(backoff.delay(attempt));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                command = commands.recv() => match command {
                    // Queued before the connection dropped; its call has failed.
                    Some(Command::Send(_)) => continue,
                    Some(Command::Close) | None => return None,
                },
            }
        }
        match open(config).await {
            Ok(socket) => return Some(socket),
            Err(error) => tracing::debug!(%error, attempt, "reconnecting failed"),
        }
    }
    None
}
