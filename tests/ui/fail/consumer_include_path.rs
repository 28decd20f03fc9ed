use channels_rpc::Consumer;

#[derive(Consumer, Default)]
#[consumer(include(spec_methods::chat))]
struct Api;

fn main() {}
