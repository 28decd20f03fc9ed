//! [`Dispatcher`]: bytes in, optional bytes out. Transports call it; it does no I/O.

use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::context::{Call, Connection};
use crate::error::{RpcError, INVALID_REQUEST, METHOD_NOT_FOUND};
use crate::handler::Invoked;
use crate::limits::Limits;
use crate::message::{self, Entry, Message, Version};
use crate::registry::MethodTable;
use crate::response::{self, Encoded};

/// The answer to one incoming message.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    body: Vec<u8>,
    /// Version and error code of a single response; `None` for a batch.
    single: Option<(Version, Option<i64>)>,
}

/// How HTTP statuses are chosen for error responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusMapping {
    /// 2.0 answers are always 200 (errors live in the body); a 1.0 request's
    /// error keeps the "JSON-RPC over HTTP" draft's status.
    #[default]
    Spec,
    /// The draft's status for every single request's error, as the Python
    /// original does.
    Draft,
}

impl Reply {
    /// The response JSON.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The response JSON, owned.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The response JSON as text, without scanning it again: every reply is
    /// written by serde_json or copied from the validated input.
    pub fn into_text(self) -> String {
        crate::outbound::json_text(self.body)
    }

    /// True when the reply answers a batch.
    pub fn is_batch(&self) -> bool {
        self.single.is_none()
    }

    /// The error code of a single error response.
    pub fn error_code(&self) -> Option<i64> {
        self.single.and_then(|(_, code)| code)
    }

    /// The HTTP status for this reply:
    ///
    /// ```
    /// use channels_rpc::StatusMapping;
    /// # use channels_rpc::{Connection, Consumer, Scope, Transport};
    /// # #[derive(Consumer, Default)] struct C;
    /// # let conn = Connection::for_consumer::<C>(Scope::new(Transport::Http, "/"));
    /// # let app = C::app();
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let v1 = rt.block_on(app.handle(&conn, br#"{"method":"nope","params":[],"id":1}"#)).unwrap();
    /// assert_eq!(v1.http_status(StatusMapping::Spec), 404);
    /// let v2 = rt.block_on(app.handle(&conn, br#"{"jsonrpc":"2.0","method":"nope","id":1}"#)).unwrap();
    /// assert_eq!(v2.http_status(StatusMapping::Spec), 200);
    /// assert_eq!(v2.http_status(StatusMapping::Draft), 404);
    /// ```
    pub fn http_status(&self, mapping: StatusMapping) -> u16 {
        match self.single {
            Some((version, Some(code))) if version == Version::V1 || mapping == StatusMapping::Draft => match code {
                INVALID_REQUEST => 400,
                METHOD_NOT_FOUND => 404,
                _ => 500,
            },
            _ => 200,
        }
    }

    fn single(version: Version, encoded: Encoded) -> Self {
        Reply {
            body: encoded.body,
            single: Some((version, encoded.error_code)),
        }
    }
}

/// Dispatches messages to a method table under a set of limits.
#[derive(Debug)]
pub struct Dispatcher {
    table: MethodTable,
    limits: Limits,
}

impl Dispatcher {
    /// A dispatcher over `table`.
    pub fn new(table: MethodTable, limits: Limits) -> Self {
        Dispatcher { table, limits }
    }

    /// The method table.
    pub fn table(&self) -> &MethodTable {
        &self.table
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces the limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Answers one message (a request or a batch) received on `connection`.
    /// `None` when nothing is to be sent back (notifications only).
    pub async fn handle(&self, connection: &Connection, input: &[u8]) -> Option<Reply> {
        self.start(connection, input).finish().await
    }

    /// [`handle`](Self::handle) for text already known to be UTF-8 (a
    /// WebSocket text frame), which saves scanning it again.
    pub async fn handle_text(&self, connection: &Connection, input: &str) -> Option<Reply> {
        self.start_text(connection, input).finish().await
    }

    /// Starts answering one message: sync methods run now and their answer
    /// is [`Answer::Ready`]; a message that calls an `async` or `blocking`
    /// method is [`Answer::Pending`], and nothing has run yet. A transport
    /// answers most messages this way without building or boxing a future.
    ///
    /// ```
    /// use channels_rpc::{Connection, Consumer, Scope, Transport};
    /// use rpc_core::Answer;
    /// # #[derive(Consumer, Default)] struct C;
    /// let app = C::app();
    /// let conn = Connection::for_consumer::<C>(Scope::new(Transport::InProcess, "/"));
    /// let Answer::Ready(reply) = app.dispatcher().start(&conn, b"[]") else { unreachable!() };
    /// assert_eq!(reply.unwrap().error_code(), Some(-32600));
    /// ```
    pub fn start<'a>(&'a self, connection: &'a Connection, input: &'a [u8]) -> Answer<'a> {
        self.begin(connection, message::parse(input, &self.limits))
    }

    /// [`start`](Self::start) for text already known to be UTF-8.
    pub fn start_text<'a>(&'a self, connection: &'a Connection, input: &'a str) -> Answer<'a> {
        self.begin(connection, message::parse_str(input, &self.limits))
    }

    fn begin<'a>(&'a self, connection: &'a Connection, message: Result<Message<'a>, RpcError>) -> Answer<'a> {
        let entry = match message {
            Err(e) => return Answer::Ready(Some(Reply::single(Version::V2, response::error(Version::V2, None, &e)))),
            Ok(Message::Batch(entries)) => return self.batch(connection, &entries),
            Ok(Message::Single(entry)) => entry,
        };
        let version = match &entry {
            Entry::Request(r) => r.version,
            Entry::Invalid { version, .. } => *version,
        };
        let call = match self.prepare(connection, &entry) {
            Ok(call) => call,
            Err(answer) => return Answer::Ready(answer.map(|out| Reply::single(version, out))),
        };
        if call.entry.answers_later() {
            return Answer::Pending(Box::pin(async move {
                let out = match call.entry.call(call.context()) {
                    Invoked::Ready(out) => out,
                    Invoked::Pending(future) => future.await,
                };
                out.map(|out| Reply::single(version, out))
            }));
        }
        Answer::Ready(call_now(&call).map(|out| Reply::single(version, out)))
    }

    /// Runs a batch: sync members at once, async ones concurrently; one array
    /// of every answer, in the order they finish.
    fn batch<'a>(&'a self, connection: &'a Connection, entries: &[Entry<'a>]) -> Answer<'a> {
        let mut out = BatchReply::with_capacity(entries.len());
        let mut calls = Vec::with_capacity(entries.len());
        for entry in entries {
            match self.prepare(connection, entry) {
                Ok(call) => calls.push(call),
                Err(answer) => out.extend(answer),
            }
        }
        if !calls.iter().any(|call| call.entry.answers_later()) {
            for call in &calls {
                out.extend(call_now(call));
            }
            return Answer::Ready(out.finish());
        }
        Answer::Pending(Box::pin(async move {
            let mut running = FuturesUnordered::new();
            for call in &calls {
                match call.entry.call(call.context()) {
                    Invoked::Ready(answer) => out.extend(answer),
                    Invoked::Pending(future) => running.push(future),
                }
            }
            while let Some(answer) = running.next().await {
                out.extend(answer);
            }
            out.finish()
        }))
    }

    /// The call `entry` asks for, or the answer it gets without one (an
    /// invalid request, an unknown method; `None` for a notification).
    fn prepare<'a>(&self, connection: &'a Connection, entry: &Entry<'a>) -> Result<Call<'a>, Option<Encoded>> {
        let request = match entry {
            Entry::Request(request) => request,
            Entry::Invalid { version, id, error } => return Err(Some(response::error(*version, *id, error))),
        };
        let notification = request.id.is_none();
        let transport = connection.scope().transport();
        let Some(method) = self.table.lookup(&request.method, notification, transport) else {
            return Err((!notification).then(|| {
                response::error(
                    request.version,
                    request.id,
                    &RpcError::method_not_found(&request.method),
                )
            }));
        };
        Ok(Call {
            connection,
            entry: method,
            version: request.version,
            id: request.id,
            params: request.params,
        })
    }
}

/// Calls a sync method. Its wrapper always answers at once; were it ever to
/// return a future, the call answers -32603 rather than block or panic.
fn call_now(call: &Call<'_>) -> Option<Encoded> {
    match call.entry.call(call.context()) {
        Invoked::Ready(out) => out,
        Invoked::Pending(_) => {
            tracing::error!(method = call.entry.name(), "a sync method's wrapper returned a future");
            call.id
                .map(|id| response::error(call.version, Some(id), &RpcError::internal()))
        }
    }
}

/// A batch's answers, gathered into one JSON array.
struct BatchReply {
    body: Vec<u8>,
}

impl BatchReply {
    fn with_capacity(members: usize) -> Self {
        BatchReply {
            body: Vec::with_capacity(2 + members * 48),
        }
    }

    fn extend(&mut self, answer: Option<Encoded>) {
        if let Some(answer) = answer {
            self.body.push(if self.body.is_empty() { b'[' } else { b',' });
            self.body.extend_from_slice(&answer.body);
        }
    }

    /// The array; `None` when every member was a notification.
    fn finish(mut self) -> Option<Reply> {
        if self.body.is_empty() {
            return None;
        }
        self.body.push(b']');
        Some(Reply {
            body: self.body,
            single: None,
        })
    }
}

/// A message's answer as [`Dispatcher::start`] leaves it.
#[must_use = "a pending answer does nothing until awaited"]
pub enum Answer<'a> {
    /// Answered: the reply, or `None` when nothing is to be sent back.
    Ready(Option<Reply>),
    /// An `async` or `blocking` method is still to run: await the future.
    Pending(ReplyFuture<'a>),
}

/// The future of a pending [`Answer`].
pub type ReplyFuture<'a> = Pin<Box<dyn Future<Output = Option<Reply>> + Send + 'a>>;

impl Answer<'_> {
    /// The reply, waiting for it if need be.
    pub async fn finish(self) -> Option<Reply> {
        match self {
            Answer::Ready(reply) => reply,
            Answer::Pending(future) => future.await,
        }
    }
}

impl std::fmt::Debug for Answer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Ready(reply) => f.debug_tuple("Ready").field(reply).finish(),
            Answer::Pending(_) => f.write_str("Pending"),
        }
    }
}
