use channels_rpc::Consumer;

#[derive(Consumer, Default)]
#[consumer(include(crate))]
struct Api;

fn main() {}
