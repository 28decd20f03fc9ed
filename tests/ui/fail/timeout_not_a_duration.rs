use channels_rpc::rpc_method;

#[rpc_method(timeout = "five seconds")]
async fn later() -> u64 {
    42
}

#[rpc_method(timeout = "0s")]
async fn never() -> u64 {
    42
}

#[rpc_method(timeout = 5)]
async fn unitless() -> u64 {
    42
}

fn main() {}
