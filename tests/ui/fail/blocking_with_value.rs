use channels_rpc::rpc_method;

#[rpc_method(blocking = true)]
fn slow() -> u64 {
    42
}

fn main() {}
