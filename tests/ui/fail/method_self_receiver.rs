use channels_rpc::rpc_method;

struct Service;

impl Service {
    #[rpc_method]
    fn ping(&self) -> &'static str {
        "pong"
    }
}

fn main() {}
