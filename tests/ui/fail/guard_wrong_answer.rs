use channels_rpc::{rpc_method, RpcContext};

/// Answers a role name: neither `bool` nor `Result<(), RpcError>`.
async fn role(_cx: &RpcContext) -> String {
    "admin".to_owned()
}

#[rpc_method(guard = role)]
fn secret() -> u64 {
    42
}

fn main() {}
