use channels_rpc::rpc_method;

#[rpc_method]
fn ignore(_: i32) {}

fn main() {}
