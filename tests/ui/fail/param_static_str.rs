use channels_rpc::rpc_method;

#[rpc_method]
fn greet(name: &'static str) -> String {
    format!("hello {name}")
}

fn main() {}
