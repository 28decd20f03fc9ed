use channels_rpc::{Consumer, RpcContext};

/// Answers nothing.
fn audit(_cx: &RpcContext) {}

#[derive(Consumer, Default)]
#[consumer(guard = audit)]
struct Audited;

fn main() {}
