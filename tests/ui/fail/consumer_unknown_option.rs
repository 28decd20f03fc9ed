use channels_rpc::Consumer;

#[derive(Consumer, Default)]
#[consumer(hooks, name = "mine")]
struct Mine;

fn main() {}
