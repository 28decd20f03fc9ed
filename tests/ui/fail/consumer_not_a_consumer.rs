use channels_rpc::rpc_method;

#[rpc_method(consumer = String)]
fn ping() -> &'static str {
    "pong"
}

fn main() {}
