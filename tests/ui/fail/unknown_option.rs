use channels_rpc::rpc_method;

#[rpc_method("ping", timeout = 5)]
fn ping() -> &'static str {
    "pong"
}

fn main() {}
