use channels_rpc::rpc_method;

#[rpc_method("rpc.add", colour = "red")]
fn add<T>(a: i32, (b, c): (i32, i32)) -> i32 {
    a + b + c
}

fn main() {}
