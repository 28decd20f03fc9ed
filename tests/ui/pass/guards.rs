//! Every guard shape, on a method and on a consumer, and `Ext<T>`.

use channels_rpc::{rpc_method, rpc_notification, Consumer, Ext, RpcContext, RpcError};

struct User {
    admin: bool,
}

fn sync_bool(cx: &RpcContext) -> bool {
    cx.extension::<User>().is_some()
}

fn sync_result(cx: &RpcContext) -> Result<(), RpcError> {
    match cx.extension::<User>() {
        Some(user) if user.admin => Ok(()),
        _ => Err(RpcError::new(-32004, "admins only")),
    }
}

async fn async_bool(_cx: &RpcContext) -> bool {
    true
}

async fn async_result(_cx: &RpcContext) -> Result<(), RpcError> {
    Ok(())
}

mod roles {
    pub fn anyone(_cx: &channels_rpc::RpcContext) -> bool {
        true
    }
}

#[derive(Consumer, Default)]
#[consumer(guard = roles::anyone)]
struct Guarded;

#[rpc_method(guard = sync_bool)]
fn a(user: &Ext<User>) -> bool {
    user.admin
}

#[rpc_method(guard = sync_result, consumer = Guarded)]
fn b() {}

#[rpc_method("c", guard = async_bool, http = false)]
async fn c(_ctx: &RpcContext) -> u8 {
    1
}

#[rpc_method(guard = async_result, blocking)]
fn d() -> u8 {
    2
}

#[rpc_notification(guard = roles::anyone)]
fn e(_line: String) {}

fn main() {
    let app = Guarded::app();
    assert!(Guarded::guard().is_some());
    for name in ["a", "b", "c", "d"] {
        assert!(app.method(name).and_then(|m| m.guard()).is_some(), "{name}");
    }
    assert!(app.method("c").unwrap().guard().unwrap().is_async());
    assert!(!app.method("a").unwrap().guard().unwrap().is_async());
}
