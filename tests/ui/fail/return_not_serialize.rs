use channels_rpc::rpc_method;

struct Point {
    x: i32,
    y: i32,
}

#[rpc_method]
fn origin() -> Point {
    Point { x: 0, y: 0 }
}

fn main() {}
