use channels_rpc::{rpc_method, RpcContext};

#[rpc_method]
fn method_name(ctx: &mut RpcContext) -> &'static str {
    ctx.method()
}

fn main() {}
