use channels_rpc::rpc_method;

#[rpc_method(http = true, http = false)]
fn ping() -> &'static str {
    "pong"
}

fn main() {}
