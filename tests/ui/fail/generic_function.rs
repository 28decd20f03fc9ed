use channels_rpc::rpc_method;

#[rpc_method]
fn double<T: Into<i64>>(value: T) -> i64 {
    value.into() * 2
}

fn main() {}
