use channels_rpc::{rpc_method, RpcError};

struct Point {
    x: i32,
}

#[rpc_method]
fn origin() -> Result<Point, RpcError> {
    Ok(Point { x: 0 })
}

fn main() {}
