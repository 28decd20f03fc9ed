//! The [`Consumer`] trait: one instance per connection, with lifecycle hooks.

use std::future::Future;

use serde_json::Value;

use crate::context::Connection;
use crate::scope::Scope;

/// The answer of a connect hook that refuses the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The HTTP status the handshake answers (403 unless set).
    pub status: u16,
    /// Why, for the log and the response body.
    pub reason: String,
}

impl Reject {
    /// Refuses with 403 Forbidden.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Reject {
            status: 403,
            reason: reason.into(),
        }
    }
}

/// A consumer: one instance per connection holds that connection's state, and
/// the methods it serves (see [`MethodSources`]) answer its calls.
///
/// Implement it with `#[derive(Consumer)]`, which also supplies default hooks.
///
/// ```
/// use channels_rpc::{rpc_method, Consumer};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Consumer, Default)]
/// struct Counter {
///     calls: AtomicU64,
/// }
///
/// /// Counts the calls made on this connection.
/// #[rpc_method(consumer = Counter)]
/// fn hits(me: &Counter) -> u64 {
///     me.calls.fetch_add(1, Ordering::Relaxed) + 1
/// }
///
/// let app = Counter::app();
/// assert_eq!(app.method("hits").map(|m| m.rust_name()), Some("hits"));
/// ```
pub trait Consumer: ConsumerHooks + Sized + Send + Sync + 'static {
    /// Where the methods not bound to any consumer come from: the consumer's
    /// own crate, and the crates it names with `#[consumer(include(...))]`.
    /// The derive writes it; see [`MethodSources`].
    const METHOD_SOURCES: MethodSources;

    /// Makes the instance for a new connection.
    fn new(scope: &Scope) -> Self;

    /// The consumer's method table and settings, built from every registered
    /// method. Panics if two methods claim the same name (use
    /// [`App::try_new`](crate::App::try_new) to get the error instead).
    fn app() -> crate::App<Self> {
        crate::App::new()
    }
}

/// The crates whose unbound methods (those without `consumer = T`) a
/// consumer serves. A consumer serves exactly what its own code chose:
///
/// - methods bound to it (`#[rpc_method(consumer = C)]`, or taking `&C` or
///   `&RpcContext<C>`), wherever they are declared;
/// - unbound methods declared in the consumer's own crate;
/// - unbound methods of another crate only when the consumer names that crate:
///   `#[consumer(include(spec_methods))]`, which also links the crate.
///
/// Linking a crate never publishes its methods: a binary that depends on a
/// crate of methods without including it serves none of them.
///
/// ```
/// use channels_rpc::{rpc_method, Consumer};
///
/// /// Unbound: served by this crate's consumers.
/// #[rpc_method]
/// fn ping() -> &'static str {
///     "pong"
/// }
///
/// #[derive(Consumer, Default)]
/// struct Api;
///
/// #[derive(Consumer, Default)]
/// struct Admin;
///
/// /// Bound to `Admin`: no other consumer serves it.
/// #[rpc_method(consumer = Admin)]
/// fn shutdown() -> bool {
///     true
/// }
///
/// assert!(Api::app().method("ping").is_some());
/// assert!(Api::app().method("shutdown").is_none());
/// assert!(Admin::app().method("shutdown").is_some());
/// assert_eq!(Api::METHOD_SOURCES.included(), &[] as &[&str]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodSources {
    home_module: &'static str,
    included: &'static [&'static str],
}

impl MethodSources {
    /// The sources of a consumer declared in module `home_module` (its
    /// `module_path!()`, whose first segment is its crate) that includes the
    /// crates `included` (their names as in `use name;`).
    pub const fn new(home_module: &'static str, included: &'static [&'static str]) -> Self {
        MethodSources { home_module, included }
    }

    /// The consumer's own crate.
    pub fn home_crate(&self) -> &'static str {
        crate_of(self.home_module)
    }

    /// The other crates it includes.
    pub fn included(&self) -> &'static [&'static str] {
        self.included
    }

    /// True when unbound methods declared in module `module` are served.
    pub fn serves_module(&self, module: &str) -> bool {
        let krate = crate_of(module);
        krate == self.home_crate() || self.included.contains(&krate)
    }
}

/// The crate of a `module_path!()`: its first segment.
fn crate_of(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// Lifecycle hooks, like `connect` and `disconnect` of a Channels consumer.
/// Every hook has a default; implement the ones you need and mark the struct
/// `#[consumer(hooks)]` so the derive does not supply the defaults.
///
/// ```
/// use channels_rpc::{Consumer, ConsumerHooks, Reject, Scope};
///
/// #[derive(Consumer, Default)]
/// #[consumer(hooks)]
/// struct Members;
///
/// impl ConsumerHooks for Members {
///     async fn connect(&self, scope: &mut Scope) -> Result<(), Reject> {
///         match scope.header("x-user") {
///             Some(_) => Ok(()),
///             None => Err(Reject::forbidden("log in first")),
///         }
///     }
/// }
/// ```
pub trait ConsumerHooks: Send + Sync {
    /// Runs before the connection is accepted; an error refuses it.
    fn connect(&self, scope: &mut Scope) -> impl Future<Output = Result<(), Reject>> + Send {
        let _ = scope;
        async { Ok(()) }
    }

    /// Runs exactly once when the connection ends, with the close code.
    fn disconnect(&self, code: u16) -> impl Future<Output = ()> + Send {
        let _ = code;
        async {}
    }

    /// Receives a channel layer message whose type is not `rpc.notification`
    /// (those go to the client as notifications), like Channels' type-based
    /// handlers. The connection can push to its client or change its groups.
    fn on_message(&self, message: &Value, connection: &Connection) -> impl Future<Output = ()> + Send {
        let _ = connection;
        tracing::debug!(r#type = ?message.get("type"), "layer message with no handler");
        async {}
    }
}

#[cfg(test)]
mod tests {
    use super::MethodSources;

    #[test]
    fn sources_select_unbound_methods_by_their_crate() {
        let sources = MethodSources::new("my_app::api", &["spec_methods"]);
        assert_eq!(sources.home_crate(), "my_app");
        assert!(sources.serves_module("my_app"));
        assert!(sources.serves_module("my_app::deep::inside"));
        assert!(sources.serves_module("spec_methods::chat"));
        // A crate whose name only starts like an included one is not included.
        assert!(!sources.serves_module("spec"));
        assert!(!sources.serves_module("spec_methods_extra"));
        assert!(!sources.serves_module("my_app_plugins::api"));
        assert!(!sources.serves_module("other"));
    }
}
