use channels_rpc::rpc_method;

#[rpc_method]
fn f(x: &String) -> usize {
    x.len()
}

fn main() {}
