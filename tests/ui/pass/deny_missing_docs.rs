//! A crate that denies missing docs and warnings: the generated code must not
//! trip either lint.
#![deny(missing_docs, warnings, missing_debug_implementations)]

use channels_rpc::{rpc_method, rpc_notification, Consumer, RpcContext};

/// The consumer.
#[derive(Consumer, Default, Debug)]
pub struct Documented;

/// A public method.
#[rpc_method("docs.ping", consumer = Documented)]
pub fn ping() -> &'static str {
    "pong"
}

/// A public async method taking the context.
#[rpc_method]
pub async fn method_name(ctx: &RpcContext) -> String {
    ctx.method().to_owned()
}

/// A public notification handler.
#[rpc_notification]
pub fn notified(value: i64) {
    let _ = value;
}

/// A public module of methods.
pub mod nested {
    /// A method inside a module.
    #[channels_rpc::rpc_method(blocking)]
    pub fn nested(value: u32) -> u32 {
        value
    }
}

fn main() {
    let app = Documented::app();
    assert_eq!(app.method("docs.ping").unwrap().doc(), "A public method.");
    assert!(app.method("nested").is_some());
}
