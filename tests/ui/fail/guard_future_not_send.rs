use std::rc::Rc;

use channels_rpc::{rpc_method, RpcContext};

/// Holds an `Rc` across an `.await`: its future is not `Send`.
async fn counted(_cx: &RpcContext) -> bool {
    let count = Rc::new(1);
    std::future::ready(()).await;
    *count == 1
}

#[rpc_method(guard = counted)]
async fn secret() -> u64 {
    42
}

fn main() {}
