//! Procedural macros of channels-rpc. Use them through the `channels-rpc`
//! crate, which re-exports them; the generated code names only
//! `::channels_rpc::__private`.
//!
//! Each macro parses its input into a model (module `model`), checks it
//! while collecting every error with its span, and expands it (module
//! `expand`).

mod consumer;
mod expand;
mod model;
mod parse;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

use model::Kind;

/// Registers a free function as a JSON-RPC method.
///
/// `#[rpc_method]`, `#[rpc_method("name")]` or
/// `#[rpc_method("name", consumer = T, websocket = bool, http = bool, blocking, timeout = "5s", guard = path)]`.
/// `guard` names a function asked before each call (`fn(&RpcContext) ->
/// bool` or `-> Result<(), RpcError>`, sync or `async`); a call it denies
/// answers like a missing method (see `channels_rpc::guard`).
/// `timeout` (humantime syntax: `"500ms"`, `"5s"`, `"1m 30s"`) bounds how
/// long an `async` or `blocking` function's call may run, in place of the
/// server's default (`Limits::call_timeout`). Without `consumer = T` the method is unbound: served by the consumers of
/// the crate it is declared in, and by consumers elsewhere that name this
/// crate in `#[consumer(include(...))]`. See the `channels-rpc` crate
/// documentation for the rules.
#[proc_macro_attribute]
pub fn rpc_method(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::rpc_fn(Kind::Method, args.into(), item.into()).into()
}

/// Registers a free function as a JSON-RPC notification handler: it handles
/// notifications only and never answers. Takes the same options as `rpc_method`.
#[proc_macro_attribute]
pub fn rpc_notification(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::rpc_fn(Kind::Notification, args.into(), item.into()).into()
}

/// Makes a struct a consumer: one instance per connection.
///
/// Options, in `#[consumer(...)]`:
/// - `new = path` names a `fn(&Scope) -> Self` constructor (the default is
///   `Default::default`);
/// - `hooks` says the struct implements `ConsumerHooks` itself (otherwise the
///   default hooks are used);
/// - `include(crate_a, crate_b)` serves the unbound methods of those crates
///   too, and links them;
/// - `guard = path` names a guard asked before every call of the consumer's
///   methods, ahead of each method's own.
///
/// A consumer serves exactly what its own code chose: methods bound to it
/// (`consumer = T`, or a `&T` / `&RpcContext<T>` argument), unbound methods
/// declared in its own crate, and unbound methods of the crates it includes.
/// Linking a crate of methods never publishes them.
#[proc_macro_derive(Consumer, attributes(consumer))]
pub fn derive_consumer(input: TokenStream) -> TokenStream {
    consumer::expand(input.into()).into()
}
