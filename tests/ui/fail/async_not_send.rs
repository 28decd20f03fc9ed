use channels_rpc::rpc_method;
use std::rc::Rc;

async fn tick() {}

#[rpc_method]
async fn count() -> usize {
    let shared = Rc::new(1);
    tick().await;
    *shared
}

fn main() {}
