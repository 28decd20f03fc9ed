//! A method that names one consumer but asks for another's context cannot be
//! served by either: building a table says so.

use channels_rpc::{rpc_method, App, Consumer, RegistryError, RpcContext};

#[derive(Consumer, Default)]
struct Named;

#[derive(Consumer, Default)]
struct Required;

#[rpc_method(consumer = Named)]
fn confused(ctx: &RpcContext<Required>) -> bool {
    ctx.is_notification()
}

#[test]
fn conflicting_consumers_are_reported() {
    let err = App::<Named>::try_new().unwrap_err();
    let RegistryError::ConflictingConsumers { method, first, second } = &err else {
        panic!("expected a conflict, got {err}");
    };
    assert_eq!(method.function, "registry_conflict::confused");
    assert!(first.ends_with("Named") && second.ends_with("Required"), "{err}");
}
