//! [`Dispatcher`]: bytes in, optional bytes out. Transports call it; it does no I/O.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tracing::Instrument;

use crate::connection::Connection;
use crate::context::Call;
use crate::discover::{Discovery, Documents, DISCOVER_METHOD};
use crate::error::RpcError;
use crate::guard::{self, GuardFn, Guards, Verdict};
use crate::handler::{Invoked, MethodFuture};
use crate::limits::Limits;
use crate::message::{self, Entry, Message, Version};
use crate::middleware::{AsyncMiddleware, Middleware, Middlewares};
use crate::params::Params;
use crate::registry::{MethodEntry, MethodTable};
use crate::response::{self, BatchReply, Encoded};
pub use crate::response::{Reply, StatusMapping};
use crate::trace::CallTrace;

/// Dispatches messages to a method table under a set of limits.
#[derive(Debug)]
pub struct Dispatcher {
    table: MethodTable,
    limits: Limits,
    documents: Documents,
    /// The consumer-wide guard (`#[consumer(guard = path)]`).
    guard: Option<GuardFn>,
    middleware: Middlewares,
}

impl Dispatcher {
    /// A dispatcher over `table`, answering `rpc.discover`.
    pub fn new(table: MethodTable, limits: Limits) -> Self {
        Dispatcher {
            table,
            limits,
            documents: Documents::new(Discovery::new()),
            guard: None,
            middleware: Middlewares::default(),
        }
    }

    /// Sets the guard asked before every call's own (see [`guard`]).
    pub fn set_guard(&mut self, guard: Option<GuardFn>) {
        self.guard = guard;
    }

    /// The guard asked before every call's own.
    pub fn guard(&self) -> Option<GuardFn> {
        self.guard
    }

    /// Adds `middleware` inside those already installed (see
    /// [`middleware`](crate::middleware) for the order).
    pub fn add_middleware(&mut self, middleware: impl Middleware) {
        self.middleware.push(middleware);
    }

    /// Adds an async `middleware` inside those already installed.
    pub fn add_async_middleware(&mut self, middleware: impl AsyncMiddleware) {
        self.middleware.push_async(middleware);
    }

    /// The installed middlewares, outermost first; transports report
    /// connection events to them.
    pub fn middleware(&self) -> &Middlewares {
        &self.middleware
    }

    /// Replaces the middlewares.
    pub fn set_middleware(&mut self, middleware: Middlewares) {
        self.middleware = middleware;
    }

    /// Replaces the `rpc.discover` settings.
    pub fn set_discovery(&mut self, discovery: Discovery) {
        self.documents = Documents::new(discovery);
    }

    /// The `rpc.discover` settings.
    pub fn discovery(&self) -> &Discovery {
        self.documents.settings()
    }

    /// The OpenRPC document of the methods served on `transport`: what
    /// `rpc.discover` answers there to a caller whom every guard allows.
    pub fn openrpc_document(&self, transport: crate::Transport) -> serde_json::Value {
        self.documents.document(&self.table, transport, |_| true)
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
    /// method, or meets an `async` guard or middleware, is
    /// [`Answer::Pending`], and no method has run yet. A transport answers
    /// most messages this way without building or boxing a future.
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
        // The one branch the middleware costs when none is installed.
        if !self.middleware.is_empty() {
            return self.begin_layered(connection, message);
        }
        let entry = match message {
            Err(e) => return Answer::Ready(Some(Reply::single(Version::V2, response::error(Version::V2, None, &e)))),
            Ok(Message::Batch(entries)) => return self.batch(connection, &entries),
            Ok(Message::Single(entry)) => entry,
        };
        let version = match &entry {
            Entry::Request(r) => r.version,
            Entry::Invalid { version, .. } => *version,
        };
        let (method, call) = match self.prepare(connection, &entry) {
            Ok(prepared) => prepared,
            Err(early) if self.early_waits(connection, &early) => {
                return Answer::Pending(Box::pin(async move {
                    let answer = self.early_later(connection, early).await;
                    answer.map(|out| Reply::single(version, out))
                }))
            }
            Err(early) => {
                return Answer::Ready(self.early_now(connection, early).map(|out| Reply::single(version, out)))
            }
        };
        let trace = CallTrace::start(&call);
        if self.answers_later(method) {
            let limit = self.time_limit(method);
            let span = trace.span.clone();
            return Answer::Pending(Box::pin(
                async move {
                    if let Err(refused) = self.admit_later(method, &call).await {
                        return refused.map(|out| Reply::single(version, out));
                    }
                    let out = match method.call(call.context()) {
                        Invoked::Ready(out) => out,
                        Invoked::Pending(future) => within(limit, &call, future).await,
                    };
                    trace.finish(out.as_ref());
                    out.map(|out| Reply::single(version, out))
                }
                .instrument(span),
            ));
        }
        if let Err(refused) = self.admit_now(method, &call) {
            return Answer::Ready(refused.map(|out| Reply::single(version, out)));
        }
        let out = trace.span.in_scope(|| call_now(method, &call));
        trace.finish(out.as_ref());
        Answer::Ready(out.map(|out| Reply::single(version, out)))
    }

    /// Runs a batch: sync members at once, async ones concurrently; one array
    /// of every answer, in the order they finish.
    fn batch<'a>(&'a self, connection: &'a Connection, entries: &[Entry<'a>]) -> Answer<'a> {
        let mut out = BatchReply::with_capacity(entries.len());
        let mut calls = Vec::with_capacity(entries.len());
        let mut discovers = Vec::new();
        let mut last = None;
        for entry in entries {
            match self.prepare_member(connection, entry, &mut last) {
                Ok(call) => calls.push(call),
                Err(Early::Now(answer)) => out.extend(answer),
                Err(discover) => discovers.push(discover),
            }
        }
        let discovery_waits = discovers.iter().any(|early| self.early_waits(connection, early));
        if !discovery_waits && !calls.iter().any(|(method, _)| self.answers_later(method)) {
            for early in discovers {
                out.extend(self.early_now(connection, early));
            }
            for (method, call) in &mut calls {
                call.in_batch = true;
                if let Err(refused) = self.admit_now(method, call) {
                    out.extend(refused);
                    continue;
                }
                let trace = CallTrace::start(call);
                let answer = trace.span.in_scope(|| call_now(method, call));
                trace.finish(answer.as_ref());
                out.extend(answer);
            }
            return Answer::Ready(out.finish());
        }
        Answer::Pending(Box::pin(async move {
            // Each member is guarded, admitted and run in its own future, so
            // that an `async` guard holds up only its own member.
            let running = FuturesUnordered::new();
            for (method, call) in &calls {
                running.push(async move {
                    if let Err(refused) = self.admit_later(method, call).await {
                        return refused;
                    }
                    let trace = CallTrace::start(call);
                    let answer = match trace.span.in_scope(|| method.call(call.context())) {
                        Invoked::Ready(answer) => answer,
                        Invoked::Pending(future) => {
                            let span = trace.span.clone();
                            within(self.time_limit(method), call, future).instrument(span).await
                        }
                    };
                    trace.finish(answer.as_ref());
                    answer
                });
            }
            let later: FuturesUnordered<_> = discovers
                .into_iter()
                .map(|early| self.early_later(connection, early))
                .collect();
            let mut answers = futures_util::stream::select(running, later);
            while let Some(answer) = answers.next().await {
                out.extend(answer);
            }
            out.finish()
        }))
    }

    /// The call `entry` asks for, or the answer it gets without one (an
    /// invalid request, an unknown method, `rpc.discover`; `None` for a
    /// notification).
    #[allow(clippy::type_complexity)]
    pub(crate) fn prepare<'a>(
        &'a self,
        connection: &'a Connection,
        entry: &Entry<'a>,
    ) -> Result<(&'static MethodEntry, Call<'a>), Early<'a>> {
        self.prepare_member(connection, entry, &mut None)
    }

    /// [`prepare`](Self::prepare) for a batch member: `last` keeps the
    /// method the previous member named, so that a batch calling one method
    /// many times looks it up once.
    #[allow(clippy::type_complexity)]
    #[inline(always)]
    fn prepare_member<'a, 'e>(
        &'a self,
        connection: &'a Connection,
        entry: &'e Entry<'a>,
        last: &mut Option<LastLookup<'e>>,
    ) -> Result<(&'static MethodEntry, Call<'a>), Early<'a>> {
        let request = match entry {
            Entry::Request(request) => request,
            Entry::Invalid { version, id, error } => {
                return Err(Early::Now(Some(response::error(*version, *id, error))))
            }
        };
        let notification = request.id.is_none();
        let transport = connection.scope().transport();
        if request.method == DISCOVER_METHOD && self.documents.settings().is_enabled() {
            return Err(match notification {
                true => Early::Now(None),
                false => self.discover(request),
            });
        }
        let found = match *last {
            Some(seen) if seen.notification == notification && seen.name == request.method => Some(seen.method),
            _ => self.table.lookup(&request.method, notification, transport),
        };
        if let Some(method) = found {
            *last = Some(LastLookup {
                name: &request.method,
                notification,
                method,
            });
        }
        let Some(method) = found else {
            return Err(Early::Now((!notification).then(|| {
                response::error(
                    request.version,
                    request.id,
                    &RpcError::method_not_found(&request.method),
                )
            })));
        };
        let call = Call {
            connection,
            method: method.name(),
            param_names: method.params(),
            takes_params: method.takes_params(),
            version: request.version,
            id: request.id,
            params: request.params.map(Params::from_raw),
            in_batch: false,
        };
        Ok((method, call))
    }
}

/// The method a batch's previous member named (see
/// [`Dispatcher::prepare_member`]); the transport is the same for every member.
#[derive(Clone, Copy)]
struct LastLookup<'e> {
    name: &'e str,
    notification: bool,
    method: &'static MethodEntry,
}

/// What a request gets without a call of a method: an answer (an invalid
/// request, an unknown method, `None` for a notification), or
/// `rpc.discover`'s, built where the call would run
/// ([`Dispatcher::early_now`], [`Dispatcher::early_later`]).
pub(crate) enum Early<'a> {
    Now(Option<Encoded>),
    Discover { version: Version, id: Option<&'a str> },
}

impl Dispatcher {
    /// The guards over a call of `method`: the consumer's, then its own.
    fn guards(&self, method: &MethodEntry) -> Guards {
        Guards {
            consumer: self.guard,
            method: method.guard(),
        }
    }

    /// True when a call of `method` answers later: an `async` or `blocking`
    /// method, or an `async` guard.
    pub(crate) fn answers_later(&self, method: &MethodEntry) -> bool {
        method.answers_later() || self.guards(method).is_async()
    }

    /// Lets a call through its guards (none `async`), then its rate limit.
    pub(crate) fn admit_now(&self, method: &MethodEntry, call: &Call<'_>) -> Result<(), Option<Encoded>> {
        guard::allow_now(self.guards(method), call)?;
        admit(call)
    }

    /// Lets a call through its guards once they decide, then its rate limit.
    pub(crate) async fn admit_later(&self, method: &MethodEntry, call: &Call<'_>) -> Result<(), Option<Encoded>> {
        guard::allow_later(self.guards(method), call, self.time_limit(method)).await?;
        admit(call)
    }

    /// How long `method` may run: its own timeout, else the default.
    pub(crate) fn time_limit(&self, method: &MethodEntry) -> Option<Duration> {
        method.timeout().or(self.limits.call_time())
    }

    /// A call of `rpc.discover`, which takes no parameters: its answer is
    /// built where the call runs ([`discovered`](Self::discovered)), after
    /// the middlewares, so that the guards it asks are asked once.
    fn discover<'a>(&self, request: &message::Request<'a>) -> Early<'a> {
        let (version, id) = (request.version, request.id);
        if !request.params.is_none_or(is_empty_container) {
            let error = RpcError::invalid_params("rpc.discover takes no parameters");
            return Early::Now(Some(response::error(version, id, &error)));
        }
        Early::Discover { version, id }
    }

    /// True when `rpc.discover` on `transport` must wait: an entry served
    /// there has an `async` guard.
    pub(crate) fn discovery_waits(&self, transport: crate::Transport) -> bool {
        self.table
            .entries()
            .iter()
            .any(|entry| entry.serves(transport) && self.guards(entry).is_async())
    }

    /// A call of `rpc.discover` as one of `entry`, for its guards.
    fn asking<'a>(connection: &'a Connection, entry: &MethodEntry, version: Version, id: Option<&'a str>) -> Call<'a> {
        Call {
            connection,
            method: entry.name(),
            param_names: entry.params(),
            takes_params: entry.takes_params(),
            version,
            id,
            params: None,
            in_batch: false,
        }
    }

    /// The answer to `rpc.discover`: the document of the entries `visible`.
    fn discovery_answer(
        &self,
        transport: crate::Transport,
        version: Version,
        id: Option<&str>,
        visible: &dyn Fn(&MethodEntry) -> bool,
    ) -> Encoded {
        let document = self.documents.document(&self.table, transport, visible);
        response::success(version, id, &document, 4096)
    }

    /// An early answer, now: `rpc.discover` asks its guards here. Used where
    /// [`early_waits`](Self::early_waits) is false; an `async` guard asked
    /// here anyway hides its entry (fails closed).
    pub(crate) fn early_now(&self, connection: &Connection, early: Early<'_>) -> Option<Encoded> {
        let (version, id) = match early {
            Early::Now(answer) => return answer,
            Early::Discover { version, id } => (version, id),
        };
        let transport = connection.scope().transport();
        Some(self.discovery_answer(transport, version, id, &|entry| {
            let call = Self::asking(connection, entry, version, id);
            let allowed = matches!(self.guards(entry).check(call.context()), Verdict::Ready(Ok(())));
            allowed
        }))
    }

    /// True when an early answer must wait: `rpc.discover` with an `async`
    /// guard to ask.
    pub(crate) fn early_waits(&self, connection: &Connection, early: &Early<'_>) -> bool {
        matches!(early, Early::Discover { .. }) && self.discovery_waits(connection.scope().transport())
    }

    /// An early answer, waiting for `rpc.discover`'s guards to decide (each
    /// within its entry's time limit).
    pub(crate) async fn early_later<'a>(&'a self, connection: &'a Connection, early: Early<'a>) -> Option<Encoded> {
        let Early::Discover { version, id } = early else {
            return self.early_now(connection, early);
        };
        let transport = connection.scope().transport();
        let mut entries = self.table.entries();
        entries.retain(|entry| entry.serves(transport));
        let calls: Vec<Call<'a>> = entries
            .iter()
            .map(|entry| Self::asking(connection, entry, version, id))
            .collect();
        let allowed = futures_util::future::join_all(entries.iter().zip(&calls).map(|(entry, call)| async move {
            let verdict = self.guards(entry).check(call.context());
            verdict
                .decided_within(self.time_limit(entry), entry.name())
                .await
                .is_ok()
        }))
        .await;
        let visible: Vec<&MethodEntry> = entries
            .iter()
            .zip(allowed)
            .filter_map(|(entry, allowed)| allowed.then_some(*entry))
            .collect();
        Some(self.discovery_answer(transport, version, id, &|entry| {
            visible.iter().any(|v| std::ptr::eq(*v, entry))
        }))
    }
}

/// Takes the call's token from its connection's rate limit, if it has one;
/// else the answer of a refused call (`None` for a notification). Checked
/// where a call is about to run, never when a message is only looked at: a
/// transport may start a message twice (once to see whether it answers at
/// once), and a call must cost one token.
pub(crate) fn admit(call: &Call<'_>) -> Result<(), Option<Encoded>> {
    let Some(limiter) = call.connection.rate_limiter() else {
        return Ok(());
    };
    limiter.check().map_err(|refused| {
        tracing::debug!(method = call.method, "over the connection's rate limit");
        call.id.map(|id| response::error(call.version, Some(id), &refused))
    })
}

/// Runs a method's future for at most `limit`; past it, the future is dropped
/// (cancelling the method at its `.await`) and the call answers
/// [`RpcError::call_timed_out`]. The first poll runs without a timer: most
/// async methods finish without waiting, and pay nothing for the limit.
pub(crate) async fn within(limit: Option<Duration>, call: &Call<'_>, mut future: MethodFuture<'_>) -> Option<Encoded> {
    let Some(limit) = limit else {
        return future.await;
    };
    if let Poll::Ready(out) = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
        return out;
    }
    match tokio::time::timeout(limit, future).await {
        Ok(out) => out,
        Err(_) => {
            tracing::debug!(
                method = call.method,
                timeout_ms = limit.as_millis() as u64,
                "call timed out"
            );
            call.id
                .map(|id| response::error(call.version, Some(id), &RpcError::call_timed_out(limit)))
        }
    }
}

/// `[ ]` or `{ }` with any whitespace inside.
fn is_empty_container(text: &str) -> bool {
    let inner = text.trim();
    let (Some(first), Some(last)) = (inner.chars().next(), inner.chars().last()) else {
        return false;
    };
    matches!((first, last), ('[', ']') | ('{', '}')) && inner[1..inner.len() - 1].trim().is_empty()
}

/// Calls a sync method. Its wrapper always answers at once; were it ever to
/// return a future, the call answers -32603 rather than block or panic.
pub(crate) fn call_now(method: &MethodEntry, call: &Call<'_>) -> Option<Encoded> {
    match method.call(call.context()) {
        Invoked::Ready(out) => out,
        Invoked::Pending(_) => {
            tracing::error!(method = call.method, "a sync method's wrapper returned a future");
            call.id
                .map(|id| response::error(call.version, Some(id), &RpcError::internal()))
        }
    }
}

/// A message's answer as [`Dispatcher::start`] leaves it: `.await` it for
/// the [`Reply`] (`None` when nothing is to be sent back). A transport that
/// wants to avoid polling a future for sync methods matches on it instead.
///
/// ```
/// use channels_rpc::{rpc_method, Connection, Consumer, Scope, Transport};
/// # #[derive(Consumer, Default)] struct C;
/// #[rpc_method(consumer = C)]
/// async fn later() -> u8 {
///     7
/// }
///
/// let app = C::app();
/// let conn = Connection::for_consumer::<C>(Scope::new(Transport::InProcess, "/"));
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let reply = rt.block_on(async {
///     app.start(&conn, br#"{"jsonrpc":"2.0","method":"later","id":1}"#).await
/// });
/// assert_eq!(reply.unwrap().body(), br#"{"jsonrpc":"2.0","result":7,"id":1}"#);
/// ```
#[must_use = "a pending answer does nothing until awaited"]
pub enum Answer<'a> {
    /// Answered: the reply, or `None` when nothing is to be sent back.
    Ready(Option<Reply>),
    /// An `async` or `blocking` method is still to run: await the future.
    Pending(ReplyFuture<'a>),
}

/// The future of a pending [`Answer`] (not needed to use one: `.await` the answer).
pub type ReplyFuture<'a> = Pin<Box<dyn Future<Output = Option<Reply>> + Send + 'a>>;

impl Answer<'_> {
    /// The reply, waiting for it if need be; the same as `.await`.
    pub async fn finish(self) -> Option<Reply> {
        self.await
    }
}

impl<'a> IntoFuture for Answer<'a> {
    type Output = Option<Reply>;
    type IntoFuture = AnswerFuture<'a>;

    fn into_future(self) -> AnswerFuture<'a> {
        AnswerFuture(match self {
            Answer::Ready(reply) => AnswerState::Ready(Some(reply)),
            Answer::Pending(future) => AnswerState::Pending(future),
        })
    }
}

/// What awaiting an [`Answer`] polls: the reply at once when it is ready
/// (nothing boxed), else the pending future.
#[must_use = "futures do nothing unless polled"]
pub struct AnswerFuture<'a>(AnswerState<'a>);

enum AnswerState<'a> {
    /// Taken by the first poll.
    Ready(Option<Option<Reply>>),
    Pending(ReplyFuture<'a>),
}

impl Future for AnswerFuture<'_> {
    type Output = Option<Reply>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Reply>> {
        match &mut self.0 {
            AnswerState::Ready(reply) => Poll::Ready(reply.take().expect("AnswerFuture polled after completion")),
            AnswerState::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl std::fmt::Debug for AnswerFuture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            AnswerState::Ready(reply) => f.debug_tuple("Ready").field(reply).finish(),
            AnswerState::Pending(_) => f.write_str("Pending"),
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
