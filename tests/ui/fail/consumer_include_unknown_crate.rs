use channels_rpc::Consumer;

#[derive(Consumer, Default)]
#[consumer(include(no_such_methods_crate))]
struct Api;

fn main() {}
