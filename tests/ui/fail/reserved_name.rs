use channels_rpc::rpc_method;

#[rpc_method("rpc.foo")]
fn foo() -> u32 {
    1
}

fn main() {}
