//! The link-time registry of methods and each consumer's method table.
//!
//! `#[rpc_method]` puts one [`MethodEntry`] into the [`CHANNELS_RPC_METHODS`]
//! distributed slice (linkme: no code runs before `main`). A consumer's
//! [`MethodTable`] is built from the slice once, when its [`App`](crate::App)
//! is made, and refuses two entries with the same name.

// `RegistryError` is large, but it is returned once, when a server starts.
#![allow(clippy::result_large_err)]

use std::fmt;

use linkme::distributed_slice;

use crate::context::{ConsumerId, RpcContext};
use crate::guard::GuardFn;
use crate::handler::Invoked;
use crate::schema::SchemaFn;
use crate::scope::Transport;

/// Every method and notification handler linked into the program.
#[distributed_slice]
pub static CHANNELS_RPC_METHODS: [MethodEntry];

/// Whether an entry answers calls or handles notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodKind {
    /// `#[rpc_method]`: answers calls; a notification to it runs it and drops the result.
    Method,
    /// `#[rpc_notification]`: handles notifications only and never answers.
    Notification,
}

/// The wrapper the macro generates: decodes params, injects context, calls the
/// function and encodes the response.
pub type CallFn = for<'a> fn(&'a RpcContext) -> Invoked<'a>;

/// One registered method: its name, how it is served, where it is defined.
/// Read it through [`App::methods`](crate::App::methods); `#[rpc_method]`
/// makes it.
pub struct MethodEntry {
    parts: EntryParts,
}

/// What `#[rpc_method]` writes into a [`MethodEntry`]. Not public API: the
/// generated code's, through `::channels_rpc::__private`.
#[doc(hidden)]
#[derive(Debug)]
pub struct EntryParts {
    /// The JSON-RPC method name.
    pub name: &'static str,
    /// The Rust function's name.
    pub rust_name: &'static str,
    /// The module the function is in.
    pub module: &'static str,
    /// Method or notification handler.
    pub kind: MethodKind,
    /// Served over WebSocket.
    pub websocket: bool,
    /// Served over HTTP.
    pub http: bool,
    /// Runs on tokio's blocking pool.
    pub blocking: bool,
    /// An `async fn`.
    pub is_async: bool,
    /// `#[rpc_method(timeout = "5s")]`: how long a call may run, in place of
    /// the server's default.
    pub timeout: Option<std::time::Duration>,
    /// The JSON parameter names, in order.
    pub params: &'static [&'static str],
    /// Receives the whole params (`&Params`), so extra parameters are no error.
    pub takes_params: bool,
    /// Each JSON parameter's schema and whether it may be omitted, in order.
    pub param_schemas: &'static [ParamSchema],
    /// The result's schema (for `Result<T, E>`, `T`'s).
    pub result_schema: SchemaFn,
    /// The function's doc comment.
    pub doc: &'static str,
    /// Source file of the function.
    pub file: &'static str,
    /// Source line of the function.
    pub line: u32,
    /// The consumers the entry names (`consumer = T`) or needs (`&RpcContext<T>`, `&T`).
    pub consumers: &'static [fn() -> Option<ConsumerId>],
    /// `#[rpc_method(guard = path)]`: who may call it.
    pub guard: Option<fn() -> GuardFn>,
    /// The generated wrapper.
    pub call: CallFn,
}

/// One JSON parameter as `rpc.discover` describes it. Not public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ParamSchema {
    /// False for an `Option<T>` parameter, which may be omitted.
    pub required: bool,
    /// Its type's schema.
    pub schema: SchemaFn,
}

impl MethodEntry {
    /// The entry the macro describes. Not public API.
    #[doc(hidden)]
    pub const fn __new(parts: EntryParts) -> Self {
        MethodEntry { parts }
    }

    /// The JSON-RPC method name.
    pub fn name(&self) -> &'static str {
        self.parts.name
    }

    /// The Rust function's name.
    pub fn rust_name(&self) -> &'static str {
        self.parts.rust_name
    }

    /// The module the function is declared in (`module_path!()`).
    pub fn module(&self) -> &'static str {
        self.parts.module
    }

    /// Method or notification handler.
    pub fn kind(&self) -> MethodKind {
        self.parts.kind
    }

    /// Runs on tokio's blocking pool (`#[rpc_method(blocking)]`).
    pub fn is_blocking(&self) -> bool {
        self.parts.blocking
    }

    /// An `async fn`.
    pub fn is_async(&self) -> bool {
        self.parts.is_async
    }

    /// Its own timeout (`#[rpc_method(timeout = "5s")]`), if it sets one.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        self.parts.timeout
    }

    /// The JSON parameter names, in order.
    pub fn params(&self) -> &'static [&'static str] {
        self.parts.params
    }

    /// Each JSON parameter's schema, in the order of [`params`](Self::params).
    pub(crate) fn param_schemas(&self) -> &'static [ParamSchema] {
        self.parts.param_schemas
    }

    /// The result's schema writer.
    pub(crate) fn result_schema(&self) -> SchemaFn {
        self.parts.result_schema
    }

    /// True when the method receives the whole params (`&Params`), so that
    /// parameters matching no argument are no error.
    pub fn takes_params(&self) -> bool {
        self.parts.takes_params
    }

    /// The function's doc comment.
    pub fn doc(&self) -> &'static str {
        self.parts.doc
    }

    /// Source file and line of the function.
    pub fn location(&self) -> (&'static str, u32) {
        (self.parts.file, self.parts.line)
    }

    /// Its own guard (`#[rpc_method(guard = path)]`), if it has one.
    pub fn guard(&self) -> Option<GuardFn> {
        self.parts.guard.map(|guard| guard())
    }

    /// Runs the generated wrapper for one call.
    pub(crate) fn call<'a>(&self, cx: &'a RpcContext) -> Invoked<'a> {
        (self.parts.call)(cx)
    }

    /// True when the wrapper returns a future (an `async fn`, or a `blocking`
    /// function waiting for its thread); a sync method answers at once.
    pub fn answers_later(&self) -> bool {
        self.parts.is_async || self.parts.blocking
    }

    /// The consumer this entry is bound to, `None` when unbound;
    /// an error if it names two different ones.
    fn consumer(&'static self) -> Result<Option<ConsumerId>, RegistryError> {
        let mut found: Option<ConsumerId> = None;
        for consumer in self.parts.consumers.iter().filter_map(|f| f()) {
            match found {
                Some(first) if first.id != consumer.id => {
                    return Err(RegistryError::ConflictingConsumers {
                        method: Location::of(self),
                        first: first.name,
                        second: consumer.name,
                    })
                }
                _ => found = Some(consumer),
            }
        }
        Ok(found)
    }

    /// Whether the entry is served on `transport`.
    pub fn serves(&self, transport: Transport) -> bool {
        match transport {
            Transport::WebSocket => self.parts.websocket,
            Transport::Http => self.parts.http,
            Transport::InProcess => true,
        }
    }
}

impl fmt::Debug for MethodEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodEntry")
            .field("name", &self.parts.name)
            .field("kind", &self.parts.kind)
            .field(
                "function",
                &format_args!("{}::{}", self.parts.module, self.parts.rust_name),
            )
            .field("at", &format_args!("{}:{}", self.parts.file, self.parts.line))
            .finish_non_exhaustive()
    }
}

/// Where a method is defined, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `module::function`.
    pub function: String,
    /// `file:line`.
    pub at: String,
}

impl Location {
    fn of(entry: &MethodEntry) -> Self {
        Location {
            function: format!("{}::{}", entry.parts.module, entry.parts.rust_name),
            at: format!("{}:{}", entry.parts.file, entry.parts.line),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({})", self.function, self.at)
    }
}

/// Why a method table could not be built. Large, but only ever returned
/// once, at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two entries claim the same name for the same consumer.
    #[error("duplicate RPC {kind} \"{name}\" for consumer {consumer}: defined by {first} and by {second}")]
    Duplicate {
        /// "method" or "notification".
        kind: &'static str,
        /// The contested name.
        name: &'static str,
        /// The consumer both serve.
        consumer: &'static str,
        /// One definition.
        first: Location,
        /// The other.
        second: Location,
    },
    /// One entry names two different consumers.
    #[error("RPC method {method} is tied to two consumers: {first} and {second}")]
    ConflictingConsumers {
        /// The method.
        method: Location,
        /// One consumer.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
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

/// A consumer's methods and notification handlers by name.
#[derive(Debug, Default)]
pub struct MethodTable {
    methods: Names,
    notifications: Names,
}

/// Entries by name. The keys are the program's own method names, never a
/// client's, so the table needs no hash that resists chosen collisions: the
/// quicker Fx hash does (a lookup per call).
type Names = rustc_hash::FxHashMap<&'static str, &'static MethodEntry>;

impl MethodTable {
    /// The table of `consumer` from all linked entries (see [`MethodSources`]
    /// for which it serves).
    pub fn linked(consumer: ConsumerId, sources: MethodSources) -> Result<Self, RegistryError> {
        Self::from_entries(&CHANNELS_RPC_METHODS, consumer, sources)
    }

    /// The table of `consumer` from `entries`: those bound to it, and the
    /// unbound ones that `sources` selects by their crate.
    pub fn from_entries(
        entries: &'static [MethodEntry],
        consumer: ConsumerId,
        sources: MethodSources,
    ) -> Result<Self, RegistryError> {
        let mut table = MethodTable::default();
        for entry in entries {
            let served = match entry.consumer()? {
                Some(only) => only.id == consumer.id,
                None => sources.serves_module(entry.parts.module),
            };
            if !served {
                continue;
            }
            let (map, kind) = match entry.parts.kind {
                MethodKind::Method => (&mut table.methods, "method"),
                MethodKind::Notification => (&mut table.notifications, "notification"),
            };
            if let Some(first) = map.insert(entry.parts.name, entry) {
                let (a, b) = order(Location::of(first), Location::of(entry));
                return Err(RegistryError::Duplicate {
                    kind,
                    name: entry.parts.name,
                    consumer: consumer.name,
                    first: a,
                    second: b,
                });
            }
        }
        Ok(table)
    }

    /// The entry that serves `name` on `transport`: for a call, a method; for a
    /// notification, a notification handler, else a method.
    pub fn lookup(&self, name: &str, notification: bool, transport: Transport) -> Option<&'static MethodEntry> {
        let entry = if notification {
            self.notifications.get(name).or_else(|| self.methods.get(name))
        } else {
            self.methods.get(name)
        };
        entry.copied().filter(|e| e.serves(transport))
    }

    /// The method (not notification handler) named `name`.
    pub fn method(&self, name: &str) -> Option<&'static MethodEntry> {
        self.methods.get(name).copied()
    }

    /// Every entry, methods first, each group sorted by name.
    pub fn entries(&self) -> Vec<&'static MethodEntry> {
        let mut methods: Vec<_> = self.methods.values().copied().collect();
        let mut notifications: Vec<_> = self.notifications.values().copied().collect();
        methods.sort_by_key(|e| e.parts.name);
        notifications.sort_by_key(|e| e.parts.name);
        methods.extend(notifications);
        methods
    }

    /// True when the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty() && self.notifications.is_empty()
    }
}

/// Two locations in a stable order, so the message does not depend on link order.
fn order(a: Location, b: Location) -> (Location, Location) {
    if (&a.at, &a.function) <= (&b.at, &b.function) {
        (a, b)
    } else {
        (b, a)
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
