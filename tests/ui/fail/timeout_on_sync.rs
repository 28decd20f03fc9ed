use channels_rpc::rpc_method;

#[rpc_method(timeout = "5s")]
fn quick() -> u64 {
    42
}

fn main() {}
