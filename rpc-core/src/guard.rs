//! Guards: who may call a method, decided before it runs.
//!
//! A guard is a function of the call's [`RpcContext`] that answers `bool`
//! or `Result<(), RpcError>`, sync or `async`:
//!
//! ```
//! use channels_rpc::{rpc_method, RpcContext, RpcError};
//!
//! /// The user the connect hook put into the scope.
//! struct User {
//!     admin: bool,
//! }
//!
//! fn is_admin(cx: &RpcContext) -> bool {
//!     cx.extension::<User>().is_some_and(|user| user.admin)
//! }
//!
//! async fn not_on_sunday(_cx: &RpcContext) -> Result<(), RpcError> {
//!     Err(RpcError::new(-32010, "closed today"))
//! }
//!
//! #[rpc_method("admin.stats", guard = is_admin)]
//! fn stats() -> u64 {
//!     42
//! }
//!
//! #[rpc_method(guard = not_on_sunday)]
//! async fn trade() -> bool {
//!     true
//! }
//! ```
//!
//! `#[rpc_method(guard = path)]` guards one method; `#[consumer(guard = path)]`
//! guards every method and notification handler of a consumer (it runs
//! first, then the method's own). The shapes are told apart by the type
//! system ([`Guard`]); any other shape is a compile error at the path.
//!
//! **A denied call looks like a missing method**: `false` answers exactly
//! what an unknown name answers (-32601 "Method not found", the name as
//! data), so that a caller cannot tell which methods exist behind guards.
//! `Err(e)` answers `e` instead, for a guard that wants to say why. A denied
//! notification answers nothing, like every notification; each member of a
//! batch is guarded on its own.
//!
//! Where it runs: after the middleware and before everything else of the
//! call (the rate limit, the timeout, parameter decoding, the method). Before
//! the rate limit on purpose: a caller over its limit would otherwise get
//! "rate limited" for a method that exists but "Method not found" for one
//! that does not, and could enumerate the guarded methods that way. An
//! `async` guard has the call's time limit (the method's `timeout`, else
//! [`Limits::call_timeout`](crate::Limits::call_timeout)) to decide, and the
//! method gets the whole limit again after it; a guard that has not decided
//! by then denies, as if the method were missing, and a warning is logged.
//!
//! `rpc.discover` lists only what the caller's guards allow: each entry is
//! asked with a context whose [`method`](RpcContext::method) is the entry's
//! name and that has no params. An `async` guard makes `rpc.discover` wait
//! for it.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use ref_cast::RefCast;

use crate::context::{Call, RpcContext};
use crate::error::RpcError;
use crate::response::{self, Encoded};

/// Why a guard refused a call.
#[derive(Debug)]
pub(crate) enum Denied {
    /// `false`: the call answers like a missing method.
    AsMissing,
    /// The guard's own error, sent as it is.
    With(RpcError),
}

impl Denied {
    /// The error the caller receives for a call of `method`.
    pub(crate) fn into_error(self, method: &str) -> RpcError {
        match self {
            Denied::AsMissing => RpcError::method_not_found(method),
            Denied::With(error) => error,
        }
    }
}

/// The future of an `async` guard's decision.
type Deciding<'a> = Pin<Box<dyn Future<Output = Result<(), Denied>> + Send + 'a>>;

/// A guard's decision: at once (sync guards) or later (`async` ones; their
/// code runs only when the future is first polled).
pub(crate) enum Verdict<'a> {
    Ready(Result<(), Denied>),
    Pending(Deciding<'a>),
}

impl Verdict<'_> {
    /// The decision, waiting for it if need be, for at most `limit`: a guard
    /// that has not decided by then denies (as if the method were missing),
    /// so that a stuck guard holds no call for longer than the method could
    /// have run, and fails closed.
    pub(crate) async fn decided_within(self, limit: Option<Duration>, method: &str) -> Result<(), Denied> {
        let future = match self {
            Verdict::Ready(decision) => return decision,
            Verdict::Pending(future) => future,
        };
        let Some(limit) = limit else {
            return future.await;
        };
        tokio::time::timeout(limit, future).await.unwrap_or_else(|_| {
            tracing::warn!(
                method,
                timeout_ms = limit.as_millis() as u64,
                "a guard did not decide within the call's time limit: denied"
            );
            Err(Denied::AsMissing)
        })
    }
}

mod sealed {
    pub trait Sealed<Shape> {}
}

/// What a guard answers: `bool` (`false` denies like a missing method) or
/// `Result<(), RpcError>` (`Err` denies with that error).
#[diagnostic::on_unimplemented(
    message = "a guard answers `bool` or `Result<(), RpcError>`, not `{Self}`",
    label = "this guard's answer is `{Self}`",
    note = "`true` / `Ok(())` lets the call through; `false` answers like a missing method; `Err(e)` answers `e`"
)]
pub trait GuardAnswer: sealed::Sealed<()> + Send + 'static {
    /// Not public API.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn __decision(self) -> Result<(), Denied>;
}

impl sealed::Sealed<()> for bool {}
impl GuardAnswer for bool {
    #[allow(private_interfaces)]
    fn __decision(self) -> Result<(), Denied> {
        if self {
            Ok(())
        } else {
            Err(Denied::AsMissing)
        }
    }
}

impl sealed::Sealed<()> for Result<(), RpcError> {}
impl GuardAnswer for Result<(), RpcError> {
    #[allow(private_interfaces)]
    fn __decision(self) -> Result<(), Denied> {
        self.map_err(Denied::With)
    }
}

/// A function usable as a guard: `fn(&RpcContext) -> A` or
/// `async fn(&RpcContext) -> A`, where `A` is a [`GuardAnswer`] (`bool` or
/// `Result<(), RpcError>`). `Shape` tells the forms apart and is inferred;
/// the trait is sealed, implemented for those function shapes only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a guard",
    label = "not a guard function",
    note = "a guard is `fn(&RpcContext) -> bool`, `fn(&RpcContext) -> Result<(), RpcError>`, or an `async fn` of either (its future `Send`)"
)]
pub trait Guard<Shape>: sealed::Sealed<Shape> + Send + Sync + 'static {
    /// True for an `async` guard.
    const IS_ASYNC: bool;

    /// Not public API: asks the guard about one call.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn __check<'a>(&'a self, cx: &'a RpcContext) -> Verdict<'a>;
}

/// The shape of a sync guard answering `A`.
#[derive(Debug)]
pub struct SyncGuard<A>(PhantomData<fn() -> A>);

/// The shape of an `async` guard answering `A`.
#[derive(Debug)]
pub struct AsyncGuard<A>(PhantomData<fn() -> A>);

impl<F, A> sealed::Sealed<SyncGuard<A>> for F
where
    F: Fn(&RpcContext) -> A,
    A: GuardAnswer,
{
}

impl<F, A> Guard<SyncGuard<A>> for F
where
    F: Fn(&RpcContext) -> A + Send + Sync + 'static,
    A: GuardAnswer,
{
    const IS_ASYNC: bool = false;

    #[allow(private_interfaces)]
    fn __check<'a>(&'a self, cx: &'a RpcContext) -> Verdict<'a> {
        Verdict::Ready(self(cx).__decision())
    }
}

/// `Fn(&'a RpcContext) -> impl Future<Output = A> + Send + 'a`, the shape of
/// an `async fn` taking the context, which a plain `Fn` bound cannot say.
pub trait AsyncGuardFn<'a, A>: Fn(&'a RpcContext) -> Self::Future {
    /// The future the function returns.
    type Future: Future<Output = A> + Send + 'a;
}

impl<'a, F, Fut, A> AsyncGuardFn<'a, A> for F
where
    F: Fn(&'a RpcContext) -> Fut,
    Fut: Future<Output = A> + Send + 'a,
{
    type Future = Fut;
}

impl<F, A> sealed::Sealed<AsyncGuard<A>> for F
where
    F: for<'a> AsyncGuardFn<'a, A>,
    A: GuardAnswer,
{
}

impl<F, A> Guard<AsyncGuard<A>> for F
where
    F: for<'a> AsyncGuardFn<'a, A> + Send + Sync + 'static,
    A: GuardAnswer,
{
    const IS_ASYNC: bool = true;

    #[allow(private_interfaces)]
    fn __check<'a>(&'a self, cx: &'a RpcContext) -> Verdict<'a> {
        // The function is called inside the future: nothing of the guard
        // runs until the call itself runs (a transport may start a message,
        // find it pending and drop it before starting it again).
        Verdict::Pending(Box::pin(async move { self(cx).await.__decision() }))
    }
}

/// A guard with its shape erased, so that entries and dispatchers can hold any.
trait ErasedGuard: Send + Sync {
    fn is_async(&self) -> bool;
    fn check<'a>(&'a self, cx: &'a RpcContext) -> Verdict<'a>;
}

/// A guard function and the shape it was taken as; the same in memory as the
/// function itself (a zero-sized function item), so a `&'static G` becomes
/// one without a copy.
#[derive(RefCast)]
#[repr(transparent)]
struct Shaped<S, G> {
    guard: G,
    #[trivial]
    _shape: PhantomData<fn() -> S>,
}

impl<S: 'static, G: Guard<S>> ErasedGuard for Shaped<S, G> {
    fn is_async(&self) -> bool {
        G::IS_ASYNC
    }

    fn check<'a>(&'a self, cx: &'a RpcContext) -> Verdict<'a> {
        self.guard.__check(cx)
    }
}

/// A guard ready to be stored in a method entry or a consumer: what
/// `guard = path` becomes. Cheap to copy.
///
/// ```
/// use channels_rpc::{GuardFn, RpcContext};
///
/// fn logged_in(cx: &RpcContext) -> bool {
///     cx.scope().header("authorization").is_some()
/// }
///
/// async fn checked_elsewhere(_cx: &RpcContext) -> bool {
///     true
/// }
///
/// assert!(!GuardFn::of(&logged_in).is_async());
/// assert!(GuardFn::of(&checked_elsewhere).is_async());
/// ```
#[derive(Clone, Copy)]
pub struct GuardFn {
    guard: &'static dyn ErasedGuard,
}

impl GuardFn {
    /// The guard `guard` (a function, by reference: `GuardFn::of(&my_guard)`).
    pub fn of<S: 'static, G: Guard<S>>(guard: &'static G) -> Self {
        GuardFn {
            guard: Shaped::<S, G>::ref_cast(guard),
        }
    }

    /// True for an `async` guard, whose decision is awaited.
    pub fn is_async(&self) -> bool {
        self.guard.is_async()
    }

    pub(crate) fn check<'a>(&self, cx: &'a RpcContext) -> Verdict<'a> {
        let guard: &'static dyn ErasedGuard = self.guard;
        guard.check(cx)
    }
}

impl std::fmt::Debug for GuardFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardFn")
            .field("is_async", &self.is_async())
            .finish_non_exhaustive()
    }
}

/// The guards over one call: the consumer's, then the method's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guards {
    pub consumer: Option<GuardFn>,
    pub method: Option<GuardFn>,
}

impl Guards {
    /// True when a decision has to be awaited.
    pub(crate) fn is_async(&self) -> bool {
        self.consumer.is_some_and(|g| g.is_async()) || self.method.is_some_and(|g| g.is_async())
    }

    /// Asks both guards, the consumer's first; the second is not asked when
    /// the first denies. Sync guards have answered when this returns.
    pub(crate) fn check<'a>(self, cx: &'a RpcContext) -> Verdict<'a> {
        let first = match self.consumer {
            None => Verdict::Ready(Ok(())),
            Some(guard) => guard.check(cx),
        };
        let Some(second) = self.method else {
            return first;
        };
        match first {
            Verdict::Ready(Err(denied)) => Verdict::Ready(Err(denied)),
            Verdict::Ready(Ok(())) => second.check(cx),
            Verdict::Pending(first) => Verdict::Pending(Box::pin(async move {
                first.await?;
                second.check(cx).decided_within(None, cx.method()).await
            })),
        }
    }
}

/// Lets `call` through its guards now (the dispatcher has checked that
/// none is `async`), or the answer of a refused call (`None` for a
/// notification).
pub(crate) fn allow_now(guards: Guards, call: &Call<'_>) -> Result<(), Option<Encoded>> {
    if guards.consumer.is_none() && guards.method.is_none() {
        return Ok(());
    }
    match guards.check(call.context()) {
        Verdict::Ready(decision) => decision.map_err(|denied| refusal(call, denied)),
        Verdict::Pending(_) => {
            tracing::error!(method = call.method, "an async guard was asked on the sync path");
            Err(call
                .id
                .map(|id| response::error(call.version, Some(id), &RpcError::internal())))
        }
    }
}

/// Lets `call` through its guards once they have decided (within `limit`,
/// see [`Verdict::decided_within`]), or the answer of a refused call (`None`
/// for a notification).
pub(crate) async fn allow_later(
    guards: Guards,
    call: &Call<'_>,
    limit: Option<Duration>,
) -> Result<(), Option<Encoded>> {
    guards
        .check(call.context())
        .decided_within(limit, call.method)
        .await
        .map_err(|denied| refusal(call, denied))
}

/// The answer to a denied call: the bytes an unknown method gets, unless the
/// guard gave its own error.
fn refusal(call: &Call<'_>, denied: Denied) -> Option<Encoded> {
    tracing::debug!(method = call.method, "refused by a guard");
    let error = denied.into_error(call.method);
    call.id.map(|id| response::error(call.version, Some(id), &error))
}
