use channels_rpc::rpc_method;

#[rpc_method(blocking)]
async fn slow() -> u64 {
    42
}

fn main() {}
