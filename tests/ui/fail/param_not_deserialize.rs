use channels_rpc::rpc_method;

struct Point {
    x: i32,
    y: i32,
}

#[rpc_method]
fn norm(point: Point) -> i32 {
    point.x.abs() + point.y.abs()
}

fn main() {}
