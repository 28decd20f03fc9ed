use channels_rpc::rpc_method;

#[rpc_method]
fn add((a, b): (i32, i32)) -> i32 {
    a + b
}

fn main() {}
