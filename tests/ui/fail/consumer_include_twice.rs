use channels_rpc::Consumer;

#[derive(Consumer, Default)]
#[consumer(include(spec_methods, spec_methods))]
struct Api;

fn main() {}
