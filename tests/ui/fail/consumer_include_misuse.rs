use channels_rpc::Consumer;

#[derive(Consumer, Default)]
#[consumer(include = spec_methods)]
struct Assigned;

#[derive(Consumer, Default)]
#[consumer(include())]
struct Empty;

#[derive(Consumer, Default)]
#[consumer(include(spec_methods), include(spec_methods))]
struct Repeated;

fn main() {}
