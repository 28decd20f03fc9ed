use channels_rpc::rpc_method;

#[rpc_method(http = false, "ping")]
fn ping() -> &'static str {
    "pong"
}

fn main() {}
