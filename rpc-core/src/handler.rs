//! The generic half of every method: the macro's wrapper calls one of
//! [`call_sync`], [`call_async`] or [`call_blocking`], which decode the params,
//! run the function, catch a panic and encode the response.

use std::fmt::Display;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;

use futures_util::FutureExt;
use serde::Serialize;

use crate::context::RpcContext;
use crate::error::{into_rpc_error, RpcError};
use crate::params::FromParams;
use crate::response::{self, Encoded};

/// Not public API: the boxed future of an async method's response.
#[doc(hidden)]
pub type MethodFuture<'a> = Pin<Box<dyn Future<Output = Option<Encoded>> + Send + 'a>>;

/// Not public API: what a method's generated wrapper returns, the response
/// at once (sync methods, bad params) or a future of it. `None` means no
/// response (a notification). The response is an [`Encoded`], which only
/// this crate can make, so whatever a wrapper returns is a response this
/// crate wrote.
#[doc(hidden)]
pub enum Invoked<'a> {
    /// Done: the response, if any.
    Ready(Option<Encoded>),
    /// Still running.
    Pending(MethodFuture<'a>),
}

impl std::fmt::Debug for Invoked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invoked::Ready(r) => f.debug_tuple("Ready").field(r).finish(),
            Invoked::Pending(_) => f.write_str("Pending"),
        }
    }
}

fn decode<P: FromParams>(cx: &RpcContext) -> Result<P, RpcError> {
    P::from_params(cx.params_raw(), cx.param_names(), !cx.takes_params())
}

/// The response to `outcome`, or none for a notification.
fn respond<T: Serialize>(cx: &RpcContext, outcome: Result<T, RpcError>) -> Option<Encoded> {
    let id = cx.request_id();
    if cx.is_notification() {
        if let Err(e) = outcome {
            tracing::debug!(method = cx.method(), error = %e, "notification failed");
        }
        return None;
    }
    Some(match outcome {
        Ok(value) => {
            let size_hint = cx.params_raw().map_or(0, |p| p.get().len());
            match cx.in_batch() {
                true => response::batch_success(cx.version(), id, &value, size_hint),
                false => response::success(cx.version(), id, &value, size_hint),
            }
        }
        Err(e) => response::error(cx.version(), id, &e),
    })
}

fn panicked(cx: &RpcContext, payload: &(dyn std::any::Any + Send)) -> RpcError {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-text payload)");
    tracing::error!(method = cx.method(), panic = what, "RPC method panicked");
    RpcError::internal()
}

/// Runs a sync method inline.
pub fn call_sync<'a, P, T>(cx: &'a RpcContext, f: impl FnOnce(P) -> Result<T, RpcError>) -> Invoked<'a>
where
    P: FromParams,
    T: Serialize,
{
    let outcome =
        catch_unwind(AssertUnwindSafe(|| f(decode(cx)?))).unwrap_or_else(|payload| Err(panicked(cx, &*payload)));
    Invoked::Ready(respond(cx, outcome))
}

/// Runs an async method: `f` injects the context and returns the future.
pub fn call_async<'a, P, T, Fut>(cx: &'a RpcContext, f: impl FnOnce(P) -> Result<Fut, RpcError>) -> Invoked<'a>
where
    P: FromParams,
    T: Serialize,
    Fut: Future<Output = Result<T, RpcError>> + Send + 'a,
{
    let started =
        catch_unwind(AssertUnwindSafe(|| f(decode(cx)?))).unwrap_or_else(|payload| Err(panicked(cx, &*payload)));
    match started {
        Err(e) => Invoked::Ready(respond::<()>(cx, Err(e))),
        Ok(future) => Invoked::Pending(Box::pin(async move {
            let outcome = match AssertUnwindSafe(future).catch_unwind().await {
                Ok(outcome) => outcome,
                Err(payload) => Err(panicked(cx, &*payload)),
            };
            respond(cx, outcome)
        })),
    }
}

/// Runs a sync method on tokio's blocking pool (`#[rpc_method(blocking)]`).
pub fn call_blocking<'a, P, T>(
    cx: &'a RpcContext,
    f: impl FnOnce(P) -> Result<T, RpcError> + Send + 'static,
) -> Invoked<'a>
where
    P: FromParams + Send + 'static,
    T: Serialize + Send + 'static,
{
    let params = match decode::<P>(cx) {
        Ok(params) => params,
        Err(e) => return Invoked::Ready(respond::<()>(cx, Err(e))),
    };
    Invoked::Pending(Box::pin(async move {
        let outcome = match tokio::task::spawn_blocking(move || f(params)).await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => Err(panicked(cx, &*e.into_panic())),
            Err(_) => Err(RpcError::internal()),
        };
        respond(cx, outcome)
    }))
}

/// Marks a return value that is a `Result`: its error becomes the error response.
#[derive(Debug)]
pub struct ResultKind;

/// Marks a return value that is the result itself.
#[derive(Debug)]
pub struct SerializeKind;

/// Chosen for `Result<T, E>` return values (autoref specialization: the
/// generated code calls `(&value).__rpc_kind()`, which finds this impl first).
pub trait ViaResult {
    /// The kind marker.
    fn __rpc_kind(&self) -> ResultKind {
        ResultKind
    }
}

impl<T, E> ViaResult for Result<T, E> {}

/// Chosen for every other return value, which must be `Serialize`.
pub trait ViaSerialize {
    /// The kind marker.
    fn __rpc_kind(&self) -> SerializeKind {
        SerializeKind
    }
}

impl<T: Serialize + ?Sized> ViaSerialize for &T {}

impl ResultKind {
    /// `Ok(v)` is the result; an error becomes an [`RpcError`] (see [`into_rpc_error`]).
    pub fn into_outcome<T: Serialize, E: Display + 'static>(self, value: Result<T, E>) -> Result<T, RpcError> {
        value.map_err(into_rpc_error)
    }
}

impl SerializeKind {
    /// The value is the result.
    pub fn into_outcome<T: Serialize>(self, value: T) -> Result<T, RpcError> {
        Ok(value)
    }
}
