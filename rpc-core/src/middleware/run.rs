//! Dispatch through the middlewares: the path a message takes when an app
//! has any (the dispatcher branches here once per message).

use std::time::Instant;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tracing::Instrument;

use super::{CallInfo, Layer, Middlewares, Outcome, Verdict};
use crate::connection::Connection;
use crate::context::Call;
use crate::discover::DISCOVER_METHOD;
use crate::dispatch::{call_now, within, Answer, Dispatcher, Early};
use crate::error::RpcError;
use crate::handler::Invoked;
use crate::message::{Entry, Message, Version};
use crate::params::Params;
use crate::registry::MethodEntry;
use crate::response::{self, BatchReply, Encoded, Reply};
use crate::trace::CallTrace;

/// Where the `before` hooks stopped: how many ran, and the answer of the
/// one that refused or answered the call, if one did.
struct Stopped {
    ran: usize,
    answer: Option<Option<Encoded>>,
}

/// A member looked up: its method and call, or the answer it gets without
/// one (see `Dispatcher::prepare`). Looked up once per member: the lookup
/// decides whether the message answers later, gives the middlewares the
/// registered name, and is the call that then runs.
type Prepared<'a> = Result<(&'static MethodEntry, Call<'a>), Early<'a>>;

impl Dispatcher {
    /// [`begin`](Dispatcher) with middlewares. Whether the message answers
    /// later is decided before any hook runs: every member of the message
    /// then runs in the future (an async middleware, or an async method, in
    /// any member), or all run now.
    pub(crate) fn begin_layered<'a>(
        &'a self,
        connection: &'a Connection,
        message: Result<Message<'a>, RpcError>,
    ) -> Answer<'a> {
        match message {
            Err(e) => Answer::Ready(Some(Reply::single(Version::V2, response::error(Version::V2, None, &e)))),
            Ok(Message::Single(entry)) => {
                let version = match &entry {
                    Entry::Request(r) => r.version,
                    Entry::Invalid { version, .. } => *version,
                };
                let prepared = self.prepare(connection, &entry);
                if self.member_answers_later(connection, &prepared) {
                    return Answer::Pending(Box::pin(async move {
                        let out = self.layered(connection, &entry, prepared).await;
                        out.map(|out| Reply::single(version, out))
                    }));
                }
                let out = self.layered_now(connection, &entry, prepared);
                Answer::Ready(out.map(|out| Reply::single(version, out)))
            }
            Ok(Message::Batch(entries)) => {
                let mut out = BatchReply::with_capacity(entries.len());
                let prepared: Vec<Prepared<'a>> = entries.iter().map(|entry| self.prepare(connection, entry)).collect();
                if !prepared
                    .iter()
                    .any(|member| self.member_answers_later(connection, member))
                {
                    for (entry, member) in entries.iter().zip(prepared) {
                        out.extend(self.layered_now(connection, entry, member));
                    }
                    return Answer::Ready(out.finish());
                }
                Answer::Pending(Box::pin(async move {
                    let mut running: FuturesUnordered<_> = entries
                        .iter()
                        .zip(prepared)
                        .map(|(entry, member)| self.layered(connection, entry, member))
                        .collect();
                    while let Some(answer) = running.next().await {
                        out.extend(answer);
                    }
                    out.finish()
                }))
            }
        }
    }

    /// Whether a member must run in a future: an async middleware is
    /// installed, it calls an `async` or `blocking` method or has an `async`
    /// guard, or it is `rpc.discover` asking `async` guards.
    fn member_answers_later(&self, connection: &Connection, prepared: &Prepared<'_>) -> bool {
        self.middleware().any_async
            || match prepared {
                Ok((method, _)) => self.answers_later(method),
                Err(early) => self.early_waits(connection, early),
            }
    }

    /// The call as middlewares see it; `None` for an invalid member.
    fn call_info<'a>(
        &self,
        connection: &'a Connection,
        entry: &'a Entry<'a>,
        prepared: &Prepared<'a>,
    ) -> Option<CallInfo<'a>> {
        let Entry::Request(request) = entry else {
            return None;
        };
        let registered = match prepared {
            Ok((method, _)) => Some(method.name()),
            Err(_) if request.method == DISCOVER_METHOD && self.discovery().is_enabled() => Some(DISCOVER_METHOD),
            Err(_) => None,
        };
        Some(CallInfo {
            connection,
            method: &request.method,
            registered,
            version: request.version,
            id: request.id,
            params: request.params.map(Params::from_raw),
        })
    }

    /// One member through sync middlewares and a sync method (or none).
    fn layered_now(&self, connection: &Connection, entry: &Entry<'_>, prepared: Prepared<'_>) -> Option<Encoded> {
        let Some(info) = self.call_info(connection, entry, &prepared) else {
            return prepared.err().and_then(|early| self.early_now(connection, early));
        };
        let started = Instant::now();
        let stopped = before_now(self.middleware(), &info);
        let by_middleware = stopped.answer.is_some();
        let out = match (stopped.answer, prepared) {
            (Some(answer), _) => answer,
            (None, Err(early)) => self.early_now(connection, early),
            (None, Ok((method, call))) => self.run_now(method, &call),
        };
        after(
            self.middleware(),
            stopped.ran,
            &info,
            out.as_ref(),
            started,
            by_middleware,
        );
        out
    }

    /// One member through any middlewares and any method.
    async fn layered(&self, connection: &Connection, entry: &Entry<'_>, prepared: Prepared<'_>) -> Option<Encoded> {
        let Some(info) = self.call_info(connection, entry, &prepared) else {
            return prepared.err().and_then(|early| self.early_now(connection, early));
        };
        let started = Instant::now();
        let stopped = before_later(self.middleware(), &info).await;
        let by_middleware = stopped.answer.is_some();
        let out = match (stopped.answer, prepared) {
            (Some(answer), _) => answer,
            (None, Err(early)) => self.early_later(connection, early).await,
            (None, Ok((method, call))) if self.answers_later(method) => self.run_later(method, &call).await,
            (None, Ok((method, call))) => self.run_now(method, &call),
        };
        after(
            self.middleware(),
            stopped.ran,
            &info,
            out.as_ref(),
            started,
            by_middleware,
        );
        out
    }

    /// A call of an `async` or `blocking` method, or one with an `async`
    /// guard: guards, rate limit, span, timeout.
    async fn run_later(&self, method: &'static MethodEntry, call: &Call<'_>) -> Option<Encoded> {
        if let Err(refused) = self.admit_later(method, call).await {
            return refused;
        }
        let trace = CallTrace::start(call);
        let span = trace.span.clone();
        async {
            let out = match method.call(call.context()) {
                Invoked::Ready(out) => out,
                Invoked::Pending(future) => within(self.time_limit(method), call, future).await,
            };
            trace.finish(out.as_ref());
            out
        }
        .instrument(span)
        .await
    }
}

impl Dispatcher {
    /// A sync method's call (no `async` guard): guards, rate limit, span,
    /// the method.
    fn run_now(&self, method: &MethodEntry, call: &Call<'_>) -> Option<Encoded> {
        if let Err(refused) = self.admit_now(method, call) {
            return refused;
        }
        let trace = CallTrace::start(call);
        let out = trace.span.in_scope(|| call_now(method, call));
        trace.finish(out.as_ref());
        out
    }
}

/// The `before` hooks of sync middlewares, in order, until one stops the
/// call. Only reached when none is async (`answers_later` says so).
fn before_now(middlewares: &Middlewares, info: &CallInfo<'_>) -> Stopped {
    for (index, layer) in middlewares.layers.iter().enumerate() {
        let verdict = match layer {
            Layer::Sync(m) => m.before(info),
            Layer::Async(_) => {
                tracing::error!("an async middleware on the sync path");
                Verdict::Reject(RpcError::internal())
            }
        };
        if let Some(answer) = stops(verdict, info) {
            return Stopped {
                ran: index + 1,
                answer: Some(answer),
            };
        }
    }
    Stopped {
        ran: middlewares.layers.len(),
        answer: None,
    }
}

/// The `before` hooks of every middleware, in order, waiting for async ones.
async fn before_later(middlewares: &Middlewares, info: &CallInfo<'_>) -> Stopped {
    for (index, layer) in middlewares.layers.iter().enumerate() {
        let verdict = match layer {
            Layer::Sync(m) => m.before(info),
            Layer::Async(m) => m.before(info).await,
        };
        if let Some(answer) = stops(verdict, info) {
            return Stopped {
                ran: index + 1,
                answer: Some(answer),
            };
        }
    }
    Stopped {
        ran: middlewares.layers.len(),
        answer: None,
    }
}

/// The answer of a verdict that stops the call (`Some(None)`: a
/// notification's, which is nothing); `None` to go on.
fn stops(verdict: Verdict, info: &CallInfo<'_>) -> Option<Option<Encoded>> {
    match verdict {
        Verdict::Continue => None,
        Verdict::Reject(error) => Some(info.id.map(|id| response::error(info.version, Some(id), &error))),
        Verdict::Respond(result) => Some(info.id.map(|id| response::success(info.version, Some(id), &result, 64))),
    }
}

/// The `after` hooks of the first `ran` middlewares, innermost first.
fn after(
    middlewares: &Middlewares,
    ran: usize,
    info: &CallInfo<'_>,
    answer: Option<&Encoded>,
    started: Instant,
    by_middleware: bool,
) {
    let outcome = Outcome {
        answer,
        elapsed: started.elapsed(),
        by_middleware,
    };
    for layer in middlewares.layers[..ran].iter().rev() {
        match layer {
            Layer::Sync(m) => m.after(info, &outcome),
            Layer::Async(m) => m.after(info, &outcome),
        }
    }
}
