use channels_rpc::rpc_method;

#[rpc_method(guard = "admin")]
fn secret() -> u64 {
    42
}

fn main() {}
