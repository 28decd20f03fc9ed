use channels_rpc::rpc_method;

#[rpc_method(http = "no")]
fn ping() -> &'static str {
    "pong"
}

fn main() {}
