use channels_rpc::rpc_notification;

#[rpc_notification]
fn f() -> i32 {
    1
}

fn main() {}
