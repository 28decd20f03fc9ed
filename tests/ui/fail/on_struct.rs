use channels_rpc::rpc_method;

#[rpc_method]
struct Ping;

fn main() {}
